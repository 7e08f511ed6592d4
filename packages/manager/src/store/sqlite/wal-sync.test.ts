import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { KyselyStore } from '../kysely-store.js';
import { openSqliteStore } from './sqlite-store.js';
import { WalSync } from './wal-sync.js';

describe('WalSync: commits made durable off the event loop', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-wal-sync-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('callers while a sync runs share the next one, which starts after it', async () => {
    const file = join(dir, 'shared.db-wal');
    writeFileSync(file, 'frames');
    const w = new WalSync(file);
    const first = w.sync();
    assert.equal(w.syncs, 1);
    const order: string[] = [];
    const later = Array.from({ length: 9 }, () => w.sync().then(() => order.push('later')));
    void first.then(() => order.push('first'));
    // The nine asked while the first ran: their commits may be after its start, so they wait for one more.
    assert.equal(w.syncs, 1, 'the next sync starts only when the running one ends');
    await Promise.all(later);
    assert.equal(order[0], 'first');
    assert.equal(w.syncs, 2, 'the nine shared one sync');
    await w.close();
  });

  test('no log yet: nothing to sync', async () => {
    const w = new WalSync(join(dir, 'absent.db-wal'));
    await w.sync();
    await w.close();
  });

  describe('the SQLite store', () => {
    let store: KyselyStore;
    before(async () => {
      store = openSqliteStore(join(dir, 'p.db'));
      await store.migrate();
    });
    after(() => store.close());

    test('runs at synchronous = NORMAL and syncs the log after each transaction and each write outside one', async () => {
      const { rows } = await sql<{ synchronous: number }>`pragma synchronous`.execute(store.db);
      assert.equal(rows[0]?.synchronous, 1, 'NORMAL: SQLite syncs the log only at checkpoints');
      assert.ok(store.durable, 'a file store syncs its log itself');
      const s0 = store.durable.syncs;
      await store.transaction((tx) => tx.systemSettings.set('wal-sync.a', '1'));
      assert.equal(store.durable.syncs, s0 + 1, 'the transaction returned after a sync that started after its commit');
      await store.systemSettings.set('wal-sync.b', '2');
      assert.equal(store.durable.syncs, s0 + 2, 'a write outside a transaction too');
      assert.equal(await store.systemSettings.get('wal-sync.a'), '1');
      assert.equal(store.durable.syncs, s0 + 2, 'a read needs no sync');
    });

    test('an in-memory store has no log: FULL, and no sync of its own', async () => {
      const mem = openSqliteStore(':memory:');
      try {
        assert.equal(mem.durable, undefined);
      } finally {
        await mem.close();
      }
    });
  });
});
