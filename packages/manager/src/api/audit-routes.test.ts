import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import type { ApiViews } from './api-views.js';

const FIREWALL = 'firewallSettingState';

describe('audit log: who changed what, from what to what, when', () => {
  let f: ApiFixture;
  let t = 1_700_000_000_000;
  const rows = async (q = '') =>
    (await f.request('GET', `/api/auditevents${q}`)).json<ApiViews['AuditList']>().auditEvents;

  before(async () => {
    // A clock that moves 1 s per read, so each change has its own time.
    f = await startApiFixture({ now: () => (t += 1000) });
  });
  after(() => f.close());

  test('every kind of change leaves rows naming the API key, old and new values', async () => {
    const p = (
      await f.request('POST', '/api/policies', { name: 'Web', policySettings: { [FIREWALL]: { value: 'Off' } } })
    ).json<ApiViews['Policy']>().ID;
    const q = (await f.request('POST', '/api/policies', { name: 'Web 2' })).json<ApiViews['Policy']>().ID;
    await f.request('POST', `/api/policies/${p}`, { name: 'Web servers', description: 'nginx', parentID: q });
    await f.request('POST', `/api/policies/${p}/settings/${FIREWALL}`, { value: 'On' });
    await f.request('DELETE', `/api/policies/${p}/settings/${FIREWALL}`);
    await f.request('POST', '/api/policies/1/settings/platformSettingHeartbeatLocalTimeShiftAlertThreshold', {
      value: '15',
    });
    const c = (await f.addComputer({ hostName: 'web-1' })).id;
    await f.request('POST', `/api/computers/${c}`, { policyID: p, computerSettings: { [FIREWALL]: { value: 'Off' } } });
    await f.request('DELETE', `/api/computers/${c}`);
    await f.request('POST', `/api/computers/${c}`, { policyID: 1 });
    await f.request('DELETE', `/api/policies/${p}`);

    const got = (await rows()).reverse();
    const compact = got.map((e) => [e.action, e.targetType, e.targetID, e.setting, e.oldValue, e.newValue]);
    assert.deepEqual(compact, [
      ['policy.create', 'policy', p, null, null, 'Web'],
      ['policy.setting', 'policy', p, FIREWALL, null, 'Off'],
      ['policy.create', 'policy', q, null, null, 'Web 2'],
      ['policy.rename', 'policy', p, 'name', 'Web', 'Web servers'],
      ['policy.describe', 'policy', p, 'description', '', 'nginx'],
      ['policy.move', 'policy', p, 'parentID', '1', String(q)],
      ['policy.setting', 'policy', p, FIREWALL, 'Off', 'On'],
      ['policy.setting', 'policy', p, FIREWALL, 'On', null],
      // The Base Policy inherits nothing: its old value is the catalog default it had.
      ['policy.setting', 'policy', 1, 'platformSettingHeartbeatLocalTimeShiftAlertThreshold', 'Unlimited', '15'],
      ['computer.policy', 'computer', c, 'policyID', '1', String(p)],
      ['computer.setting', 'computer', c, FIREWALL, null, 'Off'],
      ['computer.deactivate', 'computer', c, null, 'active', 'deactivated'],
      ['computer.policy', 'computer', c, 'policyID', String(p), '1'],
      ['policy.delete', 'policy', p, null, 'Web servers', null],
    ]);
    for (const e of got) assert.deepEqual(e.actor, { type: 'apiKey', ID: f.keys.fullId, name: 'test admin' });
    // Times come from the manager's clock, in order; rows of one change share one time.
    const times = got.map((e) => e.time);
    assert.deepEqual(
      [...times].sort((a, b) => a - b),
      times,
    );
    assert.equal(got[0]?.time, got[1]?.time, 'a policy created with a setting: one change, one time');
    assert.ok(times.every((x: number) => x > 1_700_000_000_000 && x <= t));
  });

  test('what changes nothing writes no row: same value again, reset of an Inherited setting', async () => {
    const before = (await rows()).length;
    await f.request('POST', '/api/policies/1/settings/platformSettingHeartbeatLocalTimeShiftAlertThreshold', {
      value: '15',
    });
    const p = (await f.request('GET', '/api/policies'))
      .json<ApiViews['PolicyList']>()
      .policies.find((x) => x.name === 'Web 2')!.ID;
    await f.request('DELETE', `/api/policies/${p}/settings/${FIREWALL}`);
    await f.request('POST', `/api/policies/${p}`, { name: 'Web 2' });
    assert.equal((await rows()).length, before);
  });

  test('newest first, with limit and beforeID to page back', async () => {
    const all = await rows('?limit=1000');
    assert.ok(all.length >= 10);
    const ids = all.map((e) => e.ID);
    assert.deepEqual(
      [...ids].sort((a, b) => b - a),
      ids,
    );
    const page1 = await rows('?limit=4');
    assert.deepEqual(
      page1.map((e) => e.ID),
      ids.slice(0, 4),
    );
    const page2 = await rows(`?limit=4&beforeID=${page1[3]?.ID}`);
    assert.deepEqual(
      page2.map((e) => e.ID),
      ids.slice(4, 8),
    );
    const bad = await f.request('GET', '/api/auditevents?limit=0');
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'VALIDATION_FAILED');
  });

  test('a read-only key may read the log; its refused writes leave no row', async () => {
    const before = (await rows()).length;
    const w = await f.request('POST', '/api/policies', { name: 'Nope' }, { key: f.keys.readOnly });
    assert.equal(w.status, 403);
    const r = await f.request('GET', '/api/auditevents', undefined, { key: f.keys.readOnly });
    assert.equal(r.status, 200);
    assert.equal(r.json<ApiViews['AuditList']>().auditEvents.length, before);
  });
});
