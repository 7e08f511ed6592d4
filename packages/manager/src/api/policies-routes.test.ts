import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import type { ApiViews } from './api-views.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const FIREWALL = 'firewallSettingState';
const TIME_SHIFT = 'platformSettingHeartbeatLocalTimeShiftAlertThreshold';
const INACTIVE_VM = 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled';
const INTERVAL = 'platformSettingHeartbeatInterval';

/** Only `value` and `source` of each setting, for compact assertions. */
function settings(obj: Record<string, { value: string | null; source?: string }>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(obj).map(([k, v]) => [k, v.source ? `${v.value} <${v.source}>` : String(v.value)]),
  );
}

describe('policies: inheritance across levels through the API', () => {
  let f: ApiFixture;
  let base: number;
  let a: number;
  let b: number;
  let c: number;
  let computer: number;

  before(async () => {
    f = await startApiFixture();
    base = (await f.request('GET', '/api/policies')).json<ApiViews['PolicyList']>().policies[0]!.ID;
    a = (await f.request('POST', '/api/policies', { name: 'A', description: 'level 1' })).json<ApiViews['Policy']>().ID;
    b = (await f.request('POST', '/api/policies', { name: 'B', parentID: a })).json<ApiViews['Policy']>().ID;
    c = (await f.request('POST', '/api/policies', { name: 'C', parentID: b })).json<ApiViews['Policy']>().ID;
    computer = (await f.addComputer({ hostName: 'web-1', policyId: c })).id;
  });
  after(() => f.close());

  test('a new policy goes under the Base Policy by default and inherits everything', async () => {
    const r = await f.request('GET', `/api/policies/${a}`);
    assert.equal(r.status, 200);
    assert.equal(r.json<ApiViews['Policy']>().parentID, base);
    assert.equal(r.json<ApiViews['Policy']>().name, 'A');
    assert.equal(r.json<ApiViews['Policy']>().description, 'level 1');
    assert.equal(r.json<ApiViews['Policy']>().policySettings[FIREWALL].value, 'On');
    assert.equal(r.json<ApiViews['Policy']>().policySettings[FIREWALL].source, 'base');
    assert.equal(r.json<ApiViews['Policy']>().policySettings[INTERVAL].source, 'fixed');
  });

  test('computer → C → B → A → Base Policy: each level overrides the one above; sources say which', async () => {
    const set = async (path: string, name: string, value: string) => {
      const r = await f.request('POST', `${path}/settings/${name}`, { value });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    assert.deepEqual(await set(`/api/policies/${base}`, TIME_SHIFT, '40'), { value: '40', source: 'base' });
    await set(`/api/policies/${a}`, TIME_SHIFT, '30');
    await set(`/api/policies/${a}`, DIRECTION, 'Bidirectional');
    await set(`/api/policies/${b}`, TIME_SHIFT, '20');
    await set(`/api/policies/${b}`, FIREWALL, 'Off');
    assert.deepEqual(await set(`/api/policies/${c}`, TIME_SHIFT, '10'), { value: '10', source: `policy:${c}` });
    assert.deepEqual(await set(`/api/computers/${computer}`, FIREWALL, 'On'), { value: 'On', source: 'computer' });

    const got = (await f.request('GET', `/api/computers/${computer}`)).json<ApiViews['Computer']>();
    assert.deepEqual(settings(got.computerSettings), {
      [DIRECTION]: `Bidirectional <policy:${a}>`,
      platformSettingAgentListeningPort: '4118 <base>',
      [INTERVAL]: '10 Minutes <fixed>',
      platformSettingHeartbeatMissedAlertThreshold: '2 <fixed>',
      [INACTIVE_VM]: 'false <base>',
      [TIME_SHIFT]: `10 <policy:${c}>`,
      [FIREWALL]: 'On <computer>',
    });
    // The same on the single-setting route.
    assert.deepEqual(
      (await f.request('GET', `/api/computers/${computer}/settings/${DIRECTION}`)).json<ApiViews['SettingValue']>(),
      {
        value: 'Bidirectional',
        source: `policy:${a}`,
      },
    );
    assert.deepEqual(
      (await f.request('GET', `/api/policies/${c}/settings/${FIREWALL}`)).json<ApiViews['SettingValue']>(),
      {
        value: 'Off',
        source: `policy:${b}`,
      },
    );
  });

  test('?overrides=true shows only what each object itself holds, the rest {"value": null}', async () => {
    const pc = (await f.request('GET', `/api/policies/${c}?overrides=true`)).json<ApiViews['Policy']>();
    assert.deepEqual(settings(pc.policySettings), {
      [DIRECTION]: 'null',
      platformSettingAgentListeningPort: 'null',
      [INTERVAL]: 'null',
      platformSettingHeartbeatMissedAlertThreshold: 'null',
      [INACTIVE_VM]: 'null',
      [TIME_SHIFT]: '10',
      [FIREWALL]: 'null',
    });
    const comp = (await f.request('GET', `/api/computers/${computer}?overrides=true`)).json<ApiViews['Computer']>();
    assert.deepEqual(comp.computerSettings[FIREWALL], { value: 'On' });
    assert.deepEqual(comp.computerSettings[TIME_SHIFT], { value: null });
    assert.deepEqual(
      (await f.request('GET', `/api/policies/${b}/settings/${DIRECTION}?overrides=true`)).json<
        ApiViews['SettingValue']
      >(),
      {
        value: null,
      },
    );
    // The Base Policy inherits nothing: every setting has its own value there.
    const pb = (await f.request('GET', `/api/policies/${base}?overrides=true`)).json<ApiViews['Policy']>();
    assert.equal(pb.policySettings[TIME_SHIFT].value, '40');
    assert.equal(pb.policySettings[FIREWALL].value, 'On');
    assert.equal(pb.policySettings[INTERVAL].value, '10 Minutes');
    // The list honours it too.
    const list = (await f.request('GET', '/api/policies?overrides=true')).json<ApiViews['PolicyList']>().policies;
    assert.deepEqual(list.find((p) => p.ID === c)?.policySettings[TIME_SHIFT], { value: '10' });
    const computers = (await f.request('GET', '/api/computers?overrides=true')).json<ApiViews['ComputerList']>()
      .computers;
    assert.deepEqual(computers[0]?.computerSettings[DIRECTION], { value: null });
  });

  test('removing overrides walks back up one level at a time', async () => {
    const reset = async (path: string, name: string) => {
      const r = await f.request('DELETE', `${path}/settings/${name}`);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body;
    };
    assert.deepEqual(await reset(`/api/computers/${computer}`, FIREWALL), { value: 'Off', source: `policy:${b}` });
    assert.deepEqual(await reset(`/api/policies/${c}`, TIME_SHIFT), { value: '20', source: `policy:${b}` });
    assert.deepEqual(await reset(`/api/policies/${b}`, TIME_SHIFT), { value: '30', source: `policy:${a}` });
    assert.deepEqual(await reset(`/api/policies/${a}`, TIME_SHIFT), { value: '40', source: 'base' });
    // Resetting what is already Inherited changes nothing and is not an error.
    assert.deepEqual(await reset(`/api/policies/${a}`, TIME_SHIFT), { value: '40', source: 'base' });
    const comp = (await f.request('GET', `/api/computers/${computer}`)).json<ApiViews['Computer']>();
    assert.equal(comp.computerSettings[TIME_SHIFT].value, '40');
    assert.equal(comp.computerSettings[FIREWALL].value, 'Off');
  });

  test('a value written as null in a modify body returns it to Inherited, like DELETE', async () => {
    await f.request('POST', `/api/policies/${c}`, { policySettings: { [INACTIVE_VM]: { value: 'true' } } });
    assert.equal(
      (await f.request('GET', `/api/computers/${computer}/settings/${INACTIVE_VM}`)).json<ApiViews['SettingValue']>()
        .value,
      'true',
    );
    const r = await f.request('POST', `/api/policies/${c}`, { policySettings: { [INACTIVE_VM]: { value: null } } });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json<ApiViews['Policy']>().policySettings[INACTIVE_VM], { value: 'false', source: 'base' });
  });

  test('moving a policy re-resolves its subtree at once; a cycle or moving the Base Policy is refused', async () => {
    // C under A directly: it no longer gets B's firewall Off.
    const moved = await f.request('POST', `/api/policies/${c}`, { parentID: a });
    assert.equal(moved.status, 200);
    assert.equal(moved.json<ApiViews['Policy']>().parentID, a);
    assert.deepEqual(moved.json<ApiViews['Policy']>().policySettings[FIREWALL], { value: 'On', source: 'base' });
    assert.equal(
      (await f.request('GET', `/api/computers/${computer}`)).json<ApiViews['Computer']>().computerSettings[FIREWALL]
        .value,
      'On',
    );

    const cycle = await f.request('POST', `/api/policies/${a}`, { parentID: c });
    assert.equal(cycle.status, 400);
    assert.equal(errorOf(cycle).code, 'POLICY_CYCLE');
    assert.match(errorOf(cycle).message, /descendants/);
    const self = await f.request('POST', `/api/policies/${a}`, { parentID: a });
    assert.equal(errorOf(self).code, 'POLICY_CYCLE');
    const baseMove = await f.request('POST', `/api/policies/${base}`, { parentID: a });
    assert.equal(baseMove.status, 400);
    assert.equal(errorOf(baseMove).code, 'BASE_POLICY_FIXED');
    const orphan = await f.request('POST', `/api/policies/${a}`, { parentID: null });
    assert.equal(errorOf(orphan).code, 'POLICY_PARENT_REQUIRED');
    // Sending the current parent back is a no-op, also for the Base Policy's null.
    assert.equal((await f.request('POST', `/api/policies/${base}`, { parentID: null })).status, 200);
    assert.equal((await f.request('POST', `/api/policies/${c}`, { parentID: a })).status, 200);
    // Put C back for the next tests.
    assert.equal((await f.request('POST', `/api/policies/${c}`, { parentID: b })).status, 200);
  });

  test("changing a computer's policy re-resolves it at once; an unknown policy is refused", async () => {
    const r = await f.request('POST', `/api/computers/${computer}`, { policyID: a });
    assert.equal(r.status, 200);
    assert.equal(r.json<ApiViews['Computer']>().policyID, a);
    assert.equal(r.json<ApiViews['Computer']>().computerSettings[FIREWALL].value, 'On');
    const back = await f.request('POST', `/api/computers/${computer}`, {
      policyID: c,
      computerSettings: { [TIME_SHIFT]: { value: '5' } },
    });
    assert.equal(back.json<ApiViews['Computer']>().policyID, c);
    assert.equal(back.json<ApiViews['Computer']>().computerSettings[FIREWALL].value, 'Off');
    assert.deepEqual(back.json<ApiViews['Computer']>().computerSettings[TIME_SHIFT], {
      value: '5',
      source: 'computer',
    });
    const bad = await f.request('POST', `/api/computers/${computer}`, { policyID: 999 });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'POLICY_REFERENCE_UNKNOWN');
  });

  test('rename and describe; names stay unique and clean', async () => {
    const r = await f.request('POST', `/api/policies/${b}`, { name: 'B renamed', description: 'web tier' });
    assert.equal(r.status, 200);
    assert.equal(r.json<ApiViews['Policy']>().name, 'B renamed');
    assert.equal(r.json<ApiViews['Policy']>().description, 'web tier');
    const taken = await f.request('POST', `/api/policies/${b}`, { name: 'A' });
    assert.equal(taken.status, 409);
    assert.equal(errorOf(taken).code, 'POLICY_NAME_TAKEN');
    const dup = await f.request('POST', '/api/policies', { name: 'Base Policy' });
    assert.equal(errorOf(dup).code, 'POLICY_NAME_TAKEN');
    const blank = await f.request('POST', '/api/policies', { name: ' padded ' });
    assert.equal(blank.status, 400);
    assert.equal(errorOf(blank).code, 'VALIDATION_FAILED');
    assert.match(errorOf(blank).message, /white space/);
  });
});

