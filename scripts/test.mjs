#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
//   node scripts/test.mjs          portable suite: every *.test.js except the suites below
//   node scripts/test.mjs --all    also *.pg.test.js (PostgreSQL), *.netns.test.js (network
//                                  namespaces + nftables, root) and *.browser.test.js (Chromium)
//   node scripts/test.mjs FILTER   only files whose path contains FILTER
// Node 20's runner takes no globs, so the files are found here.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const all = args.includes('--all');
const filters = args.filter((a) => !a.startsWith('--'));
const EXTRA = /\.(pg|netns|browser)\.test\.js$/;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

const files = [];
for (const base of ['packages', 'tests', 'tools', 'benchmarks']) {
  try {
    for (const pkg of readdirSync(join(root, base))) {
      const dist = join(root, base, pkg, 'dist');
      try {
        statSync(dist);
      } catch {
        continue;
      }
      walk(dist, files);
    }
  } catch {
    /* folder absent */
  }
}
const chosen = files
  .filter((f) => all || !EXTRA.test(f))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .map((f) => relative(root, f))
  .sort();
if (chosen.length === 0) {
  console.error('no test files found (did `tsc -b` run?)');
  process.exit(1);
}
// Agents started by the tests leave the host's nftables alone (docs/firewall.md); the netns
// suite turns the firewall on for the agents it runs inside its namespaces.
const env = { ...process.env, PALISADE_AGENT_FIREWALL: process.env.PALISADE_AGENT_FIREWALL ?? 'off' };
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=2', ...chosen], {
  cwd: root,
  stdio: 'inherit',
  env,
});
process.exit(r.status ?? 1);
