#!/usr/bin/env node
// The store on PostgreSQL against SQLite (issue 17). Run after `npx tsc -b`:
//   node benchmarks/postgres/bench.mjs     (BENCH_FLEET, BENCH_BIG_FLEET, BENCH_HEARTBEATS to resize)
// Needs Debian's PostgreSQL 15 (`apt-get install postgresql`); the bench starts its own server in
// a temp dir, durable like SQLite here (fsync on, synchronous_commit on; SQLite synchronous=FULL).
//
// 1. The same store workload on both engines with BENCH_FLEET computers (100,000), through the
//    manager's own code (HeartbeatIngest, sweepOffline, PolicyService), printed as ratios
//    PostgreSQL / SQLite:
//      heartbeat ingest: BENCH_HEARTBEATS reports of 5 events each, 16 at a time (what one
//        node's endpoint runs at once), each its transaction;
//      offline sweep: 1 % of the fleet expires; one sweep marks them Offline with their alerts;
//      policy change: a Base Policy setting changes; every computer's expected fingerprint follows.
// 2. Heartbeat ingest on PostgreSQL with BENCH_BIG_FLEET computers (1,000,000) against the same
//    with a nearly empty store (1,000 computers): the goal is within 10 %. Both fleets do the
//    same work per heartbeat (settleFleet), interleaved in time.
// Bounded: fleets are built with one INSERT … SELECT; each loop stops at its count.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (p) => import(join(root, 'packages/manager/dist', p));
const { openSqliteStore } = await dist('store/sqlite/sqlite-store.js');
const { openPostgresStore } = await dist('store/postgres/postgres-store.js');
const { PostgresTestServer, postgresUnavailable } = await dist('testing/postgres-test-server.js');
const { sweepOffline } = await dist('monitor/offline-sweep.js');
const { ConfigurationService } = await dist('services/configuration-service.js');
const { PolicyService } = await dist('services/policy-service.js');
const { HeartbeatIngest } = await dist('ingest.js');
const { HeartbeatMonitor } = await dist('monitor/heartbeat-monitor.js');
const { sql } = await import(join(root, 'node_modules/kysely/dist/esm/index.js'));
const pino = (await import(join(root, 'node_modules/pino/pino.js'))).default;

const FLEET = Number(process.env.BENCH_FLEET ?? 100_000);
const BIG_FLEET = Number(process.env.BENCH_BIG_FLEET ?? 1_000_000);
const HEARTBEATS = Number(process.env.BENCH_HEARTBEATS ?? 2_000);
const PARALLEL = 16;
const logger = pino({ level: 'silent' });
const T0 = 1_700_000_000_000;

const unavailable = postgresUnavailable();
if (unavailable) {
  console.log(`postgres benchmark skipped: ${unavailable}`);
  process.exit(0);
}

/** `count` computers, built in the engine's own bulk statement (setup only; the workload is the manager's code). */
async function buildFleet(store, engine, count, policyId) {
  const cols = sql`(host_name, platform, agent_version, policy_id, state, cert_serial, activated_at, last_communication, offline_deadline, drivers, counters, events_acked_through, expected_fingerprint)`;
  const row = (i) =>
    sql`'host-' || ${i}, 'linux', '20.0.0', ${policyId}, 'active', 'serial-' || ${i}, 0, cast(${T0 - 60_000} as bigint), cast(${T0 + 3_600_000} as bigint) + ${i}, '[]', '{}', 0, 'sha256:old'`;
  if (engine === 'sqlite')
    await sql`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${count})
      INSERT INTO computers ${cols} SELECT ${row(sql.ref('i'))} FROM n`.execute(store.db);
  else
    await sql`INSERT INTO computers ${cols} SELECT ${row(sql.ref('i'))} FROM generate_series(1, ${count}::int) AS n(i)`.execute(
      store.db,
    );
  await sql`ANALYZE`.execute(store.db);
}

function reportFor(c, seq) {
  return {
    protocolVersion: 1,
    agent: { version: '20.0.0', platform: 'linux', hostName: c.hostName, uptimeSeconds: 100, clockTime: Date.now() },
    drivers: [],
    events: Array.from({ length: 5 }, (_, i) => ({
      seq: seq * 5 + i + 1,
      time: Date.now(),
      type: 'bench.event',
      severity: 'info',
      message: 'm',
    })),
    counters: {},
    configurationFingerprint: c.expectedFingerprint,
    communication: { direction: 'agent-initiated', listener: null },
  };
}

