#!/usr/bin/env node
// Runs every benchmarks/*/bench.mjs in turn (or those whose folder name contains an argument).
// Each prints ratios against a baseline it measures in the same run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
let failed = 0;
for (const name of readdirSync(join(root, 'benchmarks')).sort()) {
  const file = join(root, 'benchmarks', name, 'bench.mjs');
  if (!existsSync(file) || (filters.length > 0 && !filters.some((f) => name.includes(f)))) continue;
  console.log(`\n== benchmarks/${name}`);
  const r = spawnSync(process.execPath, [file], { stdio: 'inherit', cwd: root });
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
