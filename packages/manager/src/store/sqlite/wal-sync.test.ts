import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { KyselyStore } from '../kysely-store.js';
import { SOON_SYNC_MS } from '../store.js';
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

  test('soon: one sync for every caller within the window, or the next sync anyone asks for', async () => {
    const file = join(dir, 'soon.db-wal');
    writeFileSync(file, 'frames');
    const w = new WalSync(file);
    const t0 = performance.now();
    await Promise.all([w.soon(), w.soon(), w.soon()]);
    assert.equal(w.syncs, 1, 'three commits, one sync');
    assert.ok(performance.now() - t0 >= SOON_SYNC_MS - 5, 'it waited for the window');
    // A sync asked for now covers those waiting for one soon: they are not kept waiting.
    const t1 = performance.now();
    const soon = w.soon();
    await w.sync();
    await soon;
    assert.equal(w.syncs, 2);
    assert.ok(performance.now() - t1 < SOON_SYNC_MS, 'settled by the sync made now');
    // Closing makes the sync promised soon before closing the log.
    const last = w.soon();
    await w.close();
    await last;
    assert.equal(w.syncs, 3);
  });

  test('whenDurable: at once when every commit reported is synced, else with the sync soon', async () => {
    const file = join(dir, 'durable.db-wal');
    writeFileSync(file, 'frames');
    const w = new WalSync(file);
    await w.sync();
    const t0 = performance.now();
    await w.whenDurable();
    assert.equal(w.syncs, 1, 'nothing committed since the last sync: no sync asked for');
    assert.ok(performance.now() - t0 < SOON_SYNC_MS, 'and no waiting for one');
    // A commit answered before its sync: whenDurable waits for that sync.
    const committed = w.soon();
    await w.whenDurable();
    assert.equal(w.syncs, 2, 'it waited for the sync that covers the commit');
    await committed;
    // A sync that was already running when the commit was reported does not cover it.
    const running = w.sync();
    void w.soon();
    await running;
    await w.whenDurable();
    assert.equal(w.syncs, 4, 'the commit reported during a sync waited for the next one');
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

    test("a transaction with sync 'soon' returns once committed; its sync follows within the window", async () => {
      const s0 = store.durable!.syncs;
      await store.transaction((tx) => tx.systemSettings.set('wal-sync.soon', '1'), { sync: 'soon' });
      assert.equal(store.durable!.syncs, s0, 'answered before any sync');
      assert.equal(await store.systemSettings.get('wal-sync.soon'), '1', 'committed');
      await new Promise((r) => setTimeout(r, SOON_SYNC_MS + 100));
      assert.equal(store.durable!.syncs, s0 + 1, 'synced within the window');
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