/**
 * Every computer in the state its first contact leaves it in: its expected fingerprint the one
 * the manager computes (computer 1's, after one real heartbeat: the fleet shares Base Policy and
 * has no computer settings) and its row in the dialer's schedule. Without this the timed
 * heartbeats of a big fleet are all first contacts (a fingerprint written, an operation made and
 * handed out, a schedule row inserted) while a small fleet's are mostly repeat contacts: the
 * two would do different work, not the same work on tables of different sizes. Then VACUUM
 * ANALYZE on PostgreSQL: the bulk UPDATE leaves one dead tuple per computer, which autovacuum
 * would clear only a while later (production fleets grow by activations, which autovacuum
 * keeps up with; a bench that builds and measures in the same minute must do it itself).
 */
async function settleFleet(store, engine, ingest, transport) {
  const first = await store.computers.get(1);
  await ingest.ingestReport(first, reportFor(first, 0), transport);
  const fp = (await store.computers.get(1)).expectedFingerprint;
  await sql`UPDATE computers SET expected_fingerprint = ${fp} WHERE expected_fingerprint <> ${fp}`.execute(store.db);
  await sql`INSERT INTO dial_targets (computer_id, expected_direction, applied_direction, listen_port, listen_address,
      default_port, next_dial_at, claim_token, claimed_until, last_dial_at, last_dial_ok_at, last_dial_error, dial_failures, updated_at)
    SELECT c.id, d.expected_direction, d.applied_direction, d.listen_port, d.listen_address, d.default_port, d.next_dial_at,
      NULL, NULL, NULL, NULL, NULL, 0, d.updated_at
    FROM computers c CROSS JOIN (SELECT * FROM dial_targets WHERE computer_id = 1) d WHERE c.id <> 1`.execute(store.db);
  await sql.raw(engine === 'postgres' ? 'VACUUM ANALYZE' : 'ANALYZE').execute(store.db);
}

/**
 * A heartbeat workload on a built fleet: steady-state reports (the computer known, its
 * configuration current) from computers spread over the fleet, PARALLEL at a time.
 * `run(count)` sends the next `count` of them and returns the ms they took.
 */
async function ingestWorkload(store, engine, fleet) {
  const configurations = new ConfigurationService(600);
  const ingest = new HeartbeatIngest({
    store,
    configurations,
    heartbeatIntervalSeconds: 600,
    logger,
    monitor: new HeartbeatMonitor(store, configurations, logger),
  });
  const transport = { initiatedBy: 'agent', remoteIp: '127.0.0.1', tlsProtocol: 'TLSv1.3', tlsCipherSuite: null };
  await settleFleet(store, engine, ingest, transport);
  // Warm up: the policy tree read once, connections opened.
  for (let i = 1; i <= PARALLEL; i++)
    await ingest.ingestReport(await store.computers.get(i), reportFor(await store.computers.get(i), 0), transport);
  let sent = 0;
  const seqs = new Map();
  const step = Math.max(1, Math.floor(fleet / HEARTBEATS));
  return async (count) => {
    const end = sent + count;
    let operations = 0;
    const start = performance.now();
    await Promise.all(
      Array.from({ length: PARALLEL }, async () => {
        for (let n = sent++; n < end; n = sent++) {
          const id = ((n * step) % fleet) + 1;
          const c = await store.computers.get(id);
          const seq = (seqs.get(id) ?? 0) + 1;
          seqs.set(id, seq);
          operations += (await ingest.ingestReport(c, reportFor(c, seq), transport)).operationIds.length;
        }
      }),
    );
    sent = end;
    // Same work in every fleet: a steady-state heartbeat hands out no operation.
    if (operations !== 0)
      throw new Error(`${operations} heartbeats were not steady-state (an operation was handed out)`);
    return performance.now() - start;
  };
}

async function sweepMs(store, fleet) {
  const due = Math.round(fleet / 100);
  await sql`UPDATE computers SET offline_deadline = cast(${T0 - 1} as bigint) WHERE id % 100 = 0`.execute(store.db);
  const start = performance.now();
  const r = await sweepOffline(store, new ConfigurationService(600), T0);
  const took = performance.now() - start;
  if (r.transitions.length !== due) throw new Error(`expected ${due} transitions, got ${r.transitions.length}`);
  return took;
}

async function policyChangeMs(store) {
  const service = new PolicyService(store, new ConfigurationService(600));
  const base = (await store.policies.findByName('Base Policy')).id;
  const start = performance.now();
  await service.writePolicySetting(base, 'firewallSettingState', 'Off', 'bench');
  return performance.now() - start;
}

