import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HandSql } from './hand-sql.js';
import type { KyselyStore } from './kysely-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';

describe('hand-written statements', () => {
  test('PostgreSQL gets numbered placeholders, in order', () => {
    const s = new HandSql('update "t" set "a" = ?, "b" = ? where "id" = ? returning *', true);
    assert.equal(s.numbered, 'update "t" set "a" = $1, "b" = $2 where "id" = $3 returning *');
    assert.equal(s.text, 'update "t" set "a" = ?, "b" = ? where "id" = ? returning *');
  });

  describe('the store keeps the same books as for Kysely statements', () => {
    let dir: string;
    let store: KyselyStore;
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'palisade-hand-sql-'));
      store = openSqliteStore(join(dir, 'p.db'));
      await store.migrate();
      await store.policies.ensureBase(Date.now());
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('outside a transaction: a read is counted, a write counted and synced before it returns', async () => {
      const c0 = store.counters();
      const s0 = store.durable!.syncs;
      assert.ok((await store.policies.treeVersion()) !== null);
      assert.equal(store.counters().autocommitReads, c0.autocommitReads + 1);
      assert.equal(store.durable!.syncs, s0, 'a read needs no sync');
      assert.equal(await store.computers.rotateContinuity(999_999, null, 'next', null), false);
      assert.equal(store.counters().autocommitWrites, c0.autocommitWrites + 1);
      assert.equal(store.durable!.syncs, s0 + 1, 'the write returned after a sync of the log');
    });

    test('in a transaction: nothing counted as autocommit, one sync after the commit', async () => {
      const c0 = store.counters();
      const s0 = store.durable!.syncs;
      await store.transaction(async (tx) => {
        await tx.policies.treeVersion();
        await tx.computers.rotateContinuity(999_999, null, 'next', null);
      });
      const c1 = store.counters();
      assert.equal(c1.autocommitReads, c0.autocommitReads);
      assert.equal(c1.autocommitWrites, c0.autocommitWrites);
      assert.equal(c1.transactions, c0.transactions + 1);
      assert.equal(store.durable!.syncs, s0 + 1);
    });
  });
});