describe('policies: deleting', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture();
  });
  after(() => f.close());

  test('the Base Policy, a policy with children and a policy in use (naming the computers) are refused', async () => {
    const parent = (await f.request('POST', '/api/policies', { name: 'Parent' })).json<ApiViews['Policy']>().ID;
    const child = (await f.request('POST', '/api/policies', { name: 'Child', parentID: parent })).json<
      ApiViews['Policy']
    >().ID;
    const web = await f.addComputer({ hostName: 'web-1', policyId: child });
    const db = await f.addComputer({ hostName: 'db-1', policyId: child });
    await f.store.computers.deactivate(db.id, Date.now());

    const baseDel = await f.request('DELETE', '/api/policies/1');
    assert.equal(baseDel.status, 400);
    assert.equal(errorOf(baseDel).code, 'BASE_POLICY_FIXED');

    const withKids = await f.request('DELETE', `/api/policies/${parent}`);
    assert.equal(withKids.status, 409);
    assert.equal(errorOf(withKids).code, 'POLICY_HAS_CHILDREN');
    assert.match(errorOf(withKids).message, new RegExp(`\\(${child}\\)`));

    const inUse = await f.request('DELETE', `/api/policies/${child}`);
    assert.equal(inUse.status, 409);
    assert.equal(errorOf(inUse).code, 'POLICY_IN_USE');
    assert.match(
      errorOf(inUse).message,
      new RegExp(`computers ${web.id} \\(web-1\\), ${db.id} \\(db-1, deactivated\\)`),
    );

    // Free it: even a deactivated computer can be given another policy.
    for (const id of [web.id, db.id])
      assert.equal((await f.request('POST', `/api/computers/${id}`, { policyID: parent })).status, 200);
    await f.store.activationTokens.create({
      tokenHash: 'x'.repeat(64),
      policyId: child,
      maxUses: null,
      expiresAt: null,
      now: Date.now(),
    });
    const del = await f.request('DELETE', `/api/policies/${child}`);
    assert.equal(del.status, 204);
    assert.equal((await f.request('GET', `/api/policies/${child}`)).status, 404);
    assert.equal(
      (await f.store.activationTokens.check('x'.repeat(64), Date.now())).ok,
      false,
      'its activation tokens went with it',
    );
    const again = await f.request('DELETE', `/api/policies/${child}`);
    assert.equal(again.status, 404);
    assert.equal(errorOf(again).code, 'POLICY_NOT_FOUND');
  });
});

