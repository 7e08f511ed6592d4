#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner.
//   node scripts/test.mjs          portable suite: every *.test.js except the suites below
//   node scripts/test.mjs --unit   only the tests beside the code (packages/*/src) and the checks
//                                  of the repository as a whole (tests/repository)
//   node scripts/test.mjs --e2e    only the end-to-end tests (tests/e2e, tools/*: real processes)
//   node scripts/test.mjs --all    the portable suite and, once, the suites that need more than
//                                  Node: *.pg.test.js (PostgreSQL), *.netns.test.js (network
//                                  namespaces + nftables, root), *.browser.test.js (Chromium)
//   node scripts/test.mjs FILTER   only files whose path contains FILTER (combines with the above)
// Node 20's runner takes no globs, so the files are found here.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';

import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const args = process.argv.slice(2);
const all = args.includes('--all');
const tiers = { unit: args.includes('--unit'), e2e: args.includes('--e2e') };
const filters = args.filter((a) => !a.startsWith('--'));
const EXTRA = /\.(pg|netns|browser)\.test\.js$/;
// A hung test fails after this long instead of holding CI until its 90-minute limit. Node 20
// applies it to each file as a whole (later Nodes to each test); the slowest file takes about
// 30 s alone, so this only ever catches a hang.
const TIMEOUT_MS = Number(process.env.PALISADE_TEST_TIMEOUT_MS ?? 300_000);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/**
 * Compiled test files under `base/<package>/dist` whose source is still there: `tsc -b` never
 * deletes the output of a source file that was removed or renamed, and a stale test must not run.
 */
function testsUnder(base) {
  const out = [];
  let pkgs = [];
  if (existsSync(join(root, base, 'package.json')))
    pkgs = ['.']; // a package itself
  else {
    try {
      pkgs = readdirSync(join(root, base));
    } catch {
      return out; // folder absent
    }
  }
  for (const pkg of pkgs) {
    const dist = join(root, base, pkg, 'dist');
    try {
      statSync(dist);
    } catch {
      continue;
    }
    for (const f of walk(dist, [])) {
      const source = join(root, base, pkg, 'src', relative(dist, f)).replace(/\.js$/, '.ts');
      if (existsSync(source)) out.push(f);
    }
  }
  return out;
}

// The tiers by folder: the tests beside the code and the static checks of the repository as a
// whole are unit tests; tests/e2e and the fleet simulator's tests run real processes.
const UNIT = ['packages', 'tests/repository'];
const E2E = ['tests/e2e', 'tools'];
const bases = [...(tiers.unit || !tiers.e2e ? UNIT : []), ...(tiers.e2e || !tiers.unit ? E2E : [])];
const chosen = bases
  .flatMap(testsUnder)
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

// One `node --test` per file, two at a time: Node 20 starts a file's --test-timeout clock when
// the file is queued, not when it starts, so one run over every file would bound the whole
// suite instead of each file. Each file's report is printed whole when it ends (no interleaving),
// and the summary at the end adds them up and names what failed.
const COUNTS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo'];
const total = Object.fromEntries(COUNTS.map((k) => [k, 0]));
const failures = [];
const started = Date.now();

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--test', '--test-reporter=tap', `--test-timeout=${TIMEOUT_MS}`, file], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    child.stdout.on('data', (c) => out.push(c));
    child.stderr.on('data', (c) => out.push(c));
    child.on('close', (code, signal) => {
      const text = Buffer.concat(out).toString('utf8');
      process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      let summarized = false;
      for (const k of COUNTS) {
        const m = text.match(new RegExp(`^# ${k} (\\d+)$`, 'm'));
        if (m) {
          total[k] += Number(m[1]);
          summarized = true;
        }
      }
      const failed = [...text.matchAll(/^\s*not ok \d+ - (.*)$/gm)].map((m) => m[1]);
      if (code !== 0 || !summarized || failed.length > 0) {
        if (!summarized) total.fail += 1; // died before reporting: count the file as a failure
        failures.push(`${file} (exit ${code ?? signal})${failed.map((n) => `\n#   not ok - ${n}`).join('')}`);
      }
      resolve();
    });
  });
}

const queue = [...chosen];
const CONCURRENCY = 2;
await Promise.all(
  Array.from({ length: Math.min(CONCURRENCY, queue.length) }, async () => {
    for (let f = queue.shift(); f !== undefined; f = queue.shift()) await runFile(f);
  }),
);

console.log(`# files ${chosen.length}`);
for (const f of failures) console.log(`# FAILED ${f}`);
for (const k of COUNTS) console.log(`# ${k} ${total[k]}`);
console.log(`# duration_ms ${Date.now() - started}`);
process.exit(failures.length === 0 ? 0 : 1);
