#!/usr/bin/env node
// Heartbeat capacity of one manager node (issue 16): the manager in its own process, the
// simulated fleet (palisade-sim, real TLS, the agent's own client) in others, and in the same
// run the same load against a bare Node mutual-TLS server holding the same certificates
// (bare-server.mjs). For full handshakes and for resumed TLS sessions it prints heartbeats/s,
// the ratio to the bare server, fsyncs per heartbeat (strace, when installed), manager CPU ms
// per heartbeat, and the fleet that carries at the 10-minute interval per manager core.
//   node benchmarks/capacity/bench.mjs [--agents 1000] [--seconds 20] [--rounds 3] [--concurrency 16]
//                                      [--key-type ecdsa|rsa] [--cpu-prof DIR] [--sql-timing]
// Bounded: every phase has a time limit; the whole run takes about 2–4 minutes on 2 cores.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  activateFleet,
  cpuTicks,
  hasStrace,
  hz,
  root,
  rssMb,
  sim,
  start,
  startMeasuredManager,
  stopAll,
  unlimitedToken,
} from '../lib/bench-processes.mjs';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    concurrency: { type: 'string', default: '16' },
    'key-type': { type: 'string', default: 'ecdsa' },
    // Bare and manager rounds per mode, alternating; --seconds is shared among them.
    rounds: { type: 'string', default: '3' },
    // Writes a V8 CPU profile of the manager (node --cpu-prof) into this directory at the end.
    'cpu-prof': { type: 'string' },
    // Times the manager's SQLite calls (lib/sql-timing.cjs) and prints them per heartbeat.
    'sql-timing': { type: 'boolean' },
    // Heartbeats against each server before the timed rounds (default: two per agent).
    warmup: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Heartbeat capacity of one manager node against a bare mutual-TLS server, same load, same run.

  node benchmarks/capacity/bench.mjs [options]

  --agents N          simulated agents activated, each with its own key (default 1000, at most 20000)
  --seconds S         load per mode, shared by the bare and manager rounds (default 20, at most 120)
  --rounds R          bare/manager round pairs per mode, alternating (default 3, at most 20); more
                      rounds and seconds narrow the spread the per-round ratios show
  --concurrency C     exchanges in flight per simulator process, 2 processes (default 16)
  --key-type T        agent keys: ecdsa or rsa (default ecdsa)
  --cpu-prof DIR      V8 CPU profiles of the manager (DIR) and the bare server (DIR-bare)
  --warmup N          heartbeats against each server before the timed rounds, full handshakes
                      (default two per agent; 0: none): every agent's first report after its
                      activation waits for the log's sync (no earlier token to take a lost rotation
                      back with), and both processes compile their hot paths; the rounds then
                      measure the steady state a fleet runs in
  --sql-timing        time the manager's SQLite calls and print, per mode, each statement's calls
                      and microseconds per heartbeat (wall time: on busy cores it includes time
                      the manager was descheduled; the timing itself costs a little CPU)

