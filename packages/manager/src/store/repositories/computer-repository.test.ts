import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { KyselyStore } from '../kysely-store.js';
import { openSqliteStore } from '../sqlite/sqlite-store.js';

describe('computers over SQLite: the offline sweep statement', () => {
  let dir: string;
  let store: KyselyStore;
  let policyId: number;
  let serial = 0;

  const computer = async (o: { deadline: number | null; state: 'active' | 'deactivated' }) => {
    const r = await store.db
      .insertInto('computers')
      .values({
        host_name: `host-${++serial}`,
        platform: 'linux',
        agent_version: '0.1.0',
        policy_id: policyId,
        state: o.state,
        cert_serial: `s-${serial}`,
        activated_at: 0,
        last_communication: o.deadline === null ? null : o.deadline - 3000,
        offline_deadline: o.deadline,
        drivers: '[]',
        counters: '{}',
        events_acked_through: 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-computers-'));
    store = openSqliteStore(join(dir, 'palisade.db'));
    await store.migrate();
    policyId = (await store.policies.ensureBase(0)).id;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the sweep reads the partial index, not the table', async () => {
    const plan = await sql<{
      detail: string;
    }>`EXPLAIN QUERY PLAN SELECT id FROM computers WHERE offline_deadline <= 5 AND offline_since IS NULL AND state = 'active' ORDER BY offline_deadline LIMIT 10`.execute(
      store.db,
    );
    assert.match(
      plan.rows.map((r) => r.detail).join('\n'),
      /USING INDEX computers_offline_due \(offline_deadline<\?\)/,
    );
  });

  test('a deactivated computer whose deadline passed is never marked Offline; an active one once', async () => {
    const gone = await computer({ deadline: 1, state: 'deactivated' });
    const due = await computer({ deadline: 1, state: 'active' });
    assert.deepEqual(
      (await store.computers.markOfflineDue(10_000_000, 100)).map((r) => r.id),
      [due],
    );
    assert.deepEqual(await store.computers.markOfflineDue(10_000_000, 100), [], 'already offline: not again');
    assert.equal((await store.computers.get(gone))!.offlineSince, null);
    assert.equal(await store.computers.nextOfflineDeadline(), null, 'nothing left for the sweep to wait for');
  });
});
