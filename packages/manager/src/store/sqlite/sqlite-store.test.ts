import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { enrolTestComputer } from '../../testing/enrol-test-computer.js';
import { sqliteEngine, type TestDatabase } from '../../testing/store-engines.js';

describe('the SQLite store', () => {
  const engine = sqliteEngine();
  let db: TestDatabase;
  before(async () => {
    db = await engine.database();
    await db.store.policies.ensureBase(Date.now());
  });
  after(async () => {
    await db.close();
    await engine.close();
  });

  test('a transaction holds the write lock from its BEGIN: a transaction that reads first still writes', async () => {
    const store = db.store;
    const { id } = await enrolTestComputer(store, { hostName: 'immediate' });
    // Another process on the same file (the CLI beside a running manager), not waiting for locks.
    const other = new Database(db.url.slice('sqlite:'.length));
    other.pragma('busy_timeout = 0');
    const otherWrite = () =>
      other.prepare(`update "versions" set "version" = "version" where "name" = 'policyTree'`).run();
    try {
      await store.transaction(async (tx) => {
        await tx.computers.get(id);
        // Had the BEGIN been deferred, this write would commit now, and the write below would
        // fail with SQLITE_BUSY_SNAPSHOT (the transaction read before it): it waits instead.
        assert.throws(otherWrite, /locked|busy/i);
        await tx.computers.setExpectedFingerprint([id], 'sha256:after-a-read');
      });
      assert.equal((await store.computers.get(id))?.expectedFingerprint, 'sha256:after-a-read');
      assert.equal(otherWrite().changes, 1, 'the lock is released at the commit');
    } finally {
      other.close();
    }
  });
});
