import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TLS_POLICY_SETTING } from '../agent-endpoint/agent-endpoint-tls.js';
import { SystemSettingsRegistry } from '../services/system-settings-registry.js';
import { AGENT_TLS_POLICY_SYSTEM_SETTING, SystemSettingsService } from '../services/system-settings-service.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';

type Settings = Record<string, { value: string }>;
const TLS = AGENT_TLS_POLICY_SYSTEM_SETTING;

describe('/api/systemsettings: the registry of manager-wide settings', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture();
  });
  after(() => f.close());

  test("list, describe, modify and reset in Deep Security's shape; a custom setting writes through its owner", async () => {
    const all = await f.request('GET', '/api/systemsettings');
    assert.equal(all.status, 200);
    assert.deepEqual(all.json<Settings>()[TLS], { value: 'modern' });

    const one = await f.request('POST', `/api/systemsettings/${TLS}`, { value: 'compatible' });
    assert.deepEqual([one.status, one.body], [200, { value: 'compatible' }]);
    // The TLS policy's own route sees it: one value, two ways to it.
    assert.equal((await f.request('GET', '/api/tls/policy')).json<{ value: string }>().value, 'compatible');
    const audit = (await f.store.audit.list({ limit: 5 })).filter((e) => e.setting === TLS_POLICY_SETTING);
    assert.equal(audit[0]?.newValue, 'compatible');
    assert.deepEqual((await f.request('GET', `/api/systemsettings/${TLS}`)).body, { value: 'compatible' });

    // What GET returned, sent back: nothing changes, and nothing is audited.
    const before = (await f.store.audit.list({ limit: 1 }))[0]?.id;
    const echo = await f.request('POST', '/api/systemsettings', (await f.request('GET', '/api/systemsettings')).body);
    assert.equal(echo.status, 200);
    assert.deepEqual(echo.json<Settings>()[TLS], { value: 'compatible' });
    assert.equal((await f.store.audit.list({ limit: 1 }))[0]?.id, before);

    const reset = await f.request('DELETE', `/api/systemsettings/${TLS}`);
    assert.deepEqual([reset.status, reset.body], [200, { value: 'modern' }]);
  });

  test('refusals: a value not taken, a name not registered, a member not known, a read-only key', async () => {
    const bad = await f.request('POST', `/api/systemsettings/${TLS}`, { value: 'ancient' });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'SYSTEM_SETTING_VALUE_INVALID');
    assert.match(errorOf(bad).message, /"ancient" is not one of "modern", "compatible", "legacy"/);

    const unknown = await f.request('GET', '/api/systemsettings/platformSettingNoSuchThing');
    assert.equal(unknown.status, 400);
    assert.equal(errorOf(unknown).code, 'SYSTEM_SETTING_NAME_UNKNOWN');
    assert.match(errorOf(unknown).message, new RegExp(`platformSettingNoSuchThing.*${TLS}`));
    assert.equal(errorOf(unknown).message, unknown.json<{ message: string }>().message);
    const write = await f.request('POST', '/api/systemsettings/platformSettingNoSuchThing', { value: '1' });
    assert.deepEqual([write.status, errorOf(write).code], [400, 'SYSTEM_SETTING_NAME_UNKNOWN']);
    assert.equal((await f.request('DELETE', '/api/systemsettings/platformSettingNoSuchThing')).status, 400);

    // Several at once with one unknown: refused whole, the known one not written either.
    const before = (await f.request('GET', '/api/systemsettings')).body;
    const member = await f.request('POST', '/api/systemsettings', {
      [TLS]: { value: 'legacy' },
      platformSettingNoSuchThing: { value: '1' },
    });
    assert.deepEqual([member.status, errorOf(member).code], [400, 'SYSTEM_SETTING_NAME_UNKNOWN']);
    assert.match(errorOf(member).message, /platformSettingNoSuchThing/);
    assert.deepEqual((await f.request('GET', '/api/systemsettings')).body, before);
    assert.equal(await f.store.systemSettings.get('platformSettingNoSuchThing'), null);
    const shape = await f.request('POST', '/api/systemsettings', { [TLS]: 'legacy' });
    assert.deepEqual([shape.status, errorOf(shape).code], [400, 'VALIDATION_FAILED'], 'a bare string, not {"value"}');

    const ro = await f.request('POST', `/api/systemsettings/${TLS}`, { value: 'legacy' }, { key: f.keys.readOnly });
    assert.equal(ro.status, 403);
    assert.equal((await f.request('GET', '/api/systemsettings', undefined, { key: f.keys.readOnly })).status, 200);
  });

  test('stored settings: checked all together, written in one transaction with their audit rows, reset by null', async () => {
    const registry = new SystemSettingsRegistry();
    const [a, b] = ['palisadeSettingTestA', 'palisadeSettingTestB'];
    registry.register({ name: a, description: 'A', default: 'true', values: ['true', 'false'] });
    registry.register({
      name: b,
      description: 'B',
      default: '10',
      check: (v) => (/^[0-9]+$/.test(v) ? null : 'not a number'),
    });
    assert.throws(() => registry.register({ name: a, description: 'again', default: 'true' }), /registered twice/);
    assert.throws(() => registry.register({ name: 'agentTlsPolicy', description: 'internal', default: 'x' }), /names/);
    assert.throws(
      () => registry.register({ name: 'palisadeSettingTestC', description: 'C', default: 'x', values: ['y'] }),
      /default/,
    );
    const settings = new SystemSettingsService(f.store, registry);
    assert.deepEqual(await settings.list(), { [a]: 'true', [b]: '10' });

    await assert.rejects(settings.write({ [a]: 'false', [b]: 'ten' }, 'test'), /TestB: not a number/);
    assert.deepEqual(await settings.list(), { [a]: 'true', [b]: '10' }, 'nothing written when one is refused');

    await settings.write({ [a]: 'false', [b]: '20' }, 'test');
    assert.deepEqual(await settings.list(), { [a]: 'false', [b]: '20' });
    const rows = await f.store.audit.list({ limit: 2 });
    assert.deepEqual(rows.map((r) => [r.setting, r.oldValue, r.newValue]).sort(), [
      [a, 'true', 'false'],
      [b, '10', '20'],
    ]);
    await settings.write({ [b]: null }, 'test');
    assert.equal(await settings.get(b), '10');
    await assert.rejects(settings.get('palisadeSettingTestZ'), /SYSTEM_SETTING_NAME_UNKNOWN|not a system setting/);
  });
});
