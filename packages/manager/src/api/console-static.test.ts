import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { COMPUTER_STATUSES, deriveComputerStatus } from '@palisade/core';
import type { KyselyStore } from '../store/kysely-store.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import type { ApiViews } from './api-views.js';
import { CONTENT_SECURITY_POLICY } from './console-static.js';

describe('the console files: caching, CSP, client routes', () => {
  let f: ApiFixture;
  let dir: string;
  const js = `console.log(${JSON.stringify('x'.repeat(2000))});`;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-console-'));
    mkdirSync(join(dir, 'assets'));
    writeFileSync(
      join(dir, 'index.html'),
      '<!doctype html><script type="module" src="/assets/app-abc123.js"></script>',
    );
    writeFileSync(join(dir, 'assets', 'app-abc123.js'), js);
    writeFileSync(join(dir, 'assets', 'app-abc123.js.gz'), gzipSync(js));
    writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
    f = await startApiFixture({ consoleDir: dir });
  });
  after(async () => {
    await f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('index.html is revalidated every load, hashed assets are immutable, and every reply carries the CSP', async () => {
    const index = await f.app.inject({ url: '/' });
    assert.equal(index.statusCode, 200);
    assert.equal(index.headers['cache-control'], 'no-cache');
    assert.match(index.body, /app-abc123\.js/);
    assert.equal(index.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.match(CONTENT_SECURITY_POLICY, /script-src 'self'(;|$)/);
    assert.ok(!/script-src[^;]*unsafe/.test(CONTENT_SECURITY_POLICY), 'no unsafe-inline or unsafe-eval for scripts');
    assert.equal(index.headers['x-frame-options'], 'DENY');
    const asset = await f.app.inject({ url: '/assets/app-abc123.js', headers: { 'accept-encoding': 'gzip' } });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(asset.headers['content-encoding'], 'gzip', 'the build-time gzip copy is served');
    const plain = await f.app.inject({ url: '/assets/app-abc123.js' });
    assert.equal(plain.body, js);
    assert.equal((await f.app.inject({ url: '/favicon.svg' })).headers['cache-control'], 'no-cache');
  });

  test('client routes get index.html; missing files and unknown API routes are 404 JSON', async () => {
    const route = await f.app.inject({ url: '/computers/12/settings' });
    assert.equal(route.statusCode, 200);
    assert.match(route.body, /app-abc123/);
    for (const url of ['/assets/nope-1.js', '/robots.txt', '/api/nope']) {
      const r = await f.app.inject({ url });
      assert.equal(r.statusCode, 404, url);
      assert.equal(r.json().error.code, 'NOT_FOUND');
    }
    assert.equal((await f.app.inject({ url: '/assets/app-abc123.js.gz' })).statusCode, 404);
  });
});

describe('the computers list: paging, sorting and filters in SQL', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture();
  });
  after(() => f.close());

  test('status in SQL matches core for every computer; filters, sort and total agree with the full list', async () => {
    const names = ['web-03', 'web-01', 'db-01', 'mail', 'WEB-02', 'old'];
    const ids: number[] = [];
    for (const n of names) ids.push((await f.addComputer({ hostName: n })).id);
    await f.heartbeat(ids[0]!); // online
    await f.heartbeat(ids[1]!); // online
    await f.heartbeat(ids[2]!, 'sha256:old'); // update pending
    // What the monitor's vmstate path stores (this fixture runs no monitor).
    await (f.store as KyselyStore).db
      .updateTable('computers')
      .set({ vm_state: 'stopped' })
      .where('id', '=', ids[3]!)
      .execute();
    assert.equal((await f.request('DELETE', `/api/computers/${ids[5]}`)).status, 204);
    const list = async (q = '') => (await f.request('GET', `/api/computers${q}`)).json<ApiViews['ComputerList']>();
    const all = (await list()).computers;
    assert.equal(all.length, names.length);
    assert.equal((await list()).total, undefined, 'unpaged shape unchanged');
    // SQL status = core status for each.
    const now = Date.now();
    const updating = await f.store.operations.computersUpdating();
    const counts = await f.store.computers.countByStatus(now);
    const expected = Object.fromEntries(COMPUTER_STATUSES.map((s) => [s, 0])) as Record<string, number>;
    for (const id of ids) {
      const c = (await f.store.computers.get(id))!;
      const s = deriveComputerStatus({
        activated: true,
        deactivated: c.state === 'deactivated',
        offlineDeadline: c.offlineDeadline,
        now,
        vmStopped: c.vmState === 'stopped',
        expectedFingerprint: c.expectedFingerprint,
        appliedFingerprint: c.appliedFingerprint,
        updateInFlight: updating.has(id),
      });
      expected[s]! += 1;
    }
    assert.deepEqual(counts, expected);

    const page = (q: string) => list(`?${q}`);
    const p1 = await page('limit=2&sortBy=hostName');
    assert.equal(p1.total, 6);
    assert.deepEqual(
      p1.computers.map((c) => c.hostName),
      ['WEB-02', 'db-01'].sort((a, b) => (a < b ? -1 : 1)),
    );
    const web = await page('search=WeB&sortBy=hostName&sortOrder=desc');
    assert.deepEqual(
      web.computers.map((c) => c.hostName),
      ['web-03', 'web-01', 'WEB-02'],
    );
    const online = await page('status=Managed%20(Online)');
    assert.deepEqual(online.computers.map((c) => c.hostName).sort(), ['web-01', 'web-03']);
    for (const c of online.computers) assert.equal(c.computerStatus.agentStatusMessages[0], 'Managed (Online)');
    const pending = await page('status=Update%20Pending%20(Heartbeat),VM%20Stopped&sortBy=status');
    assert.equal(pending.total, expected['Update Pending (Heartbeat)']! + expected['VM Stopped']!);
    assert.ok(expected['VM Stopped']! === 1 && expected.Deactivated === 1);
    assert.deepEqual(
      pending.computers.map((c) => c.computerStatus.agentStatusMessages[0]),
      [...Array(expected['Update Pending (Heartbeat)']).fill('Update Pending (Heartbeat)'), 'VM Stopped'],
      'sorted by status text',
    );
    const byPolicy = await page('policyID=1&limit=1&offset=5');
    assert.equal(byPolicy.total, 6);
    assert.equal(byPolicy.computers.length, 1);
    const bad = await f.request('GET', '/api/computers?status=Sleeping');
    assert.equal(bad.status, 400);
    assert.match(errorOf(bad).message, /Sleeping/);
    assert.equal((await f.request('GET', '/api/computers?sortBy=colour')).status, 400);
    assert.equal((await list('?search=100%25_')).total, 0, '% and _ are literal');
  });
});