Prints, for full handshakes and resumed sessions: heartbeats/s against each server and their
ratio (with the lowest and highest of the round pairs), CPU ms per heartbeat of each server,
fsyncs per heartbeat (strace), the fleet one manager core carries at the 10-minute interval,
the simulator's CPU per heartbeat, the rest of the machine's busy CPU per heartbeat, the
machine's idle share and how often each agent reported.
Goal: ratio >= 0.9 in both.`);
  process.exit(0);
}
const AGENTS = Math.min(Number(values.agents), 20_000);
const SECONDS = Math.min(Number(values.seconds), 120);
const INTERVAL_SECONDS = 600;
const dir = mkdtempSync(join(tmpdir(), 'palisade-capacity-'));
let m = null;

try {
  m = await startMeasuredManager(join(dir, 'data'), {
    fsyncLog: join(dir, 'fsyncs.txt'),
    ...(values['cpu-prof'] ? { cpuProf: values['cpu-prof'] } : {}),
    ...(values['sql-timing'] ? { sqlTiming: join(dir, 'sql-times.json') } : {}),
  });
  const { pid: managerPid, fsyncs } = m;
  const token = unlimitedToken(join(dir, 'data'));
  console.log(
    `capacity: manager pid ${managerPid}, ${AGENTS} ${values['key-type']} agents, ${SECONDS} s per phase, 2 sim processes × ${values.concurrency} in flight`,
  );

  const rss0 = rssMb(managerPid);
  const fleetDir = join(dir, 'fleet');
  const a0 = cpuTicks(managerPid);
  const act = await activateFleet(m, token, {
    count: AGENTS,
    dir: fleetDir,
    concurrency: 8,
    extra: ['--key-type', values['key-type']],
  });
  const actCpuMs = ((cpuTicks(managerPid) - a0) * 1000) / hz / Math.max(1, act.ok);
  console.log(
    `  activation: ${act.ok} in ${act.seconds} s = ${act.perSecond}/s (p50 ${act.latencyMs.p50} ms, p99 ${act.latencyMs.p99} ms); manager ${actCpuMs.toFixed(2)} CPU ms per activation (${(1000 / actCpuMs).toFixed(0)}/s per core)${Object.keys(act.errors).length ? ` errors ${JSON.stringify(act.errors)}` : ''}`,
  );
  console.log(
    `  manager RSS: ${rss0.toFixed(0)} MB before, ${rssMb(managerPid).toFixed(0)} MB with ${act.ok} computers`,
  );

  const bare = await start(
    process.execPath,
    [
      // A profile of the bare server beside the manager's, to compare what each spends a heartbeat on.
      ...(values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', `${values['cpu-prof']}-bare`] : []),
      join(root, 'benchmarks/capacity/bare-server.mjs'),
      '--data-dir',
      join(dir, 'data'),
    ],
    /"port":(\d+)/,
    'bare server',
  );
  const barePort = bare.match[1];
  const bareDir = join(dir, 'fleet-bare');
  // The same identities pointed at the bare server (it holds the same CA and certificates).
  execFileSync('cp', ['-r', fleetDir, bareDir]);
  const fleetFile = join(bareDir, 'fleet.json');
  const f = JSON.parse(readFileSync(fleetFile, 'utf8'));
  f.manager = `dsm://localhost:${barePort}/`;
  writeFileSync(fleetFile, JSON.stringify(f));

  // Bare and manager runs alternate in short rounds, so load from anything else on the machine
  // falls on both alike; CPU time is each server process's own (/proc), the steadier measure.
  const ROUNDS = Math.max(1, Math.min(Number(values.rounds), 20));
  const slice = Math.max(2, Math.round(SECONDS / ROUNDS));
  const load = (d, resume, seconds = slice, extra = []) => [
    'run',
    '--dir',
    d,
    '--duration',
    String(seconds),
    '--processes',
    '2',
    '--concurrency',
    values.concurrency,
    ...(resume ? [] : ['--no-resume']),
    ...extra,
  ];

  const WARMUP = Math.max(0, Math.min(Number(values.warmup ?? 2 * AGENTS), 100_000));
  if (WARMUP > 0) {
    for (const d of [bareDir, fleetDir]) await sim(load(d, false, 120, ['--max-heartbeats', String(WARMUP)]));
    console.log(`  warm-up: ${WARMUP} heartbeats against each server before the timed rounds`);
  }

  // The simulator's CPU (this process's reaped children: each round's palisade-sim and its
  // workers) and the whole machine's idle time: on a machine the load generator shares, the
  // heartbeats/s ratio also moves with what the simulator spends per reply and with idle cores.
  const simTicks = () => {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
    return Number(f[13]) + Number(f[14]);
  };
  const machine = () => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: f[3] + f[4], total: f.reduce((a, b) => a + b, 0) };
  };
  const measure = async (pid, d, resume, fsyncCount, sqlTimes) => {
    const q0 = await sqlTimes?.();
    const m0 = machine();
    const s0 = simTicks();
    const c0 = cpuTicks(pid);
    const f0 = fsyncCount?.();
    const r = await sim(load(d, resume));
    const m1 = machine();
    const cpuMs = ((cpuTicks(pid) - c0) * 1000) / hz;
    const simMs = ((simTicks() - s0) * 1000) / hz;
    const q1 = await sqlTimes?.();
    const busyMs = ((m1.total - m1.idle - (m0.total - m0.idle)) * 1000) / hz;
    return {
      sql: q1
        ? Object.entries(q1).map(([text, [calls, ms]]) => [
            text,
            calls - (q0[text]?.[0] ?? 0),
            ms - (q0[text]?.[1] ?? 0),
          ])
        : null,
      r,
      simMs,
      // Busy CPU of the whole machine beyond the server's and the simulator's: the kernel's own
      // threads (the network's soft interrupts, writeback of what the server wrote), this script,
      // and whatever else the machine runs.
      otherMs: Math.max(0, busyMs - cpuMs - simMs),
      idle: { ticks: m1.idle - m0.idle, total: m1.total - m0.total },
      cpuMs,
      fsyncs: f0 === undefined || f0 === null ? null : fsyncCount() - f0,
    };
  };
  const sum = (xs) => {
    const ok = xs.reduce((n, x) => n + x.r.ok, 0);
    const seconds = xs.reduce((n, x) => n + x.r.seconds, 0);
    const resumed = xs.reduce((n, x) => n + x.r.handshakes.resumed, 0);
    const errors = {};
    for (const x of xs) for (const [k, v] of Object.entries(x.r.errors)) errors[k] = (errors[k] ?? 0) + v;
    const p50s = xs.map((x) => x.r.latencyMs.p50);
    const p99s = xs.map((x) => x.r.latencyMs.p99);
    return {
      ok,
      perSecond: ok / seconds,
      cpuPerHb: xs.reduce((n, x) => n + x.cpuMs, 0) / Math.max(1, ok),
      simPerHb: xs.reduce((n, x) => n + x.simMs, 0) / Math.max(1, ok),
      otherPerHb: xs.reduce((n, x) => n + x.otherMs, 0) / Math.max(1, ok),
      idlePct:
        (100 * xs.reduce((n, x) => n + x.idle.ticks, 0)) /
        Math.max(
          1,
          xs.reduce((n, x) => n + x.idle.total, 0),
        ),
      fsyncsPerHb: xs.some((x) => x.fsyncs === null) ? null : xs.reduce((n, x) => n + x.fsyncs, 0) / Math.max(1, ok),
      resumedPct: (100 * resumed) / Math.max(1, ok),
      errors,
      latency: `${Math.max(...p50s)}/${Math.max(...p99s)}`,
      tls: [...new Set(xs.flatMap((x) => Object.keys(x.r.tls)))].join(', '),
    };
  };
  const rows = [];
  for (const [mode, resume] of [
    ['full handshakes', false],
    ['resumed sessions', true],
  ]) {
    const bs = [];
    const ms = [];
    for (let i = 0; i < ROUNDS; i++) {
      bs.push(await measure(bare.child.pid, bareDir, resume, null));
      ms.push(await measure(managerPid, fleetDir, resume, fsyncs, values['sql-timing'] ? m.sqlTimes : undefined));
    }
    const b = sum(bs);
    const r = sum(ms);
    // Each manager round against the bare round just before it: the spread is the run's noise.
    const pairs = ms.map((x, i) => x.r.ok / x.r.seconds / (bs[i].r.ok / bs[i].r.seconds));
    // The manager's SQLite calls over this mode's rounds, by statement: [text, calls, ms].
    const sql = new Map();
    for (const x of ms)
      for (const [text, calls, msSpent] of x.sql ?? []) {
        const t = sql.get(text) ?? [0, 0];
        sql.set(text, [t[0] + calls, t[1] + msSpent]);
      }
    rows.push({
      mode,
      b,
      r,
      sql,
      ratio: r.perSecond / b.perSecond,
      spread: `${Math.min(...pairs).toFixed(2)}–${Math.max(...pairs).toFixed(2)}`,
      cpuRatio: b.cpuPerHb / r.cpuPerHb,
    });
  }
  console.log('');
  console.log(
    '  mode               bare hb/s  manager hb/s  ratio  (rounds)   CPU ms/hb bare  manager  CPU ratio  resumed  fsyncs/hb  fleet/core @10 min  p50/p99 ms',
  );
  for (const x of rows) {
    console.log(
      `  ${x.mode.padEnd(17)} ${x.b.perSecond.toFixed(1).padStart(10)} ${x.r.perSecond.toFixed(1).padStart(13)} ${x.ratio.toFixed(2).padStart(6)}  ${`(${x.spread})`.padEnd(11)} ${x.b.cpuPerHb.toFixed(2).padStart(15)} ${x.r.cpuPerHb.toFixed(2).padStart(8)} ${x.cpuRatio.toFixed(2).padStart(10)} ${`${x.r.resumedPct.toFixed(0)} %`.padStart(8)} ${(x.r.fsyncsPerHb === null ? 'n/a' : x.r.fsyncsPerHb.toFixed(2)).padStart(10)} ${Math.round(
        (INTERVAL_SECONDS * 1000) / x.r.cpuPerHb,
      )
        .toLocaleString('en')
        .padStart(19)}  ${x.r.latency}`,
    );
    if (Object.keys(x.r.errors).length) console.log(`    manager errors: ${JSON.stringify(x.r.errors)}`);
    if (Object.keys(x.b.errors).length) console.log(`    bare errors: ${JSON.stringify(x.b.errors)}`);
  }
  console.log('');
  console.log(
    '  mode               sim CPU ms/hb: bare  manager   other CPU ms/hb: bare  manager   machine idle: bare  manager',
  );
  for (const x of rows)
    console.log(
      `  ${x.mode.padEnd(17)} ${x.b.simPerHb.toFixed(2).padStart(20)} ${x.r.simPerHb.toFixed(2).padStart(8)} ${x.b.otherPerHb.toFixed(2).padStart(22)} ${x.r.otherPerHb.toFixed(2).padStart(8)} ${`${x.b.idlePct.toFixed(1)} %`.padStart(20)} ${`${x.r.idlePct.toFixed(1)} %`.padStart(8)}`,
    );
  console.log(
    `  ratio: manager hb/s ÷ bare hb/s (${ROUNDS} alternating round pairs of ${slice} s; in brackets the lowest and highest pair);`,
  );
  console.log('  CPU ratio: bare CPU ms/hb ÷ manager CPU ms/hb;');
  console.log(
    '  fleet/core: computers one manager core carries at the 10-minute interval (600 000 ÷ manager CPU ms/hb);',
  );
  console.log(
    "  sim CPU ms/hb: the simulator processes' CPU per heartbeat against each server; other CPU ms/hb: the rest of the machine's",
  );
  console.log(
    '  busy CPU per heartbeat (kernel threads, this script, other work); machine idle: all cores, during its rounds',
  );
  if (values['sql-timing'])
    for (const x of rows) {
      const hb = Math.max(1, x.r.ok);
      const all = [...x.sql].filter(([, [calls]]) => calls > 0).sort((a, b) => b[1][1] - a[1][1]);
      const total = all.reduce((n, [, [, msSpent]]) => n + msSpent, 0);
      console.log('');
      console.log(
        `  SQLite in the manager, ${x.mode}: ${((total * 1000) / hb).toFixed(1)} µs per heartbeat in ${all.length} statements (wall time)`,
      );
      console.log('     µs/hb  calls/hb   µs/call  statement');
      for (const [text, [calls, msSpent]] of all.slice(0, 12))
        console.log(
          `  ${((msSpent * 1000) / hb).toFixed(1).padStart(8)} ${(calls / hb).toFixed(2).padStart(9)} ${((msSpent * 1000) / calls).toFixed(1).padStart(9)}  ${text}`,
        );
    }
  // How often each agent reported: a continuity rotation whose computer's last rotation is not yet
  // on stable storage waits for the log's sync before it is answered (ingest.ts, reportSync); that
  // sync is due within SOON_SYNC_MS of the last one's commit, so only an agent reporting again
  // that soon waits — a real fleet at the 10-minute interval never does.
  const { SOON_SYNC_MS } = await import(join(root, 'packages/manager/dist/store/store.js'));
  const periods = rows.map((x) => AGENTS / Math.max(0.001, x.r.perSecond));
  console.log(
    `  each agent reported every ${periods.map((p) => `${p.toFixed(1)} s`).join(' (full), ')} (resumed) on average${
      periods.some((p) => p * 1000 < 2 * SOON_SYNC_MS)
        ? `: a continuity rotation less than ${SOON_SYNC_MS} ms (plus an fsync) after the computer's last one waits for the log's sync (fsyncs/hb), which never happens at the 10-minute interval; more --agents lengthen the period`
        : ''
    }`,
  );
  console.log(`  TLS: ${rows.map((x) => x.r.tls).join(' | ')}`);
  console.log(`  goal: ratio >= 0.9 in both modes${hasStrace ? '' : ' (fsyncs: n/a, strace not installed)'}`);
  console.log(`  manager RSS at the end: ${rssMb(managerPid).toFixed(0)} MB`);
} finally {
  await m?.stop();
  await stopAll();
  rmSync(dir, { recursive: true, force: true });
}
