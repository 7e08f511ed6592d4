#!/usr/bin/env node
// Offline sweep (issue 4). Run after `npx tsc -b`:
//   node benchmarks/offline-sweep/bench.mjs          (BENCH_FLEET=100000 for a quicker run)
// A SQLite store (a file, synchronous=FULL, as the manager runs it) with 1,000,000 computers.
// Each round expires 1 % of them (10,000) and times the sweep that turns them Offline and raises
// their alerts; then, with those still Offline, expires another 0.01 % (100) and times that
// sweep. If the sweep's cost follows its transitions, not the fleet, the ratio of the two times
// is near the ratio of transitions (100): the 0.01 % sweep reads 100 rows, not the 10,000
// already Offline nor the 990,000 online. Printed beside them, as a baseline from the same run:
// one pass over the whole table, which is what a sweep without the stored deadline would cost.
// Bounded: the fleet is built once with one INSERT … SELECT; ROUNDS rounds of two sweeps.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { openSqliteStore } = await import(join(root, 'packages/manager/dist/store/sqlite/sqlite-store.js'));
const { sweepOffline } = await import(join(root, 'packages/manager/dist/monitor/offline-sweep.js'));
const { ConfigurationService } = await import(join(root, 'packages/manager/dist/services/configuration-service.js'));
const { sql } = await import(join(root, 'node_modules/kysely/dist/esm/index.js'));

const FLEET = Number(process.env.BENCH_FLEET ?? 1_000_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const MANY = Math.round(FLEET / 100); // 1 %
const FEW = Math.max(1, Math.round(FLEET / 10_000)); // 0.01 %

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = (x) => `${x.toFixed(2).padStart(9)} ms`;

const dir = mkdtempSync(join(tmpdir(), 'palisade-sweep-bench-'));
const store = openSqliteStore(join(dir, 'palisade.db'));
try {
  await store.migrate();
  const policyId = (await store.policies.ensureBase(0)).id;
  const configurations = new ConfigurationService(600);
  // Seeding and resetting the fleet take raw SQL on the store's connection (no repository bulk-loads).
  const db = store.db;
  const T0 = 1_700_000_000_000;
  const future = T0 + 3_600_000;

  let t = performance.now();
  // Every computer heartbeated recently: its deadline is in the future.
  await sql`
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${FLEET})
    INSERT INTO computers (host_name, platform, agent_version, policy_id, state, cert_serial, activated_at, last_communication, offline_deadline, drivers, counters, events_acked_through)
    SELECT 'host-' || i, 'linux', '20.0.0', ${policyId}, 'active', 'serial-' || i, 0, ${future - 1_800_000}, ${future} + i, '[]', '{}', 0 FROM n`.execute(
    db,
  );
  await sql`ANALYZE`.execute(db);
  console.log(
    `offline sweep: ${FLEET.toLocaleString('en')} computers in SQLite (built in ${((performance.now() - t) / 1000).toFixed(1)} s)`,
  );

  /** Expires `count` computers, spread over the id range, skipping those `offset` already took. */
  const expire = (count, offset) =>
    sql`UPDATE computers SET offline_deadline = ${T0 - 1}, last_communication = ${T0 - 1 - 1_800_000}
        WHERE id IN (SELECT id FROM computers WHERE id % ${Math.floor(FLEET / count)} = ${offset} LIMIT ${count})`.execute(
      db,
    );
  const reset = async () => {
    await db.deleteFrom('alert_notifications').execute();
    await db.deleteFrom('alerts').execute();
    await sql`UPDATE computers SET offline_since = NULL, offline_deadline = ${future} + id WHERE offline_deadline < ${future}`.execute(
      db,
    );
  };
  const sweep = async (expected) => {
    const start = performance.now();
    const r = await sweepOffline(store, configurations, T0);
    const took = performance.now() - start;
    if (r.transitions.length !== expected || r.changes.length !== expected)
      throw new Error(
        `expected ${expected} transitions and alerts, got ${r.transitions.length} and ${r.changes.length}`,
      );
    return took;
  };

  const many = [];
  const few = [];
  const scans = [];
  const idle = [];
  const commits = [];
  for (let round = 0; round < ROUNDS; round++) {
    await reset();
    await expire(MANY, 0);
    many.push(await sweep(MANY));
    // 1 % stays Offline; 0.01 % more expire.
    await expire(FEW, 1);
    few.push(await sweep(FEW));
    idle.push(await sweep(0));
    t = performance.now();
    await sql`SELECT count(*) AS n FROM computers NOT INDEXED WHERE offline_deadline <= ${T0} AND offline_since IS NULL`.execute(
      db,
    );
    scans.push(performance.now() - t);
    // What any sweep that changes something pays once: one committed write (the fsync).
    t = performance.now();
    await db
      .transaction()
      .execute((trx) => sql`UPDATE policies SET updated_at = updated_at + 1 WHERE id = ${policyId}`.execute(trx));
    commits.push(performance.now() - t);
  }
  const a = median(many);
  const b = median(few);
  const s = median(scans);
  const c = median(commits);
  console.log(
    `  sweep, ${MANY.toLocaleString('en')} transitions (1 %)            ${ms(a)}   (${((a * 1000) / MANY).toFixed(1)} µs per transition)`,
  );
  console.log(
    `  sweep, ${FEW.toLocaleString('en')} transitions (0.01 %, 1 % already Offline) ${ms(b)}   (${((b * 1000) / FEW).toFixed(1)} µs per transition)`,
  );
  console.log(`  sweep with nothing due                        ${ms(median(idle))}`);
  console.log(
    `  ratio of sweep times                          ${(a / b).toFixed(1).padStart(9)}    (ratio of transitions: ${(MANY / FEW).toFixed(0)})`,
  );
  console.log(
    `  baseline: one committed write (fsync)         ${ms(c)}   (every sweep that changes something pays it once)`,
  );
  console.log(
    `  ratio of sweep times less that commit         ${((a - c) / Math.max(b - c, 0.001)).toFixed(1).padStart(9)}`,
  );
  console.log(
    `  baseline: one pass over the whole table       ${ms(s)}   (0.01 % sweep = ${(b / s).toFixed(3)} of it)`,
  );
  console.log(`  medians of ${ROUNDS} rounds; every sweep raised one alert per transition, in batches of 1,000`);
} finally {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
