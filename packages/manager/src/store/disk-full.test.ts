import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import { GroupCommit } from './group-commit.js';
import type { KyselyStore } from './kysely-store.js';
import { storageFault } from './store-write-health.js';

/**
 * A full disk, made real without filling one: SQLite's `max_page_count` pragma caps the database
 * file, and a write that needs a page beyond it fails with SQLITE_FULL exactly as on a full
 * file system (https://www.sqlite.org/pragma.html#pragma_max_page_count).
 */
async function capAtCurrentSize(store: KyselyStore): Promise<number> {
  const { rows } = await sql<{ page_count: number }>`pragma page_count`.execute(store.db);
  const pages = rows[0]!.page_count;
  await sql.raw(`pragma max_page_count = ${pages}`).execute(store.db);
  return pages;
}

const uncap = (store: KyselyStore) => sql.raw('pragma max_page_count = 1073741823').execute(store.db);

describe('the store on a full disk (issue 12, item 7)', () => {
  let f: ApiFixture;
  let store: KyselyStore;
  before(async () => {
    f = await startApiFixture();
    store = f.store as KyselyStore;
  });
  after(() => f.close());

  const policy = (i: number) => ({ name: `Filler ${i}`, description: 'x'.repeat(4000) });

  test('a write is 503 STORE_UNAVAILABLE with the cause, /healthz degraded; both recover once space returns', async () => {
    assert.equal((await f.request('GET', '/healthz', undefined, { key: null })).status, 200);
    await capAtCurrentSize(store);
    const before = (await f.store.policies.list()).length;
    let refused: Awaited<ReturnType<ApiFixture['request']>> | undefined;
    // Bounded: each policy takes more than a page of 4 KiB, so the cap is reached within a few.
    for (let i = 0; i < 50 && !refused; i++) {
      const r = await f.request('POST', '/api/policies', policy(i));
      if (r.status !== 200) refused = r;
    }
    assert.ok(refused, 'no write was refused under the cap');
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(errorOf(refused).code, 'STORE_UNAVAILABLE');
    assert.match(errorOf(refused).message, /SQLITE_FULL/);
    assert.doesNotMatch(errorOf(refused).message, /no transaction is active/);
    const stored = (await f.store.policies.list()).length;
    assert.ok(stored >= before, 'what committed before the cap stays');

    const health = await f.request('GET', '/healthz', undefined, { key: null });
    assert.equal(health.status, 503);
    assert.deepEqual(Object.keys(health.body as object).sort(), ['reason', 'status']);
    assert.equal((health.body as { status: string }).status, 'degraded');
    assert.match((health.body as { reason: string }).reason, /SQLITE_FULL/);
    assert.equal((await f.request('GET', '/api/policies')).status, 200, 'reads still work');

    await uncap(store);
    assert.equal((await f.request('POST', '/api/policies', policy(1000))).status, 200);
    assert.equal((await f.request('GET', '/healthz', undefined, { key: null })).status, 200);
    assert.equal((await f.store.policies.list()).length, stored + 1);
  });

  test('in a group commit, units that meet the full disk fail with the cause; none commits on its own', async () => {
    const commits = new GroupCommit(store);
    await capAtCurrentSize(store);
    try {
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) =>
          commits.run(async (tx) => {
            await tx.systemSettings.set(`filler.${i}`, 'y'.repeat(20_000));
          }),
        ),
      );
      assert.ok(
        outcomes.every((o) => o.status === 'rejected'),
        'a unit committed on its own after the engine ended the transaction',
      );
      for (const o of outcomes) assert.match(storageFault((o as PromiseRejectedResult).reason) ?? '', /SQLITE_FULL/);
      for (let i = 0; i < 8; i++) assert.equal(await store.systemSettings.get(`filler.${i}`), null);
    } finally {
      await uncap(store);
    }
    assert.equal(store.writeHealth.state.ok, false);
    await store.transaction((tx) => tx.systemSettings.set('after.full', 'ok'));
    assert.equal(store.writeHealth.state.ok, true);
  });
});