describe('settings: read-only, macOS and the catalog', () => {
  let f: ApiFixture;
  let linux: number;
  let mac: number;
  let policy: number;
  before(async () => {
    f = await startApiFixture();
    policy = (await f.request('POST', '/api/policies', { name: 'Servers' })).json<ApiViews['Policy']>().ID;
    linux = (await f.addComputer({ hostName: 'linux-1', platform: 'linux', policyId: policy })).id;
    mac = (await f.addComputer({ hostName: 'mac-1', platform: 'darwin', policyId: policy })).id;
  });
  after(() => f.close());

  test('read-only settings are shown but every write is refused, on policies and computers alike', async () => {
    assert.deepEqual(
      (await f.request('GET', `/api/policies/1/settings/${INTERVAL}`)).json<ApiViews['SettingValue']>(),
      {
        value: '10 Minutes',
        source: 'fixed',
      },
    );
    for (const [method, path, body] of [
      ['POST', `/api/policies/1/settings/${INTERVAL}`, { value: '5 Minutes' }],
      ['POST', `/api/policies/1/settings/${INTERVAL}`, { value: '10 Minutes' }],
      ['DELETE', `/api/policies/${policy}/settings/${INTERVAL}`, undefined],
      ['POST', `/api/computers/${linux}/settings/platformSettingHeartbeatMissedAlertThreshold`, { value: '5' }],
      [
        'POST',
        `/api/policies/${policy}`,
        { policySettings: { platformSettingHeartbeatMissedAlertThreshold: { value: '2' } } },
      ],
    ] as const) {
      const r = await f.request(method, path, body);
      assert.equal(r.status, 400, `${method} ${path}`);
      assert.equal(errorOf(r).code, 'SETTING_READ_ONLY');
      assert.match(errorOf(r).message, /read-only/);
    }
  });

  test('macOS: a direction other than agent-initiated is refused on the computer; a policy may hold one', async () => {
    const refused = await f.request('POST', `/api/computers/${mac}/settings/${DIRECTION}`, { value: 'Bidirectional' });
    assert.equal(refused.status, 400);
    assert.equal(errorOf(refused).code, 'SETTING_NOT_SUPPORTED_ON_PLATFORM');
    assert.match(errorOf(refused).message, /macOS/);
    const viaModify = await f.request('POST', `/api/computers/${mac}`, {
      computerSettings: { [DIRECTION]: { value: 'Manager Initiated' } },
    });
    assert.equal(errorOf(viaModify).code, 'SETTING_NOT_SUPPORTED_ON_PLATFORM');
    assert.equal(
      (await f.request('POST', `/api/computers/${mac}/settings/${DIRECTION}`, { value: 'Agent/Appliance Initiated' }))
        .status,
      200,
    );
    assert.equal((await f.request('DELETE', `/api/computers/${mac}/settings/${DIRECTION}`)).status, 200);

    // The policy goes Bidirectional: its Linux computer follows, the Mac stays agent-initiated.
    assert.equal(
      (await f.request('POST', `/api/policies/${policy}/settings/${DIRECTION}`, { value: 'Bidirectional' })).status,
      200,
    );
    assert.deepEqual(
      (await f.request('GET', `/api/computers/${linux}/settings/${DIRECTION}`)).json<ApiViews['SettingValue']>(),
      {
        value: 'Bidirectional',
        source: `policy:${policy}`,
      },
    );
    assert.deepEqual(
      (await f.request('GET', `/api/computers/${mac}/settings/${DIRECTION}`)).json<ApiViews['SettingValue']>(),
      {
        value: 'Agent/Appliance Initiated',
        source: 'platform',
      },
    );
    // The same direction is fine on the Linux computer.
    assert.equal(
      (await f.request('POST', `/api/computers/${linux}/settings/${DIRECTION}`, { value: 'Manager Initiated' })).status,
      200,
    );
  });

  test('GET /api/settings lists names, labels, sections, values, defaults and read-only flags', async () => {
    const r = await f.request('GET', '/api/settings');
    assert.equal(r.status, 200);
    const byName = new Map(r.json<ApiViews['SettingsCatalog']>().settings.map((s) => [s.name, s]));
    assert.deepEqual(byName.get(DIRECTION), {
      name: DIRECTION,
      label: 'Direction of Workload Security Manager to Agent/Appliance communication',
      section: 'Settings > General > Communication Direction',
      type: 'choice',
      values: ['Bidirectional', 'Manager Initiated', 'Agent/Appliance Initiated'],
      default: 'Agent/Appliance Initiated',
      readOnly: false,
      agentUses: true,
    });
    assert.equal(byName.get(INTERVAL)?.readOnly, true);
    assert.equal(byName.get(TIME_SHIFT)?.type, 'minutes-or-unlimited');
    assert.deepEqual(byName.get('platformSettingAgentListeningPort'), {
      name: 'platformSettingAgentListeningPort',
      label: 'Agent listening port',
      section: 'Settings > General > Communication Direction',
      type: 'port',
      values: [],
      default: '4118',
      readOnly: false,
      agentUses: true,
    });
    assert.equal(byName.size, 7);
  });
});
