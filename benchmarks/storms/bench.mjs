#!/usr/bin/env node
// Storms and memory (issue 16), the manager in its own process, palisade-sim in others:
//   1. activation storm: N agents (ECDSA keys) activate at once; activations/s on the manager,
//      how often it answered 503 + Retry-After, and the curve (activations per second);
//   2. reconnect storm: the manager stops and restarts on the same port; every agent sends a
//      heartbeat at once, retrying while busy; the recovery curve and the time until every
//      computer is back;
//   3. memory: the manager's resident memory with 0 and with --memory-computers (default
//      100,000) computers in its store, after the same warm-up; the difference per 100,000.
//   node benchmarks/storms/bench.mjs [--agents 2000] [--memory-computers 100000]
// Bounded: each storm stops after 5 minutes whatever happens.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  activateFleet,
  root,
  rssMb,
  sim,
  startManager,
  stop,
  stopAll,
  unlimitedToken,
} from '../lib/bench-processes.mjs';

const { values } = parseArgs({
  options: { agents: { type: 'string', default: '2000' }, 'memory-computers': { type: 'string', default: '100000' } },
});
const AGENTS = Math.min(Number(values.agents), 20_000);
const SEEDED = Math.min(Number(values['memory-computers']), 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'palisade-storms-'));

const curve = (timeline) => timeline.map((n, s) => `${s}s:${n}`).join(' ');

/** Resident memory after a warm-up that touches what a scrape and the offline sweep touch. */
async function settledRss(m) {
  const port = Number(m.endpoint.match(/:(\d+)\/$/)[1]);
  // Any request through the agent endpoint's TLS and routing (the CA fetch needs no identity).
  await new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/agent/v1/ca', rejectUnauthorized: false }, (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', resolve);
    req.end();
  });
  await new Promise((r) => setTimeout(r, 3_000));
  if (global.gc) global.gc();
  return rssMb(m.pid);
}

try {
  const data = join(dir, 'data');
  let m = await startManager(data, ['--heartbeat-port', '0']);
  const port = m.endpoint.match(/:(\d+)\/$/)[1];
  const token = unlimitedToken(data);
  console.log(`storms: manager pid ${m.pid}, ${AGENTS} agents (ECDSA), 2 sim processes`);

  const fleet = join(dir, 'fleet');
  const act = await activateFleet(m, token, {
    count: AGENTS,
    dir: fleet,
    concurrency: 200,
    extra: ['--timeout', '300'],
  });
  console.log(
    `  activation storm: ${act.ok}/${AGENTS} activated in ${act.seconds} s = ${act.perSecond}/s (goal >= 100/s); waited after 503 ${act.retriesAfterBusy} times; p50 ${act.latencyMs.p50} ms, p99 ${act.latencyMs.p99} ms`,
  );
  if (Object.keys(act.errors).length) console.log(`    errors: ${JSON.stringify(act.errors)}`);
  console.log(`    activations per second: ${curve(act.timeline)}`);

  // An outage: the manager stops; when it comes back every agent is there at once.
  await stop(m.child);
  m = await startManager(data, ['--heartbeat-port', port]);
  const back = await sim([
    'run',
    '--dir',
    fleet,
    '--duration',
    '300',
    '--reconnect-storm',
    '--processes',
    '2',
    '--concurrency',
    '250',
  ]);
  const allBack = back.timeline.length;
  console.log(
    `  reconnect storm: ${back.ok}/${AGENTS} back in ${back.seconds} s (every computer online after ${allBack} s); ${back.perSecond} heartbeats/s; waited after 503 ${back.retriesAfterBusy} times; p50 ${back.latencyMs.p50} ms, p99 ${back.latencyMs.p99} ms`,
  );
  if (Object.keys(back.errors).length) console.log(`    errors: ${JSON.stringify(back.errors)}`);
  console.log(`    recovery curve (heartbeats per second): ${curve(back.timeline)}`);
  await stop(m.child);

  // Memory: an empty store against one with SEEDED computers, same warm-up.
  const empty = join(dir, 'empty');
  m = await startManager(empty, ['--heartbeat-port', '0']);
  const rssEmpty = await settledRss(m);
  await stop(m.child);
  execFileSync(
    process.execPath,
    [join(root, 'benchmarks/storms/seed-computers.mjs'), '--data-dir', empty, '--count', String(SEEDED)],
    { stdio: 'ignore' },
  );
  m = await startManager(empty, ['--heartbeat-port', '0']);
  const rssSeeded = await settledRss(m);
  await stop(m.child);
  console.log(
    `  memory: ${rssEmpty.toFixed(0)} MB with no computers, ${rssSeeded.toFixed(0)} MB with ${SEEDED.toLocaleString('en')}: ${(((rssSeeded - rssEmpty) * 100_000) / SEEDED).toFixed(1)} MB per 100,000 computers`,
  );
} finally {
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
