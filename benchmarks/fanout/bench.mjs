#!/usr/bin/env node
// Fan-out (issue 16): how fast a policy change reaches listening agents (Bidirectional) through
// the manager's dialer. The manager runs in its own process; palisade-sim activates N agents
// that announce a listener each on their own loopback address (127.64.0.0/10, port 4118), then
// opens those listeners with the agent's own listener code in worker processes.
//   1. one agent: a change to one computer alone (a computer-level setting), from the API call
//      to the agent having applied it, several times;
//   2. the fleet: Base Policy changes that concern all N, one after the other (--changes, default
//      2: the first dialled with full TLS handshakes, the second resuming the sessions of the
//      first); for the first and the last, the time from the API call until 50 %, 99 % and
//      100 % of them applied it, agents per second, the manager's CPU and fsyncs per agent; then
//      whether every computer's applied fingerprint is the expected one.
//   node benchmarks/fanout/bench.mjs [--agents 10000] [--processes 4] [--changes 2] [--dialer-concurrency N] [--cpu-prof DIR]
// Bounded: activation stops after 20 minutes, each listen phase after 5 (5 per change for the fleet).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  activateFleet,
  api,
  cpuTicks,
  hz,
  simListen,
  startMeasuredManager,
  stopAll,
  unlimitedToken,
} from '../lib/bench-processes.mjs';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '10000' },
    processes: { type: 'string', default: '4' },
    'dialer-concurrency': { type: 'string' },
    'single-rounds': { type: 'string', default: '4' },
    changes: { type: 'string', default: '2' },
    'cpu-prof': { type: 'string' },
  },
});
const AGENTS = Math.min(Number(values.agents), 50_000);
const PROCESSES = Math.min(Math.max(1, Number(values.processes)), 32);
const PORT = '4118';
const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const FIREWALL = 'firewallSettingState';
const dir = mkdtempSync(join(tmpdir(), 'palisade-fanout-'));
const s = (ms) => `${(ms / 1000).toFixed(2)} s`;
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
let m = null;

/** Starts `palisade-sim listen` and resolves once every listener is open; `result` is its JSON at the end. */
async function listening(args) {
  const l = simListen(args);
  await l.ready;
  return l;
}

