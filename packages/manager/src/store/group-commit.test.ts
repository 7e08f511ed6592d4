import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { GroupCommit } from './group-commit.js';
import type { KyselyStore } from './kysely-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { StoreTransaction } from './store.js';

describe('group commit over a real SQLite store', () => {
  let dir: string;
  let store: KyselyStore;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-group-commit-'));
    store = openSqliteStore(join(dir, 'p.db'));
    await store.migrate();
  });
  after(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('units that arrive together share one commit; each gets its own result', async () => {
    const commits = new GroupCommit(store);
    const before = store.counters().transactions;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        commits.run(async (tx) => {
          await tx.systemSettings.set(`k${i}`, `v${i}`);
          return i * 2;
        }),
      ),
    );
    assert.deepEqual(
      results,
      Array.from({ length: 20 }, (_, i) => i * 2),
    );
    assert.deepEqual(commits.stats, { commits: 1, units: 20 });
    assert.equal(store.counters().transactions - before, 1, 'one transaction, so one fsync');
    for (let i = 0; i < 20; i++) assert.equal(await store.systemSettings.get(`k${i}`), `v${i}`);
  });

  test("a batch waits for the log's sync unless every unit it carries said sync 'soon'", async () => {
    const commits = new GroupCommit(store);
    const syncs = () => store.counters().logSyncs!;
    const s0 = syncs();
    await Promise.all([1, 2].map((i) => commits.run((tx) => tx.systemSettings.set(`soon${i}`, 'x'), { sync: 'soon' })));
    assert.equal(syncs(), s0, 'answered once committed, before the sync');
    const s1 = syncs();
    await Promise.all([
      commits.run((tx) => tx.systemSettings.set('soon3', 'x'), { sync: 'soon' }),
      commits.run((tx) => tx.systemSettings.set('now1', 'x')),
    ]);
    assert.ok(syncs() > s1, 'one unit that must be durable makes the whole batch wait');
  });

  test('a unit that throws rolls back its own writes only; the others commit', async () => {
    const commits = new GroupCommit(store);
    const ok = (key: string) => commits.run((tx) => tx.systemSettings.set(key, 'kept'));
    const bad = commits.run(async (tx) => {
      await tx.systemSettings.set('bad', 'must not stay');
      throw new Error('this report is refused');
    });
    const [a, b, c] = await Promise.allSettled([ok('a'), bad, ok('c')]);
    assert.equal(a.status, 'fulfilled');
    assert.equal(b.status, 'rejected');
    assert.match(String((b as PromiseRejectedResult).reason), /this report is refused/);
    assert.equal(c.status, 'fulfilled');
    assert.equal(await store.systemSettings.get('a'), 'kept');
    assert.equal(await store.systemSettings.get('c'), 'kept');
    assert.equal(await store.systemSettings.get('bad'), null);
    assert.deepEqual(commits.stats, { commits: 1, units: 3 });
  });

  test('no unit settles before its commit returned; a failed commit fails every unit and stores none', async () => {
    let committed = 0;
    const counting = {
      transaction: async <T>(fn: (tx: StoreTransaction) => Promise<T>) => {
        const r = await store.transaction(fn);
        committed += 1;
        return r;
      },
    };
    const commits = new GroupCommit(counting);
    const seen = await Promise.all(
      Array.from({ length: 5 }, (_, i) =>
        commits.run((tx) => tx.systemSettings.set(`c${i}`, 'x')).then(() => committed),
      ),
    );
    assert.deepEqual(seen, [1, 1, 1, 1, 1], 'each unit learnt of its success after the commit');

    const failing = {
      transaction: <T>(fn: (tx: StoreTransaction) => Promise<T>) =>
        store.transaction(async (tx) => {
          await fn(tx);
          throw new Error('disk I/O error at commit');
        }),
    };
    const doomed = new GroupCommit(failing);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 3 }, (_, i) => doomed.run((tx) => tx.systemSettings.set(`d${i}`, 'x'))),
    );
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected'],
    );
    for (let i = 0; i < 3; i++) assert.equal(await store.systemSettings.get(`d${i}`), null);
  });

  test('at most maxBatch units per commit; later arrivals form the next batch', async () => {
    const commits = new GroupCommit(store, { maxBatch: 4 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => commits.run((tx) => tx.systemSettings.set(`m${i}`, 'x'))));
    assert.deepEqual(commits.stats, { commits: 3, units: 10 });
  });
});
