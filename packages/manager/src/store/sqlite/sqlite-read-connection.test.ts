import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Kysely, sql } from 'kysely';
import type { KyselyStore } from '../kysely-store.js';
import type { Database } from '../schema.js';
import { sqliteReadDialect } from './sqlite-read-connection.js';
import { openSqliteStore } from './sqlite-store.js';

describe('SQLite: the read connection (Store.reads)', () => {
  let dir: string;
  let store: KyselyStore;
  let computerId: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-reads-'));
    store = openSqliteStore(join(dir, 'palisade.db'));
    await store.migrate();
    const policyId = (await store.policies.ensureBase(0)).id;
    const c = await store.db
      .insertInto('computers')
      .values({
        host_name: 'h1',
        platform: 'linux',
        agent_version: '1',
        policy_id: policyId,
        state: 'active',
        cert_serial: 's1',
        activated_at: 0,
        drivers: '[]',
        counters: '{}',
        events_acked_through: 0,
        expected_fingerprint: 'x',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    computerId = c.id;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('is another connection than the writer, and sees what committed before the read', async () => {
    assert.notEqual(store.reads, store);
    const event = (seq: number, type: string) => ({ seq, time: 1, type, severity: 'info', message: 'm' });
    await store.events.insertReported(computerId, [event(1, 'a'), event(2, 'b')], 10);
    const page = await store.reads.events.query({ order: 'desc', limit: 10, type: 'b' });
    assert.deepEqual(
      page.map((e) => [e.seq, e.type, e.hostName]),
      [[2, 'b', 'h1']],
    );
    await store.transaction(async (tx) => {
      await tx.events.insertReported(computerId, [event(3, 'b')], 11);
      // Not committed yet: the read connection does not see it.
      assert.equal((await store.reads.events.query({ order: 'desc', limit: 10, type: 'b' })).length, 1);
    });
    assert.equal((await store.reads.events.query({ order: 'desc', limit: 10, type: 'b' })).length, 2);
  });

  test('refuses writes', async () => {
    const e = { seq: 50, time: 1, type: 'w', severity: 'info', message: 'm' };
    await assert.rejects(store.reads.events.insertReported(computerId, [e], 1), /readonly/i);
    await assert.rejects(store.reads.systemSettings.set('x', 'y'), /readonly/i);
    // The connection is not left in a transaction or broken: reads go on.
    assert.equal((await store.reads.events.query({ order: 'asc', limit: 10, type: 'w' })).length, 0);
  });

  test('a long read holds neither the writer nor the event loop: a heartbeat-sized write commits while it runs', async () => {
    // The read runs in its own thread: it is still out when the write, issued after it, is done.
    // On the writer's thread (better-sqlite3 is synchronous) it would finish first, and the
    // write, and every timer, would wait for it.
    const reader = new Kysely<Database>({ dialect: sqliteReadDialect(join(dir, 'palisade.db')) });
    try {
      let readDone = false;
      const read = sql<{
        n: number;
      }>`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000) SELECT count(*) AS n FROM n`
        .execute(reader)
        .then((r) => {
          readDone = true;
          return r.rows[0]!.n;
        });
      await new Promise((r) => setImmediate(r));
      await store.transaction((tx) =>
        tx.events.insertReported(computerId, [{ seq: 100, time: 1, type: 't', severity: 'info', message: 'm' }], 12),
      );
      assert.equal(readDone, false, 'the write committed while the read was still running');
      // And timers run meanwhile: the event loop is not held.
      await new Promise((r) => setTimeout(r, 1));
      assert.equal(readDone, false, 'a timer ran while the read was still running');
      assert.equal(await read, 3_000_000);
    } finally {
      await reader.destroy();
    }
  });
});