try {
  const data = join(dir, 'data');
  m = await startMeasuredManager(data, {
    fsyncLog: join(dir, 'fsyncs.txt'),
    extra: values['dialer-concurrency'] ? ['--dialer-concurrency', values['dialer-concurrency']] : [],
    ...(values['cpu-prof'] ? { cpuProf: values['cpu-prof'] } : {}),
  });
  const base = (await api(m, 'GET', '/api/policies')).policies.find((p) => p.parentID === null);
  await api(m, 'POST', `/api/policies/${base.ID}/settings/${DIRECTION}`, { value: 'Bidirectional' });
  // The simulated agents connect from 127.0.0.1 and listen on 127.64.0.0/10 (docs/security.md).
  await api(m, 'POST', '/api/systemsettings/palisadeSettingAgentListenerAddressAllowList', { value: '127.64.0.0/10' });
  const token = unlimitedToken(data);
  console.log(
    `fan-out: manager pid ${m.pid}, ${AGENTS} listening agents (ECDSA, Bidirectional), ${PROCESSES} sim processes`,
  );

  const fleet = join(dir, 'fleet');
  const a0 = cpuTicks(m.pid);
  const act = await activateFleet(m, token, {
    count: AGENTS,
    dir: fleet,
    processes: Math.min(PROCESSES, 2),
    extra: ['--listen-port', PORT, '--timeout', '1200'],
  });
  const actCpuMs = ((cpuTicks(m.pid) - a0) * 1000) / hz / Math.max(1, act.ok);
  console.log(
    `  activation: ${act.ok} in ${act.seconds} s = ${act.perSecond}/s; manager ${actCpuMs.toFixed(2)} CPU ms per activation (${(1000 / actCpuMs).toFixed(0)}/s per core)`,
  );
  if (Object.keys(act.errors).length) console.log(`    errors: ${JSON.stringify(act.errors)}`);

  // 1. One agent: a change for its computer alone, several times (each toggles the override).
  const first = JSON.parse(readFileSync(join(fleet, 'agents', '0000001.json'), 'utf8'));
  // An even number of rounds, Off then On: each round changes what the agent runs (it starts
  // with the Base Policy's On), and it ends where it began, so the fleet's first change (Off)
  // is a change for it too. Otherwise its configuration could already be the one the fleet
  // change makes, no operation would reach it, and the listen phase would wait for it in vain.
  const ROUNDS = 2 * Math.ceil(Number(values['single-rounds']) / 2);
  const single = [];
  for (let i = 0; i < ROUNDS; i++) {
    const l = await listening(['--dir', fleet, '--agents', '1', '--until-applied', '1', '--duration', '60']);
    const t0 = Date.now();
    await api(m, 'POST', `/api/computers/${first.computerId}/settings/${FIREWALL}`, { value: i % 2 ? 'On' : 'Off' });
    const r = await l.result;
    if (r.appliedAt?.length === 1) single.push(r.appliedAt[0] - t0);
  }
  // Its own override would hide the policy change from it: the fleet's change concerns all N.
  await api(m, 'DELETE', `/api/computers/${first.computerId}/settings/${FIREWALL}`);
  single.sort((a, b) => a - b);
  console.log(
    `  one listening agent: applied ${single.length}/${ROUNDS} times, from the API call: ${single.map((x) => `${x} ms`).join(', ')} (median ${pct(single, 50)} ms; goal < 500 ms)`,
  );

  // 2. The fleet: policy changes concerning all of them, one after the other. The first is
  // dialled with full TLS handshakes; later ones can resume the sessions the first left.
  const CHANGES = Math.min(Math.max(1, Number(values.changes)), 5);
  const l = await listening([
    '--dir',
    fleet,
    '--until-applied',
    String(CHANGES),
    '--duration',
    String(300 * CHANGES),
    '--processes',
    String(PROCESSES),
    '--concurrency',
    '16',
  ]);
  const pendingCount = async () =>
    (await api(m, 'GET', `/api/computers?status=${encodeURIComponent('Update Pending (Heartbeat),Updating')}&limit=1`))
      .total;
  const changes = [];
  let finished = false;
  l.result.then(() => (finished = true));
  for (let k = 0; k < CHANGES; k++) {
    const c0 = cpuTicks(m.pid);
    const f0 = m.fsyncs();
    const t0 = Date.now();
    await api(m, 'POST', `/api/policies/${base.ID}/settings/${FIREWALL}`, { value: k % 2 ? 'On' : 'Off' });
    if (k === CHANGES - 1) await l.result;
    // Not the last: wait (bounded by the listen phase) until no computer is pending, polled.
    else
      while (!finished && (await pendingCount()) > 0 && Date.now() - t0 < 300_000)
        await new Promise((r) => setTimeout(r, 2_000));
    changes.push({ t0, cpuMs: ((cpuTicks(m.pid) - c0) * 1000) / hz, fsyncs: f0 === null ? null : m.fsyncs() - f0 });
  }
  const r = await l.result;
  console.log(
    `  fleet: ${r.listening} listening; ${r.reachedAt.length} applied all ${CHANGES} change(s) through their listener (${r.operations} operations, ${r.ok} calls); call latency at the agent p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms`,
  );
  for (const [k, c] of changes.entries()) {
    // When each agent applied change k: its first application for the first change; the time it
    // had applied them all for the last (in between, not tracked: only the first and the last are).
    const times = k === 0 ? r.appliedAt : k === CHANGES - 1 ? r.reachedAt : null;
    if (!times) continue;
    const at = times.map((t) => t - c.t0).sort((a, b) => a - b);
    // Shares of the whole listening fleet, not of those that got there: a share not reached
    // within the bound says so.
    const reached = (p) => {
      const i = Math.max(0, Math.ceil((p / 100) * r.listening) - 1);
      return i < at.length ? s(at[i]) : 'not reached';
    };
    console.log(
      `  change ${k + 1} (${k === 0 ? 'full handshakes' : 'sessions from the change before'}): ${at.length} applied; from the API call: 50 % in ${reached(50)}, 99 % in ${reached(99)}, 100 % in ${reached(100)} (goal: 100 % < 60 s); ${at.length ? (at.length / (at.at(-1) / 1000)).toFixed(0) : 0} agents/s`,
    );
    if (at.length > 0)
      console.log(
        `    manager: ${(c.cpuMs / at.length).toFixed(2)} CPU ms per agent applied${c.fsyncs === null ? '' : `, ${(c.fsyncs / at.length).toFixed(2)} fsyncs per agent applied`}`,
      );
  }
  if (Object.keys(r.errors).length) console.log(`    errors: ${JSON.stringify(r.errors)}`);
  // Computers whose applied fingerprint is not the expected one show Update Pending or Updating.
  const pending = await pendingCount();
  console.log(
    `    applied fingerprint = expected: ${pending === 0 ? `every computer (${r.listening})` : `${pending} computers still pending`}`,
  );
} finally {
  await m?.stop();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
