#!/usr/bin/env node
// Do API reads stall heartbeat ingest? (issue 12, item 8: eight concurrent `GET /api/events`
// filtered by type or severity pushed one heartbeat from ≤ 52 ms to 8.4 s.) Run after `npx tsc -b`:
//   node benchmarks/read-load/bench.mjs      (BENCH_EVENTS, BENCH_HEARTBEATS to resize)
// A SQLite store (synchronous=FULL, WAL) holding BENCH_EVENTS events (500,000; one in a
// thousand of a rare type, one in 997 critical); heartbeats of 5 events each go through the
// manager's ingest one after another, and their latency is measured with no API reads, then
// while eight clients each run `GET /api/events` scans back to back (through the API's routing,
// validation and serialization: Fastify inject, no sockets). Printed: p50 and p99 with scans
// against without, as ratios, for three set-ups in the same run:
//   before      the events table without the filter indexes (migration 0016 undone), API reads on
//               the write connection (Store.reads pointed at the store itself): as before the fix;
//   indexes     the indexes, reads still on the write connection;
//   product     the indexes and the read connection (a read-only connection in a worker thread).
// Bounded: BENCH_HEARTBEATS heartbeats per phase; the scanners stop when the heartbeats end.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = (p) => import(join(root, 'packages/manager/dist', p));
const { startApiFixture } = await dist('testing/api-fixture.js');
const { HeartbeatIngest } = await dist('ingest.js');
const { ConfigurationService } = await dist('services/configuration-service.js');
const { sql } = await import(join(root, 'node_modules/kysely/dist/esm/index.js'));
const pino = (await import(join(root, 'node_modules/pino/pino.js'))).default;

const EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const HEARTBEATS = Number(process.env.BENCH_HEARTBEATS ?? 60);
const SCANNERS = 8;
const SCANS = [
  '/api/events?type=rare.type&limit=100',
  '/api/events?severity=critical&limit=100',
  '/api/events?type=common.type&severity=critical&limit=100',
  '/api/events?type=rare.type&order=asc&limit=100',
];
const FILTER_INDEXES = ['events_computer_id', 'events_type_id', 'events_severity_id', 'events_received_at'];

const f = await startApiFixture({ monitoring: true });
const store = f.store;
const productReads = store.reads;
try {
  const computers = [];
  for (let i = 0; i < 20; i++) computers.push(await f.addComputer({ hostName: `bench-${i}` }));
  const t0 = performance.now();
  await sql`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${EVENTS})
    INSERT INTO events (computer_id, epoch, seq, agent_time, received_at, type, severity, message, data)
    SELECT ${computers[0].id}, 'bench', i, i, 1700000000000 + i,
      CASE WHEN i % 1000 = 0 THEN 'rare.type' ELSE 'common.type' END,
      CASE WHEN i % 997 = 0 THEN 'critical' ELSE 'info' END, 'a bench event with a message of some length', NULL
    FROM n`.execute(store.db);
  await sql`ANALYZE`.execute(store.db);
  console.log(`${EVENTS.toLocaleString('en')} events stored in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const configurations = new ConfigurationService(600);
  const ingest = new HeartbeatIngest({
    store,
    configurations,
    heartbeatIntervalSeconds: 600,
    logger: pino({ level: 'silent' }),
  });
  const transport = { initiatedBy: 'agent', remoteIp: '127.0.0.1', tlsProtocol: 'TLSv1.3', tlsCipherSuite: null };
  let seq = 0;
  const heartbeat = async (c) => {
    const current = await store.computers.get(c.id);
    const events = Array.from({ length: 5 }, () => ({
      seq: ++seq,
      time: Date.now(),
      type: 'bench.hb',
      severity: 'info',
      message: 'm',
    }));
    const start = performance.now();
    await ingest.ingestReport(
      current,
      {
        protocolVersion: 1,
        agent: { version: '20.0.0', platform: 'linux', hostName: c.hostName, uptimeSeconds: 1, clockTime: Date.now() },
        drivers: [],
        events,
        counters: {},
        configurationFingerprint: current.expectedFingerprint,
        communication: { direction: 'agent-initiated', listener: null },
      },
      transport,
    );
    return performance.now() - start;
  };
  const pct = (xs, p) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  };
  /** Heartbeat latencies, ms, with `scanners` clients scanning meanwhile; and the scans' own. */
  const phase = async (scanners) => {
    let done = false;
    const scanMs = [];
    const loops = Array.from({ length: scanners }, async (_, k) => {
      for (let n = k; !done; n++) {
        const s = performance.now();
        const r = await f.request('GET', SCANS[n % SCANS.length]);
        if (r.status !== 200) throw new Error(`${SCANS[n % SCANS.length]}: ${r.status}`);
        scanMs.push(performance.now() - s);
        // The next request arrives as I/O does, on a later turn of the event loop (inject alone
        // would chain the requests in microtasks and starve every timer).
        await new Promise((r) => setImmediate(r));
      }
    });
    // Let every scanner have its first request out before the first heartbeat.
    await new Promise((r) => setTimeout(r, 20));
    const lat = [];
    for (let i = 0; i < HEARTBEATS; i++) lat.push(await heartbeat(computers[i % computers.length]));
    done = true;
    await Promise.all(loops);
    return { lat, scanMs };
  };

  const setups = {
    before: async () => {
      for (const ix of FILTER_INDEXES) await sql`DROP INDEX IF EXISTS ${sql.id(ix)}`.execute(store.db);
      Object.defineProperty(store, 'reads', { value: store, configurable: true });
    },
    indexes: async () => {
      for (const [ix, cols] of [
        ['events_computer_id', sql`(computer_id, id)`],
        ['events_type_id', sql`(type, id)`],
        ['events_severity_id', sql`(severity, id)`],
        ['events_received_at', sql`(received_at)`],
      ])
        await sql`CREATE INDEX IF NOT EXISTS ${sql.id(ix)} ON events ${cols}`.execute(store.db);
      await sql`ANALYZE`.execute(store.db);
    },
    product: async () => {
      Object.defineProperty(store, 'reads', { value: productReads, configurable: true });
    },
  };
  const rows = [];
  for (const [name, setUp] of Object.entries(setups)) {
    await setUp();
    await phase(SCANNERS); // warm-up: caches, prepared statements, the read thread started
    const quiet = await phase(0);
    const busy = await phase(SCANNERS);
    const q = { p50: pct(quiet.lat, 50), p99: pct(quiet.lat, 99) };
    const b = { p50: pct(busy.lat, 50), p99: pct(busy.lat, 99) };
    rows.push({ name, q, b, scans: busy.scanMs.length, scanP50: pct(busy.scanMs, 50) });
    console.log(
      `${name.padEnd(8)} heartbeat ms without scans p50 ${q.p50.toFixed(1)} p99 ${q.p99.toFixed(1)}; ` +
        `with ${SCANNERS} scanners p50 ${b.p50.toFixed(1)} p99 ${b.p99.toFixed(1)} ` +
        `(${busy.scanMs.length} scans, p50 ${pct(busy.scanMs, 50).toFixed(1)} ms)`,
    );
  }
  console.log(
    `Heartbeat latency with ${SCANNERS} concurrent event scans / without (1.00: scans cost heartbeats nothing):`,
  );
  for (const r of rows)
    console.log(
      `  ${r.name.padEnd(8)} p50 ${(r.b.p50 / r.q.p50).toFixed(2).padStart(7)}   p99 ${(r.b.p99 / r.q.p99).toFixed(2).padStart(7)}`,
    );
} finally {
  Object.defineProperty(store, 'reads', { value: productReads, configurable: true });
  await f.close();
}
