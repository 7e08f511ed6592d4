import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { hashSecret } from '../secrets.js';
import { enrolTestComputer } from '../testing/enrol-test-computer.js';
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

  // On SQLite they run on the connection itself, without Kysely's lock (StoreSession.directFor).
  describe('run directly on the SQLite connection, they keep the transaction boundaries', () => {
    let dir: string;
    let store: KyselyStore;
    let id: number;
    const current = async () => (await store.computers.identityOf(id))?.continuityCurrent;
    /**
     * Starts `transaction`, which writes, calls `wrote` and waits for `held`; resolves once it
     * has written, with `release` to let it end and its outcome.
     */
    const heldOpen = async (transaction: (wrote: () => void, held: Promise<void>) => Promise<unknown>) => {
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      let wrote!: () => void;
      const written = new Promise<void>((r) => {
        wrote = r;
      });
      const outcome = transaction(wrote, held);
      outcome.catch(() => {}); // the test awaits it
      await written;
      return { release, outcome };
    };
    /** Starts `read`; after 50 ms it must not have answered yet. Its answer comes in `value`. */
    const pendingRead = async <T>(read: () => Promise<T>, why: string) => {
      let answered = false;
      const value = read().then((v) => {
        answered = true;
        return v;
      });
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(answered, false, why);
      return { value };
    };
    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'palisade-hand-sql-direct-'));
      store = openSqliteStore(join(dir, 'p.db'));
      await store.migrate();
      id = (await enrolTestComputer(store, { hostName: 'direct', identity: { hostIdentity: 'h', continuity: 'c0' } }))
        .id;
    });
    after(async () => {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('a read outside waits for an open transaction and then sees its commit, never its uncommitted writes', async () => {
      assert.equal(await current(), hashSecret('c0'));
      const tx = await heldOpen((wrote, held) =>
        store.transaction(async (t) => {
          assert.equal(await t.computers.rotateContinuity(id, hashSecret('c0'), 'c1', hashSecret('c0')), true);
          assert.equal(
            (await t.computers.identityOf(id))?.continuityCurrent,
            'c1',
            'the transaction sees its own write',
          );
          wrote();
          await held;
        }),
      );
      const read = await pendingRead(current, 'the read waited for the transaction instead of running inside it');
      tx.release();
      await tx.outcome;
      assert.equal(await read.value, 'c1');
    });

    test('reads waiting for a transaction that rolls back see what was committed before it', async () => {
      const before = await current();
      const tx = await heldOpen((wrote, held) =>
        store.transaction(async (t) => {
          await t.computers.rotateContinuity(id, before ?? null, 'never', before ?? null);
          wrote();
          await held;
          throw new Error('rolled back');
        }),
      );
      const reads = Promise.all([current(), current(), store.computers.findByCertSerial('no-such-serial')]);
      tx.release();
      await assert.rejects(tx.outcome, /rolled back/);
      assert.deepEqual(await reads, [before, before, null]);
    });

    test('a read outside a transaction begun on the connection by other means waits for it, and never sees its writes', async () => {
      const before = await current();
      // As db copy's snapshot: a transaction on `db` itself, which the store does not count.
      const tx = await heldOpen((wrote, held) =>
        store.db.transaction().execute(async (trx) => {
          await trx
            .updateTable('computer_identities')
            .set({ continuity_current: 'foreign' })
            .where('computer_id', '=', id)
            .execute();
          wrote();
          await held;
        }),
      );
      const read = await pendingRead(current, "the read waited (in Kysely's queue) instead of running inside it");
      tx.release();
      await tx.outcome;
      assert.equal(await read.value, 'foreign');
      await store.db
        .updateTable('computer_identities')
        .set({ continuity_current: before ?? null })
        .where('computer_id', '=', id)
        .execute();
    });

    test('a savepoint rolled back undoes its direct writes only', async () => {
      await store.transaction(async (t) => {
        await t.computers.rotateContinuity(id, 'c1', 'c2', 'c1');
        await assert.rejects(
          t.savepoint(async () => {
            assert.equal(await t.computers.rotateContinuity(id, 'c2', 'c3', 'c2'), true);
            throw new Error('unit failed');
          }),
          /unit failed/,
        );
        assert.equal((await t.computers.identityOf(id))?.continuityCurrent, 'c2');
      });
      assert.equal(await current(), 'c2');
    });

    test('a savepoint is begun only before its first write (Kysely or hand-written), inner ones after the outer', async () => {
      await store.transaction(async (t) => {
        await t.computers.rotateContinuity(id, 'c2', 'd1', 'c2');
        // Only reads, then fails: nothing to undo, the transaction goes on.
        await assert.rejects(
          t.savepoint(async () => {
            await t.computers.identityOf(id);
            throw new Error('read-only share failed');
          }),
          /read-only share failed/,
        );
        // The outer share reads, the inner one writes and succeeds, then the outer fails: the
        // outer savepoint was begun before the inner write, so that write is undone with it.
        await assert.rejects(
          t.savepoint(async () => {
            await t.computers.identityOf(id);
            await t.savepoint(() => t.computers.rotateContinuity(id, 'd1', 'd2', 'd1'));
            assert.equal((await t.computers.identityOf(id))?.continuityCurrent, 'd2');
            throw new Error('outer share failed');
          }),
          /outer share failed/,
        );
        assert.equal((await t.computers.identityOf(id))?.continuityCurrent, 'd1');
        // A write through Kysely's builder begins it too.
        const fingerprint = async () => (await t.computers.get(id))?.expectedFingerprint;
        const was = await fingerprint();
        await assert.rejects(
          t.savepoint(async () => {
            await t.computers.setExpectedFingerprint([id], 'sha256:undone');
            throw new Error('kysely share failed');
          }),
          /kysely share failed/,
        );
        assert.equal(await fingerprint(), was);
        // And one that succeeds keeps its write.
        await t.savepoint(async () => {
          await t.computers.identityOf(id);
          await t.computers.setExpectedFingerprint([id], 'sha256:kept');
        });
        assert.equal(await fingerprint(), 'sha256:kept');
      });
      assert.equal(await current(), 'd1');
    });
  });
});
