import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { heartbeat, type StateDir } from '@palisade/agent';
import type { SecurityConfiguration } from '@palisade/core';
import type { ApiViews as V } from '@palisade/manager';
import { MANAGER_BIN, runCli } from './cli.js';
import { activateTestAgent, type JsonReply, startTestManager, type TestManager } from './harness.js';

/**
 * Deep Security API compatibility (docs/deep-security-api.md), against a real manager over HTTPS:
 * requests written the way Deep Security's API reference, SDKs and automation modules write them
 * (api-version v1, `api-secret-key`, its member names and enum values), and the responses those
 * clients read. Each test names the Deep Security idiom it covers.
 */
describe('Deep Security API compatibility', () => {
  let m: TestManager;
  const V1 = { 'api-version': 'v1' };
  const api = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    m.api(method, path, body, { ...V1, ...headers });
  const ok = async <T>(method: string, path: string, body?: unknown) => {
    const r = await api(method, path, body);
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.json<T>();
  };
  /** The error reply: Deep Security's top-level `message`, and Palisade's `error` with its code. */
  const failure = (r: JsonReply) => r.json<V['Error']>();
  const computers: Record<string, number> = {};
  const agents: Record<string, StateDir> = {};

  before(async () => {
    m = await startTestManager();
    for (const hostName of ['web-01.example.test', 'web-02.example.test', 'db_01.example.test']) {
      agents[hostName] = await activateTestAgent(m, { hostName });
    }
    for (const c of (await ok<V['ComputerList']>('GET', '/api/computers')).computers) computers[c.hostName] = c.ID;
  });
  after(() => m.close());

  test('errors carry a top-level message (what Deep Security clients print); unknown routes are 404', async () => {
    const noKey = await m.api('GET', '/api/computers', undefined, { 'api-secret-key': '' });
    assert.equal(noKey.status, 401);
    assert.equal(typeof failure(noKey).message, 'string');
    for (const path of ['/api/nosuchresource', '/api/computers/search', '/api/policies/abc']) {
      const r = await api('GET', path);
      assert.equal(r.status, 404, path);
      assert.equal(failure(r).error.code, 'NOT_FOUND');
      assert.match(failure(r).message, new RegExp(`GET ${path}`));
    }
    const bad = await api('POST', '/api/firewallrules', { name: 'x', action: 'permit' });
    assert.equal(bad.status, 400);
    assert.equal(failure(bad).message, failure(bad).error.message);
    assert.match(failure(bad).message, /action: "permit" is not one of/);
  });

  test('the legacy session login a client falls back to after a 401 gets a JSON reason, not HTML', async () => {
    const r = await m.api('POST', '/rest/authentication/login/primary', {
      dsCredentials: { userName: 'admin', password: 'x' },
    });
    assert.equal(r.status, 410);
    assert.equal(failure(r).error.code, 'LEGACY_API_NOT_PROVIDED');
    assert.match(failure(r).message, /api-secret-key/);
    assert.match(failure(r).error.message, /POST \/rest\/authentication\/login\/primary/);
  });

  test('managerinfo/components answers, so clients can check the API is there', async () => {
    const body = await ok<{ components: { name: string; version: string }[] }>('GET', '/api/managerinfo/components');
    assert.deepEqual(
      body.components.map((c) => c.name),
      ['manager', 'api', 'agentProtocol'],
    );
    assert.equal(body.components[1]?.version, 'v1');
  });

  // Ansible's trendmicro.deepsec firewall module and the SDKs send these shapes.
  const RULES: Record<string, unknown>[] = [
    {
      name: 'ds-compat deny telnet',
      description: 'incoming firewall rule',
      action: 'deny',
      priority: 0,
      direction: 'incoming',
      protocol: 'tcp',
      sourceIPType: 'any',
      destinationIPType: 'any',
      destinationPortType: 'multiple',
      destinationPortMultiple: ['23'],
      logDisabled: true,
    },
    {
      name: 'ds-compat admins',
      action: 'force-allow',
      priority: '3',
      direction: 'incoming',
      frameType: 'ipv4',
      protocol: 'tcp-udp',
      sourceIPType: 'masked-ip',
      sourceIPValue: '198.18.0.0',
      sourceIPMask: '255.255.255.0',
      destinationIPType: 'range',
      destinationIPRangeFrom: '198.18.1.1',
      destinationIPRangeTo: '198.18.1.9',
      sourcePortType: 'multiple',
      sourcePortMultiple: ['1024-65535'],
      sourceMACType: 'single',
      sourceMACValue: '02:00:00:00:00:01',
      scheduleID: 0,
      contextID: 0,
    },
    {
      name: 'ds-compat syn flood',
      action: 'log-only',
      priority: '4',
      protocol: 'tcp',
      tcpflags: ['syn'],
      anyFlags: false,
    },
    { name: 'ds-compat no ping', action: 'deny', protocol: 'icmp', ICMPType: 8, ICMPCode: 0, ICMPNot: false },
    { name: 'ds-compat gre', action: 'allow', frameType: 'ip', protocol: 'other', protocolNumber: 47 },
    {
      name: 'ds-compat not these',
      action: 'deny',
      direction: 'outgoing',
      frameType: 'ipv6',
      destinationIPType: 'multiple',
      destinationIPMultiple: ['2001:db8::/32', '2001:db8:1::1-2001:db8:1::9'],
      destinationIPNot: true,
    },
  ];

  test('firewall rules: create in Deep Security shapes; read, send back unchanged: nothing changes', async () => {
    const before = (await ok<V['AuditList']>('GET', '/api/auditevents?limit=1')).auditEvents[0]?.ID ?? 0;
    for (const body of RULES) {
      const created = await ok<V['Rule']>('POST', '/api/firewallrules', body);
      assert.equal(typeof created.ID, 'number');
      // Deep Security's defaults and spellings come back.
      assert.equal(typeof created.priority, 'string');
      assert.equal(created.frameType, body.frameType ?? 'ip');
      if (created.frameType === 'ip') assert.equal(created.frameNumber, 2048);
      const read = await ok<V['Rule']>('GET', `/api/firewallrules/${created.ID}`);
      assert.deepEqual(read, created);
      // The SDKs' modify: the whole object as read, ID included.
      const sentBack = await ok<V['Rule']>('POST', `/api/firewallrules/${created.ID}`, read);
      assert.deepEqual(sentBack, read);
      assert.deepEqual(await ok<V['Rule']>('GET', `/api/firewallrules/${created.ID}`), read);
    }
    const rows = (await ok<V['AuditList']>('GET', '/api/auditevents')).auditEvents.filter((e) => e.ID > before);
    assert.deepEqual(
      rows.map((e) => e.action),
      RULES.map(() => 'firewallRule.create'),
      'sending a rule back wrote nothing',
    );
  });

  test('firewall rules: modify merges, switching a type drops its old values; Deep Security values round-trip', async () => {
    const rule = (
      await ok<V['RuleList']>('POST', '/api/firewallrules/search', {
        searchCriteria: [{ fieldName: 'name', stringTest: 'equal', stringValue: 'ds-compat admins' }],
      })
    ).firewallRules[0]!;
    const changed = await ok<V['Rule']>('POST', `/api/firewallrules/${rule.ID}`, {
      sourceIPType: 'any',
      priority: '4',
    });
    assert.deepEqual(
      [changed.sourceIPType, changed.sourceIPValue, changed.sourceIPMask, changed.priority, changed.protocol],
      ['any', undefined, undefined, '4', 'tcp-udp'],
    );
    const unknownList = await api('POST', `/api/firewallrules/${rule.ID}`, {
      sourceIPType: 'ip-list',
      sourceIPListID: 999,
    });
    assert.deepEqual([unknownList.status, failure(unknownList).error.code], [400, 'FIREWALL_LIST_REFERENCE_UNKNOWN']);
    const scheduled = await api('POST', `/api/firewallrules/${rule.ID}`, { scheduleID: 2 });
    assert.equal(scheduled.status, 400);
    assert.match(failure(scheduled).message, /scheduleID: Palisade has no schedules/);
  });

  test('search: a rule by name with % wildcards, a computer by hostName, paging by ID', async () => {
    const byName = await ok<V['RuleList']>('POST', '/api/firewallrules/search', {
      maxItems: 100,
      searchCriteria: [{ fieldName: 'name', stringTest: 'equal', stringValue: 'ds-compat %' }],
    });
    assert.equal(byName.firewallRules.length, RULES.length);
    const denies = await ok<V['RuleList']>('POST', '/api/firewallrules/search', {
      searchCriteria: [
        { fieldName: 'name', stringValue: 'ds-compat%' },
        { fieldName: 'action', choiceTest: 'equal', choiceValue: 'deny' },
        { fieldName: 'logDisabled', booleanTest: true },
      ],
    });
    assert.deepEqual(
      denies.firewallRules.map((r) => r.name),
      ['ds-compat deny telnet'],
    );

    const web2 = await ok<V['ComputerList']>('POST', '/api/computers/search', {
      searchCriteria: [{ fieldName: 'hostName', stringTest: 'equal', stringValue: 'web-02.example.test' }],
    });
    assert.deepEqual(
      web2.computers.map((c) => c.ID),
      [computers['web-02.example.test']],
    );
    // `_` is a one-character wildcard unless stringWildcards is false.
    const underscore = { fieldName: 'hostName', stringValue: 'db_01%' };
    assert.equal(
      (await ok<V['ComputerList']>('POST', '/api/computers/search', { searchCriteria: [underscore] })).computers.length,
      1,
    );

    // Paging: sortByObjectID, idTest greater-than the last ID seen, maxItems.
    const seen: number[] = [];
    let last = 0;
    for (let page = 0; page < 10; page++) {
      const r = await ok<V['ComputerList']>('POST', '/api/computers/search', {
        maxItems: 2,
        sortByObjectID: true,
        searchCriteria: [{ idValue: last, idTest: 'greater-than' }],
      });
      if (r.computers.length === 0) break;
      for (const c of r.computers) seen.push(c.ID);
      last = r.computers.at(-1)!.ID;
    }
    assert.deepEqual(
      seen,
      Object.values(computers).sort((a, b) => a - b),
    );

    const base = await ok<V['PolicyList']>('POST', '/api/policies/search', {
      searchCriteria: [{ fieldName: 'name', stringValue: 'Base Policy' }],
    });
    assert.equal(base.policies.length, 1);
    assert.equal(base.policies[0]?.parentID, null);
  });

  test('search: a read-only key may search; a bad criterion is a 400 naming it, not an empty list', async () => {
    const made = await runCli(MANAGER_BIN, [
      'apikey',
      'create',
      '--name',
      'auditor',
      '--role',
      'read-only',
      '--data-dir',
      m.dataDir,
    ]);
    assert.equal(made.code, 0, made.stderr);
    const readOnly = { 'api-secret-key': made.stdout.trim() };
    const found = await api(
      'POST',
      '/api/computers/search',
      { searchCriteria: [{ fieldName: 'hostName', stringValue: 'web%' }] },
      readOnly,
    );
    assert.deepEqual([found.status, found.json<V['ComputerList']>().computers.length], [200, 2]);
    const write = await api('POST', '/api/policies', { name: 'nope' }, readOnly);
    assert.deepEqual([write.status, failure(write).error.code], [403, 'READ_ONLY_API_KEY']);
    const bad = await api('POST', '/api/computers/search', {
      searchCriteria: [{ fieldName: 'hostname', stringValue: 'web%' }],
    });
    assert.equal(bad.status, 400);
    assert.equal(failure(bad).error.code, 'SEARCH_CRITERIA_INVALID');
    assert.match(
      failure(bad).message,
      /searchCriteria\[0\]\.fieldName: "hostname" is not a searchable field .*hostName/,
    );
    const wrongTest = await api('POST', '/api/computers/search', {
      searchCriteria: [{ fieldName: 'policyID', stringValue: '1' }],
    });
    assert.match(failure(wrongTest).message, /a string test does not suit policyID, a numeric field/);
  });

  test('expand: none gives the basic members, computerStatus adds the status, unknown values are refused', async () => {
    const id = computers['web-01.example.test'];
    const none = await ok<V['Computer']>('GET', `/api/computers/${id}?expand=none`);
    assert.equal(none.hostName, 'web-01.example.test');
    assert.equal('computerStatus' in none || 'computerSettings' in none, false);
    const status = await ok<V['Computer']>('GET', `/api/computers/${id}?expand=computerStatus`);
    assert.ok(status.computerStatus.agentStatusMessages.length > 0);
    assert.equal('computerSettings' in status, false);
    const both = await ok<V['Computer']>('GET', `/api/computers/${id}?expand=computerStatus&expand=computerSettings`);
    assert.ok(both.computerStatus && both.computerSettings);
    const all = await ok<V['Computer']>('GET', `/api/computers/${id}?expand=all`);
    assert.deepEqual(
      Object.keys(all).sort(),
      Object.keys(await ok<V['Computer']>('GET', `/api/computers/${id}`)).sort(),
    );
    // Modules Palisade has not are accepted and add nothing.
    assert.deepEqual(await ok<V['Computer']>('GET', `/api/computers/${id}?expand=antiMalware`), none);
    const list = await ok<V['ComputerList']>('GET', '/api/computers?expand=none');
    assert.equal('computerStatus' in list.computers[0]!, false);
    const bad = await api('GET', `/api/computers/${id}?expand=everything`);
    assert.equal(bad.status, 400);
    assert.equal(failure(bad).error.code, 'EXPAND_INVALID');
    assert.match(failure(bad).message, /"everything"; allowed: none, all, computerStatus/);
  });

  test('computers: a described computer sent back to modify is accepted; its host name cannot be changed', async () => {
    const id = computers['web-01.example.test'];
    const policy = await ok<V['Policy']>('POST', '/api/policies', { name: 'ds-compat web', parentID: 1 });
    const read = await ok<V['Computer']>('GET', `/api/computers/${id}?expand=none`);
    const modified = await ok<V['Computer']>('POST', `/api/computers/${id}`, { ...read, policyID: policy.ID });
    assert.equal(modified.policyID, policy.ID);
    const renamed = await api('POST', `/api/computers/${id}`, { hostName: 'other' });
    assert.equal(renamed.status, 400);
    assert.match(failure(renamed).message, /hostName is read-only here/);
  });

  test('default policy settings: GET/POST /api/policies/default and one setting by name', async () => {
    type Settings = V['Policy']['policySettings'];
    const all = await ok<Settings>('GET', '/api/policies/default');
    assert.deepEqual(all.firewallSettingState, { value: 'On' });
    const changed = await ok<Settings>('POST', '/api/policies/default', {
      platformSettingHeartbeatInactiveVmOfflineAlertEnabled: { value: 'true' },
    });
    assert.deepEqual(changed.platformSettingHeartbeatInactiveVmOfflineAlertEnabled, { value: 'true' });
    const one = '/api/policies/default/settings/platformSettingHeartbeatInactiveVmOfflineAlertEnabled';
    assert.deepEqual(await ok<V['SettingValue']>('GET', one), { value: 'true' });
    assert.deepEqual(await ok<V['SettingValue']>('DELETE', one), { value: 'false' }, 'reset to the catalog default');
    const base = await ok<V['Policy']>('GET', '/api/policies/1?overrides=true');
    assert.deepEqual(base.policySettings.platformSettingHeartbeatInactiveVmOfflineAlertEnabled, { value: 'false' });
    const unknown = await api('GET', '/api/policies/default/settings/noSuchSetting');
    assert.equal(unknown.status, 404);
  });

  test('IP and port lists: rules name them by …ListID, the agent gets their items, a list change reaches it', async () => {
    const host = 'web-02.example.test';
    const id = computers[host]!;
    const admins = await ok<V['FirewallList']>('POST', '/api/iplists', {
      name: 'ds-compat admins',
      items: ['198.18.0.0/24', '198.18.9.9'],
    });
    const ports = await ok<V['FirewallList']>('POST', '/api/portlists', {
      name: 'ds-compat ssh',
      items: ['22', '2222'],
    });
    const rule = await ok<V['Rule']>('POST', '/api/firewallrules', {
      name: 'ds-compat ssh from admins',
      action: 'force-allow',
      protocol: 'tcp',
      sourceIPType: 'ip-list',
      sourceIPListID: admins.ID,
      destinationPortType: 'port-list',
      destinationPortListID: ports.ID,
    });
    await ok('POST', `/api/computers/${id}/firewall`, { ruleIDs: [rule.ID] });
    const status = async (computer: number) =>
      (await ok<V['Computer']>('GET', `/api/computers/${computer}`)).computerStatus?.agentStatusMessages[0];
    assert.equal(await status(id), 'Update Pending (Heartbeat)');
    await heartbeat(agents[host]!);
    assert.equal(await status(id), 'Managed (Online)');
    const applied = () => agents[host]!.appliedConfiguration()!.configuration as SecurityConfiguration;
    assert.deepEqual(applied().firewall.lists, {
      ipLists: { [admins.ID]: ['198.18.0.0/24', '198.18.9.9'] },
      macLists: {},
      portLists: { [ports.ID]: ['22', '2222'] },
    });
    assert.equal((applied().firewall.rules[0] as V['Rule']).sourceIPListID, admins.ID);

    // The list changes: the computer is behind until its agent has the new items; a computer
    // whose rules name no list is not touched.
    const db = computers['db_01.example.test']!;
    await heartbeat(agents['db_01.example.test']!);
    assert.equal(await status(db), 'Managed (Online)');
    await ok('POST', `/api/portlists/${ports.ID}`, { items: ['22'] });
    assert.equal(await status(id), 'Update Pending (Heartbeat)');
    await heartbeat(agents[host]!);
    assert.equal(await status(id), 'Managed (Online)');
    assert.deepEqual(applied().firewall.lists?.portLists, { [ports.ID]: ['22'] });
    assert.equal(await status(db), 'Managed (Online)');
    const inUse = await api('DELETE', `/api/portlists/${ports.ID}`);
    assert.deepEqual([inUse.status, failure(inUse).error.code], [409, 'FIREWALL_LIST_IN_USE']);
  });

  test('firewall assignments under policies and computers: GET, POST adds, PUT sets, DELETE removes one', async () => {
    const rules = (
      await ok<V['RuleList']>('POST', '/api/firewallrules/search', {
        searchCriteria: [{ fieldName: 'name', stringValue: 'ds-compat %' }],
      })
    ).firewallRules.map((r) => r.ID);
    const [a, b, c] = rules;
    const policy = await ok<V['Policy']>('POST', '/api/policies', { name: 'ds-compat assignments', parentID: 1 });
    const path = `/api/policies/${policy.ID}/firewall/assignments`;
    assert.deepEqual(await ok('GET', path), { assignedRuleIDs: [] });
    // Ansible's trendmicro.deepsec policy assignment module: POST {ruleIDs} to add, DELETE …/{id} to remove.
    assert.deepEqual(await ok('POST', path, { ruleIDs: [a, b] }), { assignedRuleIDs: [a, b] });
    assert.deepEqual(await ok('POST', path, { ruleIDs: [b, c] }), { assignedRuleIDs: [a, b, c] });
    assert.deepEqual(await ok('DELETE', `${path}/${b}`), { assignedRuleIDs: [a, c] });
    assert.deepEqual(await ok('DELETE', `${path}/${b}`), { assignedRuleIDs: [a, c] }, 'removing it again: no change');
    assert.deepEqual(await ok('PUT', path, { ruleIDs: [c] }), { assignedRuleIDs: [c] });
    // The same rules seen through Palisade's view of the policy's firewall.
    assert.deepEqual((await ok<V['PolicyFirewall']>('GET', `/api/policies/${policy.ID}/firewall`)).ruleIDs, [c]);
    const unknown = await api('POST', path, { ruleIDs: [999999] });
    assert.deepEqual([unknown.status, failure(unknown).error.code], [400, 'FIREWALL_RULE_REFERENCE_UNKNOWN']);

    const computer = computers['db_01.example.test']!;
    const cpath = `/api/computers/${computer}/firewall/assignments`;
    assert.deepEqual(await ok('POST', cpath, { ruleIDs: [a] }), { assignedRuleIDs: [a] });
    assert.equal(
      (await ok<V['Computer']>('GET', `/api/computers/${computer}`)).computerStatus?.agentStatusMessages[0],
      'Update Pending (Heartbeat)',
    );
    assert.deepEqual(await ok('DELETE', `${cpath}/${a}`), { assignedRuleIDs: [] });
    assert.equal((await api('GET', '/api/computers/999999/firewall/assignments')).status, 404);
  });

  test('system settings: list, describe, modify one and several, reset; an unknown name is a 400', async () => {
    type Settings = Record<string, { value: string }>;
    const TLS = 'palisadeSettingAgentTlsPolicy';
    // The SDKs' listSystemSettings: every setting, each a SettingValue (a string in `value`).
    const all = await ok<Settings>('GET', '/api/systemsettings');
    assert.deepEqual(all[TLS], { value: 'modern' });
    for (const [name, v] of Object.entries(all)) assert.equal(typeof v.value, 'string', name);
    // modifySystemSetting(name, SettingValue) and describeSystemSetting(name).
    assert.deepEqual(await ok('POST', `/api/systemsettings/${TLS}`, { value: 'compatible' }), { value: 'compatible' });
    assert.deepEqual(await ok('GET', `/api/systemsettings/${TLS}`), { value: 'compatible' });
    assert.equal((await ok<{ value: string }>('GET', '/api/tls/policy')).value, 'compatible', 'the same value');
    // modifySystemSettings(SystemSettings): what was listed, sent back with one change.
    const several = await ok<Settings>('POST', '/api/systemsettings', { ...all, [TLS]: { value: 'legacy' } });
    assert.deepEqual(several[TLS], { value: 'legacy' });
    // resetSystemSetting(name).
    assert.deepEqual(await ok('DELETE', `/api/systemsettings/${TLS}`), { value: 'modern' });
    assert.deepEqual(await ok('GET', '/api/systemsettings'), all);

    for (const [method, path, body] of [
      ['GET', '/api/systemsettings/platformSettingNoSuchSetting', undefined],
      ['POST', '/api/systemsettings/platformSettingNoSuchSetting', { value: 'true' }],
      ['POST', '/api/systemsettings', { [TLS]: { value: 'legacy' }, platformSettingNoSuchSetting: { value: 'true' } }],
    ] as const) {
      const r = await api(method, path, body);
      assert.deepEqual([r.status, failure(r).error.code], [400, 'SYSTEM_SETTING_NAME_UNKNOWN'], `${method} ${path}`);
      assert.match(failure(r).message, /platformSettingNoSuchSetting.*palisadeSettingAgentTlsPolicy/);
    }
    const bad = await api('POST', `/api/systemsettings/${TLS}`, { value: 'ancient' });
    assert.deepEqual([bad.status, failure(bad).error.code], [400, 'SYSTEM_SETTING_VALUE_INVALID']);
    assert.deepEqual(await ok('GET', '/api/systemsettings'), all, 'nothing written by the refusals');
  });

  test('API keys: create (secret once), use, describe current, modify, rotate, delete; roles by name', async () => {
    // The SDKs' AdministratorRolesApi.searchAdministratorRoles: a role ID by name, then ApiKeysApi.createApiKey.
    const auditor = await ok<{ roles: V['Role'][] }>('POST', '/api/roles/search', {
      searchCriteria: [{ fieldName: 'name', stringValue: 'Auditor', stringTest: 'equal' }],
    });
    assert.deepEqual(
      auditor.roles.map((r) => [r.ID, r.name]),
      [[2, 'Auditor']],
    );
    assert.equal((await ok<V['Role']>('GET', '/api/roles/1')).name, 'Full Access');
    const made = await ok<V['ApiKeyWithSecret']>('POST', '/api/apikeys', {
      keyName: 'ds-compat report',
      description: 'security status report',
      roleID: auditor.roles[0]?.ID,
      locale: 'en-US',
      timeZone: 'Asia/Tokyo',
    });
    assert.match(made.secretKey, /^psk_/);
    assert.equal(made.timeZone, 'Asia/Tokyo');
    const as = (secret: string) => ({ 'api-secret-key': secret });
    const mine = await api('GET', '/api/apikeys/current', undefined, as(made.secretKey));
    assert.deepEqual([mine.status, mine.json<V['ApiKey']>().ID], [200, made.ID]);
    const refused = await api('POST', '/api/policies', { name: 'ds-compat x', parentID: 1 }, as(made.secretKey));
    assert.equal(refused.status, 403, 'the Auditor role reads only');

    // Described, sent back: nothing changes; then modifyApiKey with a new role.
    const described = await ok<V['ApiKey']>('GET', `/api/apikeys/${made.ID}`);
    assert.deepEqual(await ok('POST', `/api/apikeys/${made.ID}`, described), described);
    assert.equal((await ok<V['ApiKey']>('POST', `/api/apikeys/${made.ID}`, { roleID: 1 })).roleID, 1);

    // replaceCurrentSecretKey, then replaceApiSecretKey: each old secret refused at once.
    const rotated = await api('POST', '/api/apikeys/current/secretkey', undefined, as(made.secretKey));
    const secret2 = rotated.json<V['ApiKeyWithSecret']>().secretKey;
    assert.equal((await api('GET', '/api/apikeys/current', undefined, as(made.secretKey))).status, 401);
    const again = await ok<V['ApiKeyWithSecret']>('POST', `/api/apikeys/${made.ID}/secretkey`);
    assert.equal((await api('GET', '/api/computers', undefined, as(secret2))).status, 401);
    assert.equal((await api('GET', '/api/computers', undefined, as(again.secretKey))).status, 200);

    const found = await ok<{ apiKeys: V['ApiKey'][] }>('POST', '/api/apikeys/search', {
      searchCriteria: [{ fieldName: 'keyName', stringValue: 'ds-compat%' }],
    });
    assert.deepEqual(
      found.apiKeys.map((k) => k.ID),
      [made.ID],
    );
    const noRole = await api('POST', '/api/apikeys', { keyName: 'ds-compat bad', roleID: 99 });
    assert.deepEqual([noRole.status, failure(noRole).error.code], [400, 'ROLE_REFERENCE_UNKNOWN']);

    const deleted = await api('DELETE', `/api/apikeys/${made.ID}`);
    assert.equal(deleted.status, 204);
    assert.equal((await api('GET', '/api/computers', undefined, as(again.secretKey))).status, 401);
    assert.equal((await api('GET', `/api/apikeys/${made.ID}`)).status, 404);
  });
});