const dir = mkdtempSync(join(tmpdir(), 'palisade-pg-bench-'));
const server = await PostgresTestServer.start({
  settings: { fsync: 'on', synchronous_commit: 'on', full_page_writes: 'on', shared_buffers: '256MB' },
});
const results = {};
try {
  for (const engine of ['sqlite', 'postgres']) {
    const store =
      engine === 'sqlite'
        ? openSqliteStore(join(dir, 'palisade.db'))
        : openPostgresStore(await server.createDatabase('workload'), { poolSize: PARALLEL });
    try {
      await store.migrate();
      const policyId = (await store.policies.ensureBase(0)).id;
      let t = performance.now();
      await buildFleet(store, engine, FLEET, policyId);
      const built = (performance.now() - t) / 1000;
      results[engine] = {
        ingest: HEARTBEATS / ((await (await ingestWorkload(store, engine, FLEET))(HEARTBEATS)) / 1000),
        sweep: await sweepMs(store, FLEET),
        policy: await policyChangeMs(store),
      };
      console.log(
        `${engine.padEnd(8)} ${FLEET.toLocaleString('en')} computers (built in ${built.toFixed(1)} s): ` +
          `ingest ${results[engine].ingest.toFixed(0)} heartbeats/s, sweep of ${(FLEET / 100).toLocaleString('en')} ${results[engine].sweep.toFixed(0)} ms, ` +
          `policy change ${results[engine].policy.toFixed(0)} ms`,
      );
      t = performance.now();
    } finally {
      await store.close();
    }
  }
  const r = (k) => results.postgres[k] / results.sqlite[k];
  console.log('PostgreSQL / SQLite, same workload and fleet:');
  console.log(`  heartbeat ingest rate            ${r('ingest').toFixed(2)}  (higher: PostgreSQL ingests faster)`);
  console.log(`  offline sweep time               ${r('sweep').toFixed(2)}  (lower: PostgreSQL sweeps faster)`);
  console.log(`  policy change time               ${r('policy').toFixed(2)}  (lower: PostgreSQL applies faster)`);

  // 2. A big fleet against a nearly empty store, both on PostgreSQL, both open at once. The
  //    timed heartbeats alternate between them in ROUNDS slices, so a change in what else the
  //    machine runs meanwhile weighs on both alike (one after the other, a busy minute on a
  //    shared machine moved the ratio more than the fleet size did).
  const fleets = [
    ['small', 1_000],
    ['big', BIG_FLEET],
  ];
  const stores = {};
  const runs = {};
  const elapsed = { small: 0, big: 0 };
  try {
    for (const [label, count] of fleets) {
      const store = openPostgresStore(await server.createDatabase(`ingest_${label}`), { poolSize: PARALLEL });
      stores[label] = store;
      await store.migrate();
      const policyId = (await store.policies.ensureBase(0)).id;
      const t = performance.now();
      await buildFleet(store, 'postgres', count, policyId);
      runs[label] = await ingestWorkload(store, 'postgres', count);
      console.log(
        `postgres fleet of ${count.toLocaleString('en')} computers built and settled in ${((performance.now() - t) / 1000).toFixed(1)} s`,
      );
    }
    // The bulk load's dirty pages written out now, not by a checkpoint in the middle of the timing.
    await sql`CHECKPOINT`.execute(stores.big.db);
    const ROUNDS = 8;
    const slice = Math.ceil(HEARTBEATS / ROUNDS);
    for (let r = 0; r < ROUNDS; r++)
      for (const [label] of r % 2 === 0 ? fleets : [...fleets].reverse()) elapsed[label] += await runs[label](slice);
  } finally {
    for (const store of Object.values(stores)) await store.close();
  }
  const rates = {};
  for (const [label, count] of fleets) {
    rates[label] = (Math.ceil(HEARTBEATS / 8) * 8) / (elapsed[label] / 1000);
    console.log(
      `postgres ingest with ${count.toLocaleString('en')} computers: ${rates[label].toFixed(0)} heartbeats/s`,
    );
  }
  const ratio = rates.big / rates.small;
  console.log(
    `  ratio ${BIG_FLEET.toLocaleString('en')} / 1,000 computers: ${ratio.toFixed(2)}  (goal ≥ 0.90: ${ratio >= 0.9 ? 'met' : 'NOT met'})`,
  );
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
