import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { enrolTestComputer } from '../../testing/enrol-test-computer.js';
import { sqliteEngine, type TestDatabase } from '../../testing/store-engines.js';
import { WAL_CHECKPOINT_PAGES } from './sqlite-store.js';

describe('the SQLite store', () => {
  const engine = sqliteEngine();
  let db: TestDatabase;
  let file: string;
  before(async () => {
    db = await engine.database();
    file = db.url.slice('sqlite:'.length);
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
    const other = new Database(file);
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

  test('the write-ahead log is checkpointed every WAL_CHECKPOINT_PAGES pages and stays that size under sustained writes', async () => {
    const store = db.store;
    const { id } = await enrolTestComputer(store, { hostName: 'log-size' });
    const probe = new Database(file, { readonly: true });
    const frame = (probe.pragma('page_size', { simple: true }) as number) + 24;
    probe.close();
    // The log file keeps its largest size (SQLite writes it over from the start after a
    // checkpoint), so its size after the writes is the most it ever held.
    const framesInLog = () => Math.floor((statSync(`${file}-wal`).size - 32) / frame);
    // 300 commits of about 75 log pages each (60 events of 3 KB), back to back, with no pause
    // for a checkpoint to catch up in: more than five times the threshold in all.
    const data = { blob: 'x'.repeat(3000) };
    let seq = 0;
    for (let commit = 0; commit < 300; commit++) {
      await store.transaction(async (tx) => {
        const events = Array.from({ length: 60 }, () => ({
          seq: ++seq,
          time: 1,
          type: 'firewall',
          severity: 'info' as const,
          message: 'm',
          data,
        }));
        await tx.events.insertReported(id, events, 1);
      });
    }
    const most = framesInLog();
    assert.ok(most > 1000, `checkpointed at ${most} pages: SQLite's default, not WAL_CHECKPOINT_PAGES`);
    // Bounded by the threshold and the one commit that crossed it, whatever was written in all.
    assert.ok(most <= WAL_CHECKPOINT_PAGES + 200, `the log held ${most} pages`);
  });
});
