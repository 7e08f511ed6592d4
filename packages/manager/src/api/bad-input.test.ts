import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import type { ApiViews } from './api-views.js';

const FIREWALL = 'firewallSettingState';
const DIRECTION = 'platformSettingAgentCommunicationsDirection';

describe('bad input and read-only keys: a 4xx with a reason, and nothing written', () => {
  let f: ApiFixture;
  let sub = 0;
  let leaf = 0;
  let linux = 0;
  let mac = 0;

  /** Everything a change could touch, as the API and the store show it. */
  const snapshot = async () => ({
    policies: (await f.request('GET', '/api/policies?overrides=true')).json<ApiViews['PolicyList']>(),
    effective: (await f.request('GET', '/api/policies')).json<ApiViews['PolicyList']>(),
    computers: (await f.request('GET', '/api/computers?overrides=true'))
      .json<ApiViews['ComputerList']>()
      .computers.map((c) => ({
        ...c,
        lastAgentCommunication: null,
      })),
    audit: (await f.request('GET', '/api/auditevents?limit=1000')).json<ApiViews['AuditList']>(),
    policyRows: await f.store.policies.list(),
    policyOverrides: [...(await f.store.policies.overrides())],
    computerRows: await f.store.computers.list(),
    computerOverrides: [...(await f.store.computers.overridesByComputer())],
  });

  before(async () => {
    f = await startApiFixture();
    sub = (
      await f.request('POST', '/api/policies', { name: 'Sub', policySettings: { [FIREWALL]: { value: 'Off' } } })
    ).json<ApiViews['Policy']>().ID;
    leaf = (await f.request('POST', '/api/policies', { name: 'Leaf', parentID: sub })).json<ApiViews['Policy']>().ID;
    linux = (await f.addComputer({ hostName: 'linux-1', policyId: leaf })).id;
    mac = (await f.addComputer({ hostName: 'mac-1', platform: 'darwin', policyId: leaf })).id;
    await f.request('POST', `/api/computers/${linux}/settings/${DIRECTION}`, { value: 'Bidirectional' });
  });
  after(() => f.close());

  // Paths and bodies naming IDs are functions: the IDs exist only once `before` has run.
  type Case = [
    name: string,
    method: string,
    path: () => string,
    body: unknown,
    status: number,
    code: string,
    key?: 'readOnly' | 'none',
  ];
  const cases: Case[] = [
    [
      'unknown setting name in the path',
      'POST',
      () => `/api/policies/${sub}/settings/firewallSettingStat`,
      { value: 'On' },
      404,
      'SETTING_NOT_FOUND',
    ],
    [
      'unknown setting name to reset',
      'DELETE',
      () => `/api/computers/${linux}/settings/nope`,
      undefined,
      404,
      'SETTING_NOT_FOUND',
    ],
    [
      'unknown setting name to read',
      'GET',
      () => `/api/policies/${sub}/settings/nope`,
      undefined,
      404,
      'SETTING_NOT_FOUND',
    ],
    [
      'unknown setting name in a body, beside a valid one',
      'POST',
      () => `/api/policies/${sub}`,
      { policySettings: { [DIRECTION]: { value: 'Bidirectional' }, nope: { value: 'x' } } },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a value not in the list',
      'POST',
      () => `/api/policies/${sub}/settings/${FIREWALL}`,
      { value: 'Maybe' },
      400,
      'SETTING_VALUE_INVALID',
    ],
    [
      'a value of the wrong case',
      'POST',
      () => `/api/policies/${sub}/settings/${DIRECTION}`,
      { value: 'bidirectional' },
      400,
      'SETTING_VALUE_INVALID',
    ],
    [
      'minutes out of range',
      'POST',
      () => `/api/policies/1/settings/platformSettingHeartbeatLocalTimeShiftAlertThreshold`,
      { value: '0' },
      400,
      'SETTING_VALUE_INVALID',
    ],
    [
      'a number where a string belongs',
      'POST',
      () => `/api/policies/${sub}/settings/${FIREWALL}`,
      { value: 1 },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a boolean where a string belongs',
      'POST',
      () => `/api/policies/${sub}/settings/platformSettingHeartbeatInactiveVmOfflineAlertEnabled`,
      { value: true },
      400,
      'VALIDATION_FAILED',
    ],
    ['a missing value', 'POST', () => `/api/policies/${sub}/settings/${FIREWALL}`, {}, 400, 'VALIDATION_FAILED'],
    [
      'a bare string body',
      'POST',
      () => `/api/policies/${sub}/settings/${FIREWALL}`,
      '"Off"',
      400,
      'VALIDATION_FAILED',
    ],
    ['malformed JSON', 'POST', () => `/api/policies/${sub}`, '{"name": ', 400, 'INVALID_JSON'],
    ['an unknown member', 'POST', () => `/api/policies/${sub}`, { name: 'x', colour: 'red' }, 400, 'VALIDATION_FAILED'],
    [
      'a valid write then an invalid one in one body',
      'POST',
      () => `/api/policies/${sub}`,
      { name: 'Renamed', policySettings: { [DIRECTION]: { value: 'Bidirectional' }, [FIREWALL]: { value: 'Maybe' } } },
      400,
      'SETTING_VALUE_INVALID',
    ],
    [
      'a valid policy change then a macOS direction',
      'POST',
      () => `/api/computers/${mac}`,
      () => ({ policyID: sub, computerSettings: { [DIRECTION]: { value: 'Bidirectional' } } }),
      400,
      'SETTING_NOT_SUPPORTED_ON_PLATFORM',
    ],
    [
      'a read-only setting with a valid move',
      'POST',
      () => `/api/policies/${leaf}`,
      { parentID: 1, policySettings: { platformSettingHeartbeatInterval: { value: '10 Minutes' } } },
      400,
      'SETTING_READ_ONLY',
    ],
    [
      'Inherited on the Base Policy',
      'DELETE',
      () => `/api/policies/1/settings/${FIREWALL}`,
      undefined,
      400,
      'BASE_POLICY_SETTING_REQUIRED',
    ],
    [
      'null on the Base Policy in a body',
      'POST',
      () => '/api/policies/1',
      { policySettings: { [FIREWALL]: { value: null } } },
      400,
      'BASE_POLICY_SETTING_REQUIRED',
    ],
    ['an unknown policy ID', 'GET', () => '/api/policies/999', undefined, 404, 'POLICY_NOT_FOUND'],
    [
      'a write to an unknown policy',
      'POST',
      () => `/api/policies/999/settings/${FIREWALL}`,
      { value: 'On' },
      404,
      'POLICY_NOT_FOUND',
    ],
    [
      'an unknown computer ID',
      'POST',
      () => `/api/computers/999/settings/${FIREWALL}`,
      { value: 'On' },
      404,
      'COMPUTER_NOT_FOUND',
    ],
    ['deactivating an unknown computer', 'DELETE', () => '/api/computers/999', undefined, 404, 'COMPUTER_NOT_FOUND'],
    // A word where an ID goes names no resource: 404 like an unknown route, not a malformed ID.
    ['a non-numeric ID', 'GET', () => '/api/policies/abc', undefined, 404, 'NOT_FOUND'],
    ['a word where an ID goes', 'GET', () => '/api/computers/search', undefined, 404, 'NOT_FOUND'],
    [
      'an unknown parentID',
      'POST',
      () => '/api/policies',
      { name: 'Orphan', parentID: 999 },
      400,
      'POLICY_REFERENCE_UNKNOWN',
    ],
    ['a string parentID', 'POST', () => '/api/policies', { name: 'Orphan', parentID: '1' }, 400, 'VALIDATION_FAILED'],
    [
      'parentID null on create',
      'POST',
      () => '/api/policies',
      { name: 'Root 2', parentID: null },
      400,
      'POLICY_PARENT_REQUIRED',
    ],
    [
      'a move under a descendant',
      'POST',
      () => `/api/policies/${sub}`,
      () => ({ parentID: leaf }),
      400,
      'POLICY_CYCLE',
    ],
    [
      'an unknown policyID for a computer',
      'POST',
      () => `/api/computers/${linux}`,
      { policyID: 999 },
      400,
      'POLICY_REFERENCE_UNKNOWN',
    ],
    ['a taken name', 'POST', () => `/api/policies/${leaf}`, { name: 'Sub' }, 409, 'POLICY_NAME_TAKEN'],
    ['an empty name', 'POST', () => '/api/policies', { name: '' }, 400, 'VALIDATION_FAILED'],
    ['a name with a control character', 'POST', () => '/api/policies', { name: 'a\u0007b' }, 400, 'VALIDATION_FAILED'],
    ['deleting a policy with children', 'DELETE', () => `/api/policies/${sub}`, undefined, 409, 'POLICY_HAS_CHILDREN'],
    ['deleting a policy in use', 'DELETE', () => `/api/policies/${leaf}`, undefined, 409, 'POLICY_IN_USE'],
    ['deleting the Base Policy', 'DELETE', () => '/api/policies/1', undefined, 400, 'BASE_POLICY_FIXED'],
    [
      'an unsupported api-version',
      'POST',
      () => `/api/policies/${sub}/settings/${FIREWALL}`,
      { value: 'On' },
      400,
      'API_VERSION_UNSUPPORTED',
    ],
    [
      'no API key',
      'POST',
      () => `/api/policies/${sub}/settings/${FIREWALL}`,
      { value: 'On' },
      401,
      'API_KEY_REQUIRED',
      'none',
    ],
    [
      'a read-only key: override',
      'POST',
      () => `/api/policies/${sub}/settings/${FIREWALL}`,
      { value: 'On' },
      403,
      'READ_ONLY_API_KEY',
      'readOnly',
    ],
    [
      'a read-only key: reset',
      'DELETE',
      () => `/api/policies/${sub}/settings/${FIREWALL}`,
      undefined,
      403,
      'READ_ONLY_API_KEY',
      'readOnly',
    ],
    ['a read-only key: create', 'POST', () => '/api/policies', { name: 'Nope' }, 403, 'READ_ONLY_API_KEY', 'readOnly'],
    [
      'a read-only key: modify policy',
      'POST',
      () => `/api/policies/${sub}`,
      { name: 'Nope' },
      403,
      'READ_ONLY_API_KEY',
      'readOnly',
    ],
    [
      'a read-only key: delete policy',
      'DELETE',
      () => `/api/policies/${leaf}`,
      undefined,
      403,
      'READ_ONLY_API_KEY',
      'readOnly',
    ],
    [
      'a read-only key: computer policy',
      'POST',
      () => `/api/computers/${linux}`,
      { policyID: 1 },
      403,
      'READ_ONLY_API_KEY',
      'readOnly',
    ],
    [
      'a read-only key: computer setting',
      'POST',
      () => `/api/computers/${linux}/settings/${FIREWALL}`,
      { value: 'Off' },
      403,
      'READ_ONLY_API_KEY',
      'readOnly',
    ],
    [
      'a read-only key: deactivate',
      'DELETE',
      () => `/api/computers/${linux}`,
      undefined,
      403,
      'READ_ONLY_API_KEY',
      'readOnly',
    ],
  ];

  for (const [name, method, path, body, status, code, key] of cases) {
    test(`${name} → ${status} ${code}, data unchanged`, async () => {
      const before = await snapshot();
      const r = await f.request(method, path(), typeof body === 'function' ? (body as () => unknown)() : body, {
        ...(key === 'readOnly' ? { key: f.keys.readOnly } : key === 'none' ? { key: null } : {}),
        ...(code === 'API_VERSION_UNSUPPORTED' ? { headers: { 'api-version': 'v2' } } : {}),
      });
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(errorOf(r).code, code);
      assert.ok(errorOf(r).message.length > 20, 'a reason is given');
      // Deep Security's error shape: the reason at the top level, where its SDKs read it.
      assert.equal(r.json<ApiViews['Error']>().message, errorOf(r).message);
      assert.deepEqual(await snapshot(), before);
    });
  }

  test('a read-only key still reads everything', async () => {
    for (const path of [
      '/api/policies',
      `/api/policies/${sub}?overrides=true`,
      `/api/policies/${sub}/settings/${FIREWALL}`,
      '/api/computers',
      `/api/computers/${linux}`,
      `/api/computers/${linux}/settings/${DIRECTION}`,
      '/api/settings',
      '/api/auditevents',
    ]) {
      const r = await f.request('GET', path, undefined, { key: f.keys.readOnly });
      assert.equal(r.status, 200, path);
    }
  });

  test('the same requests with a full-access key and good values do change things (the cases above fail for their reason)', async () => {
    const before = await snapshot();
    assert.equal((await f.request('POST', `/api/policies/${sub}/settings/${FIREWALL}`, { value: 'On' })).status, 200);
    assert.equal(
      (
        await f.request('POST', `/api/policies/${sub}`, {
          name: 'Renamed',
          policySettings: { [DIRECTION]: { value: 'Bidirectional' } },
        })
      ).status,
      200,
    );
    assert.equal((await f.request('POST', `/api/computers/${mac}`, { policyID: sub })).status, 200);
    assert.notDeepEqual(await snapshot(), before);
  });
});
