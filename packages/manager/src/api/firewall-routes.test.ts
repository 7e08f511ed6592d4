import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import { recordTestHeartbeat } from '../testing/record-test-heartbeat.js';
import type { ApiViews } from './api-views.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';

/** The replacing rule of docs/firewall.md: only the manager may open the listening port. */
const MANAGER_ONLY = {
  name: 'Manager to agent port',
  action: 'force-allow',
  priority: 4,
  direction: 'incoming',
  frameType: 'IP',
  protocol: 'TCP',
  sourceIPType: 'single',
  sourceIPValue: '198.18.0.1',
  destinationPortType: 'multiple',
  destinationPortMultiple: ['4118'],
};
const WEB = {
  name: 'Web',
  action: 'allow',
  priority: 0,
  direction: 'incoming',
  protocol: 'tcp',
  destinationPortType: 'multiple',
  destinationPortMultiple: [80, '443', '8000 - 8080'],
};
const toPorts = (...ports: (number | string)[]) => ({
  destinationPortType: 'multiple',
  destinationPortMultiple: ports.map(String),
});

describe('firewall rules: the resource, validated and compiled when saved', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture();
  });
  after(() => f.close());

  test("create normalizes every member into Deep Security's model; list and describe show it with its ID", async () => {
    const r = await f.request('POST', '/api/firewallrules', {
      ...WEB,
      description: ' web servers ',
      sourceIPType: 'multiple',
      sourceIPMultiple: ['10.0.0.0/8', '2001:DB8::1'],
      sourceMACType: 'single',
      sourceMACValue: '00-1A-2B-3C-4D-5E',
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(typeof r.json<ApiViews['Rule']>().ID, 'number');
    assert.deepEqual(
      { ...r.json<ApiViews['Rule']>(), ID: 0 },
      {
        ID: 0,
        name: 'Web',
        description: 'web servers',
        action: 'allow',
        priority: '0',
        direction: 'incoming',
        frameType: 'ip',
        frameNumber: 2048,
        frameNot: false,
        protocol: 'tcp',
        protocolNot: false,
        sourceIPType: 'multiple',
        sourceIPMultiple: ['10.0.0.0/8', '2001:DB8::1'],
        sourceIPNot: false,
        sourceMACType: 'single',
        sourceMACValue: '00-1A-2B-3C-4D-5E',
        sourceMACNot: false,
        sourcePortType: 'any',
        sourcePortNot: false,
        destinationIPType: 'any',
        destinationIPNot: false,
        destinationMACType: 'any',
        destinationMACNot: false,
        destinationPortType: 'multiple',
        destinationPortMultiple: ['80', '443', '8000-8080'],
        destinationPortNot: false,
        anyFlags: true,
        logDisabled: false,
        includePacketData: false,
        alertEnabled: false,
        TCPNot: false,
        ICMPNot: false,
      },
    );
    assert.deepEqual(
      (await f.request('GET', `/api/firewallrules/${r.json<ApiViews['Rule']>().ID}`)).json<ApiViews['Rule']>(),
      r.body,
    );
    const list = (await f.request('GET', '/api/firewallrules')).json<ApiViews['RuleList']>().firewallRules;
    assert.deepEqual(
      list.map((x) => x.name),
      ['Web'],
    );
  });

  test('an invalid rule is refused with every problem, field by field, and nothing is stored', async () => {
    const r = await f.request('POST', '/api/firewallrules', {
      name: 'Bad',
      action: 'forbid',
      priority: 7,
      direction: 'incoming',
      protocol: 'udp',
      ...toPorts(53, 70000),
      sourceIPType: 'masked-ip',
      sourceIPValue: '10.0.0.1',
      sourceIPMask: '8',
    });
    assert.equal(r.status, 400);
    assert.equal(errorOf(r).code, 'FIREWALL_RULE_INVALID');
    for (const reason of [
      'action: "forbid" is not one of',
      'priority: 7 is not a priority',
      'destinationPortMultiple[1]: "70000" is not a port',
      'sourceIPMask: "10.0.0.1/8" has host bits set',
    ]) {
      assert.ok(errorOf(r).message.includes(reason), `${reason} in ${errorOf(r).message}`);
    }
    // Ports without TCP/UDP: core's reason, not a schema error.
    const icmp = await f.request('POST', '/api/firewallrules', {
      name: 'Bad',
      action: 'deny',
      priority: 1,
      direction: 'incoming',
      protocol: 'icmp',
      ...toPorts(22),
    });
    assert.equal(errorOf(icmp).code, 'FIREWALL_RULE_INVALID');
    assert.match(
      errorOf(icmp).message,
      /destinationPortType: ports are only meaningful for protocol tcp, udp or tcp-udp/,
    );
    // A misspelt member must not silently widen a rule: refused by the schema, naming it.
    const typo = await f.request('POST', '/api/firewallrules', { ...WEB, name: 'Typo', destinationPort: 22 });
    assert.deepEqual([typo.status, errorOf(typo).code], [400, 'VALIDATION_FAILED']);
    assert.match(errorOf(typo).message, /unknown member "destinationPort"/);
    const noAction = await f.request('POST', '/api/firewallrules', {
      name: 'No action',
      priority: 0,
      direction: 'incoming',
    });
    assert.deepEqual([noAction.status, errorOf(noAction).code], [400, 'FIREWALL_RULE_INVALID']);
    assert.match(errorOf(noAction).message, /action: is required/);
    // A list that does not exist cannot be named.
    const list = await f.request('POST', '/api/firewallrules', {
      ...WEB,
      name: 'Listed',
      sourceIPType: 'ip-list',
      sourceIPListID: 77,
    });
    assert.deepEqual([list.status, errorOf(list).code], [400, 'FIREWALL_LIST_REFERENCE_UNKNOWN']);
    assert.match(errorOf(list).message, /sourceIPListID 77/);
    assert.deepEqual(
      (await f.request('GET', '/api/firewallrules')).json<ApiViews['RuleList']>().firewallRules.map((x) => x.name),
      ['Web'],
    );
  });

  test('a rule nftables cannot enforce is refused when saved, with the reason', async () => {
    const arp = await f.request('POST', '/api/firewallrules', {
      name: 'No ARP',
      action: 'deny',
      priority: 2,
      direction: 'incoming',
      frameType: 'ARP',
    });
    assert.equal(arp.status, 400);
    assert.equal(errorOf(arp).code, 'FIREWALL_RULE_NOT_ENFORCEABLE');
    assert.match(
      errorOf(arp).message,
      /frameType: arp frames never reach an nftables inet chain \(IPv4 and IPv6 only\), so a deny rule for them cannot be enforced/,
    );
    const mac = await f.request('POST', '/api/firewallrules', {
      name: 'Out MAC',
      action: 'deny',
      priority: 2,
      direction: 'outgoing',
      destinationMACType: 'single',
      destinationMACValue: '02:00:00:00:00:01',
    });
    assert.equal(errorOf(mac).code, 'FIREWALL_RULE_NOT_ENFORCEABLE');
    assert.match(errorOf(mac).message, /destinationMACType: nftables cannot match MAC addresses on outgoing packets/);
    // An allow rule for ARP is enforceable (ARP passes), so it is accepted.
    const allowArp = await f.request('POST', '/api/firewallrules', {
      name: 'ARP ok',
      action: 'allow',
      priority: 0,
      direction: 'incoming',
      frameType: 'arp',
    });
    assert.equal(allowArp.status, 200, JSON.stringify(allowArp.body));
    assert.equal((await f.request('DELETE', `/api/firewallrules/${allowArp.json<ApiViews['Rule']>().ID}`)).status, 204);
  });

  test('names are unique; POST modifies the members sent, PUT replaces the rule; bad changes write nothing', async () => {
    const a = (
      await f.request('POST', '/api/firewallrules', {
        name: 'SSH',
        action: 'allow',
        priority: 0,
        direction: 'incoming',
        protocol: 'tcp',
        ...toPorts(22),
      })
    ).json<ApiViews['Rule']>();
    const dup = await f.request('POST', '/api/firewallrules', { ...WEB });
    assert.deepEqual([dup.status, errorOf(dup).code], [409, 'FIREWALL_RULE_NAME_TAKEN']);
    const m = await f.request('POST', `/api/firewallrules/${a.ID}`, {
      sourceIPType: 'masked-ip',
      sourceIPValue: '198.18.0.0',
      sourceIPMask: '24',
    });
    assert.equal(m.status, 200, JSON.stringify(m.body));
    assert.deepEqual(
      [
        m.json<ApiViews['Rule']>().name,
        m.json<ApiViews['Rule']>().destinationPortMultiple,
        m.json<ApiViews['Rule']>().sourceIPValue,
        m.json<ApiViews['Rule']>().sourceIPMask,
      ],
      ['SSH', ['22'], '198.18.0.0', '24'],
    );
    // Switching the type drops the old type's values; an echo of a GET (ID included) changes nothing.
    const anySource = await f.request('POST', `/api/firewallrules/${a.ID}`, { sourceIPType: 'any' });
    assert.deepEqual(
      [anySource.json<ApiViews['Rule']>().sourceIPType, anySource.json<ApiViews['Rule']>().sourceIPValue],
      ['any', undefined],
    );
    const echo = await f.request('POST', `/api/firewallrules/${a.ID}`, anySource.body);
    assert.deepEqual(echo.body, anySource.body);
    const otherId = await f.request('POST', `/api/firewallrules/${a.ID}`, {
      ...anySource.json<ApiViews['Rule']>(),
      ID: a.ID + 1000,
    });
    assert.deepEqual([otherId.status, errorOf(otherId).code], [400, 'FIREWALL_RULE_INVALID']);
    const renameToTaken = await f.request('POST', `/api/firewallrules/${a.ID}`, { name: 'Web' });
    assert.equal(errorOf(renameToTaken).code, 'FIREWALL_RULE_NAME_TAKEN');
    // Switching to ICMP while ports stay is inconsistent: refused, the stored rule unchanged.
    const bad = await f.request('POST', `/api/firewallrules/${a.ID}`, { protocol: 'icmp' });
    assert.equal(errorOf(bad).code, 'FIREWALL_RULE_INVALID');
    assert.equal((await f.request('GET', `/api/firewallrules/${a.ID}`)).json<ApiViews['Rule']>().protocol, 'tcp');
    const put = await f.request('PUT', `/api/firewallrules/${a.ID}`, {
      name: 'SSH',
      action: 'deny',
      priority: '1',
      direction: 'incoming',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.deepEqual(
      [
        put.json<ApiViews['Rule']>().action,
        put.json<ApiViews['Rule']>().priority,
        put.json<ApiViews['Rule']>().protocol,
        put.json<ApiViews['Rule']>().sourceIPType,
        put.json<ApiViews['Rule']>().destinationPortType,
      ],
      ['deny', '1', 'any', 'any', 'any'],
    );
    assert.equal(errorOf(await f.request('GET', '/api/firewallrules/999999')).code, 'FIREWALL_RULE_NOT_FOUND');
    assert.equal(
      errorOf(await f.request('POST', '/api/firewallrules/999999', { name: 'x' })).code,
      'FIREWALL_RULE_NOT_FOUND',
    );
    assert.equal((await f.request('DELETE', `/api/firewallrules/${a.ID}`)).status, 204);
  });

  test('a read-only key reads rules but cannot write them', async () => {
    assert.equal((await f.request('GET', '/api/firewallrules', undefined, { key: f.keys.readOnly })).status, 200);
    const r = await f.request('POST', '/api/firewallrules', { ...WEB, name: 'RO' }, { key: f.keys.readOnly });
    assert.deepEqual([r.status, errorOf(r).code], [403, 'READ_ONLY_API_KEY']);
  });
});

describe('firewall rules: assignment, inheritance, fingerprints, the hidden rule', () => {
  let f: ApiFixture;
  let base: number;
  let parent: number;
  let child: number;
  let onChild: number;
  let onParent: number;
  const rule: Record<string, number> = {};

  const create = async (body: Record<string, unknown>) => {
    const r = await f.request('POST', '/api/firewallrules', body);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.json<ApiViews['Rule']>().ID;
  };
  const assign = async (path: string, ruleIDs: number[]) => {
    const r = await f.request('POST', `${path}/firewall`, { ruleIDs });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const computer = async (id: number) => (await f.request('GET', `/api/computers/${id}`)).json<ApiViews['Computer']>();
  const status = async (id: number) => (await computer(id)).computerStatus.agentStatusMessages[0];
  const effective = async (id: number) => {
    const r = await f.request('GET', `/api/computers/${id}/firewall/effective`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.json<ApiViews['Effective']>();
  };

  before(async () => {
    f = await startApiFixture();
    base = (await f.request('GET', '/api/policies')).json<ApiViews['PolicyList']>().policies[0]!.ID;
    parent = (await f.request('POST', '/api/policies', { name: 'Servers' })).json<ApiViews['Policy']>().ID;
    child = (await f.request('POST', '/api/policies', { name: 'Web servers', parentID: parent })).json<
      ApiViews['Policy']
    >().ID;
    onChild = (await f.addComputer({ hostName: 'web-1', policyId: child })).id;
    onParent = (await f.addComputer({ hostName: 'db-1', policyId: parent })).id;
    for (const id of [onChild, onParent]) await f.heartbeat(id);
    rule.icmp = await create({ name: 'Ping', action: 'allow', priority: 0, direction: 'incoming', protocol: 'icmp' });
    rule.web = await create(WEB);
    rule.ssh = await create({
      name: 'SSH from admins',
      action: 'allow',
      priority: 0,
      direction: 'incoming',
      protocol: 'tcp',
      sourceIPType: 'masked-ip',
      sourceIPValue: '198.18.0.0',
      sourceIPMask: '255.255.255.0',
      ...toPorts(22),
    });
    rule.managerOnly = await create(MANAGER_ONLY);
    rule.deny4118 = await create({
      name: 'Nobody else to agent port',
      action: 'deny',
      priority: 4,
      direction: 'incoming',
      protocol: 'tcp',
      ...toPorts(4118),
    });
    rule.almost = await create({
      name: 'Almost',
      action: 'force-allow',
      priority: 3,
      direction: 'incoming',
      frameType: 'ipv4',
      protocol: 'tcp',
      ...toPorts('4000-5000'),
    });
  });
  after(() => f.close());

  test('rules go down the tree and add up: Base → Servers → Web servers → computer', async () => {
    assert.equal(await status(onChild), 'Managed (Online)');
    await assign(`/api/policies/${base}`, [rule.icmp!]);
    const p = await assign(`/api/policies/${parent}`, [rule.ssh!, rule.icmp!]);
    assert.deepEqual(p, {
      policyID: parent,
      ruleIDs: [rule.ssh, rule.icmp],
      inheritedRuleIDs: [{ ruleID: rule.icmp, policyID: base }],
      effectiveRuleIDs: [rule.icmp, rule.ssh],
    });
    await assign(`/api/policies/${child}`, [rule.web!]);
    const c = await assign(`/api/computers/${onChild}`, [rule.managerOnly!, rule.managerOnly!]);
    assert.deepEqual(c, {
      computerID: onChild,
      ruleIDs: [rule.managerOnly],
      inheritedRuleIDs: [
        { ruleID: rule.icmp, policyID: base },
        { ruleID: rule.ssh, policyID: parent },
        { ruleID: rule.web, policyID: child },
      ],
      effectiveRuleIDs: [rule.icmp, rule.ssh, rule.web, rule.managerOnly],
    });
    assert.deepEqual(
      (await f.request('GET', `/api/computers/${onParent}/firewall`)).json<ApiViews['ComputerFirewall']>()
        .effectiveRuleIDs,
      [rule.icmp, rule.ssh],
    );
    assert.deepEqual(
      (await f.request('GET', `/api/policies/${child}/firewall`)).json<ApiViews['PolicyFirewall']>().effectiveRuleIDs,
      [rule.icmp, rule.ssh, rule.web],
    );
    // The configuration (and so the fingerprint) carries the effective rules, by their ID.
    const cfg = await f.configurations.forComputer({ id: onChild, policyId: child, platform: 'linux' }, f.store);
    assert.deepEqual(
      (cfg.configuration.firewall.rules as Array<{ id: string }>).map((r) => r.id),
      [rule.icmp, rule.ssh, rule.web, rule.managerOnly].map(String),
    );
    assert.equal((await computer(onChild)).configurationFingerprint.expected, cfg.fingerprint);
    const audit = (await f.request('GET', '/api/auditevents'))
      .json<ApiViews['AuditList']>()
      .auditEvents.filter((e) => e.action.endsWith('.firewall'));
    assert.deepEqual(audit[0], {
      ...audit[0],
      action: 'computer.firewall',
      targetType: 'computer',
      targetID: onChild,
      setting: 'firewall.ruleIDs',
      oldValue: '[]',
      newValue: `[${rule.managerOnly}]`,
    });
  });

  test('assignment and rule changes make exactly the computers they reach Update Pending (Heartbeat)', async () => {
    for (const id of [onChild, onParent]) await f.heartbeat(id);
    assert.deepEqual([await status(onChild), await status(onParent)], ['Managed (Online)', 'Managed (Online)']);
    // On the child policy: only the computer below it.
    await assign(`/api/policies/${child}`, [rule.web!, rule.almost!]);
    assert.deepEqual(
      [await status(onChild), await status(onParent)],
      ['Update Pending (Heartbeat)', 'Managed (Online)'],
    );
    for (const id of [onChild, onParent]) await f.heartbeat(id);
    // A change to a rule assigned on Servers reaches both; the same change again reaches none.
    const m = await f.request('POST', `/api/firewallrules/${rule.ssh}`, { sourceIPMask: '255.255.255.128' });
    assert.equal(m.status, 200);
    assert.deepEqual(
      [await status(onChild), await status(onParent)],
      ['Update Pending (Heartbeat)', 'Update Pending (Heartbeat)'],
    );
    for (const id of [onChild, onParent]) await f.heartbeat(id);
    assert.equal(
      (await f.request('POST', `/api/firewallrules/${rule.ssh}`, { sourceIPMask: '255.255.255.128' })).status,
      200,
    );
    // A rule only the child computer has: the other computer is untouched.
    assert.equal(
      (await f.request('POST', `/api/firewallrules/${rule.managerOnly}`, { description: 'restricts 4118' })).status,
      200,
    );
    assert.deepEqual(
      [await status(onChild), await status(onParent)],
      ['Update Pending (Heartbeat)', 'Managed (Online)'],
    );
    // Whatever changed, the stored expectation is what a heartbeat computes.
    for (const id of [onChild, onParent]) {
      const c = await computer(id);
      assert.equal(
        c.configurationFingerprint.expected,
        (await f.configurations.forComputer({ id, policyId: c.policyID, platform: 'linux' }, f.store)).fingerprint,
      );
    }
  });

  test('a setting change on a policy keeps the firewall rules in the expected fingerprint', async () => {
    await f.heartbeat(onChild);
    assert.equal(
      (
        await f.request(
          'POST',
          `/api/policies/${parent}/settings/platformSettingHeartbeatInactiveVmOfflineAlertEnabled`,
          { value: 'true' },
        )
      ).status,
      200,
    );
    const c = await computer(onChild);
    const cfg = await f.configurations.forComputer({ id: onChild, policyId: child, platform: 'linux' }, f.store);
    assert.equal(cfg.configuration.firewall.rules.length, 5);
    assert.equal(c.configurationFingerprint.expected, cfg.fingerprint);
  });

  test('effective list: the hidden rule absent (agent-initiated), present (listening), replaced by a matching user rule', async () => {
    // Agent Initiated (the default): nothing listens, nothing is opened.
    let e = await effective(onParent);
    assert.deepEqual([e.hiddenRule, e.listeningPort, e.hiddenRuleReplacedBy], ['absent', null, null]);
    assert.deepEqual(
      e.rules.map((r) => r.ID),
      [rule.icmp, rule.ssh],
    );
    assert.deepEqual(
      e.rules.map((r) => r.source),
      [`policy:${base}`, `policy:${parent}`],
    );

    assert.equal(
      (await f.request('POST', `/api/policies/${base}/settings/${DIRECTION}`, { value: 'Bidirectional' })).status,
      200,
    );
    e = await effective(onParent);
    assert.deepEqual(
      [e.firewallState, e.communicationDirection, e.hiddenRule, e.listeningPort],
      ['On', 'bidirectional', 'present', 4118],
    );
    const hidden = e.rules[0];
    assert.ok(hidden, 'a rule');
    assert.deepEqual(
      {
        ID: hidden.ID,
        agentRuleID: hidden.agentRuleID,
        hidden: hidden.hidden,
        source: hidden.source,
        action: hidden.action,
        priority: hidden.priority,
        frameType: hidden.frameType,
        protocol: hidden.protocol,
        destinationPortMultiple: hidden.destinationPortMultiple,
        sourceIPType: hidden.sourceIPType,
        sourceMACType: hidden.sourceMACType,
      },
      {
        ID: null,
        agentRuleID: 'hidden-listening-port',
        hidden: true,
        source: 'hidden',
        action: 'bypass',
        priority: '4',
        frameType: 'ip',
        protocol: 'tcp',
        destinationPortMultiple: ['4118'],
        sourceIPType: 'any',
        sourceMACType: 'any',
      },
    );
    assert.deepEqual(
      e.rules.slice(1).map((r) => [r.ID, r.hidden]),
      [
        [rule.icmp, false],
        [rule.ssh, false],
      ],
    );

    // web-1 has the manager-only force-allow: it replaces the hidden rule, which is left out.
    e = await effective(onChild);
    assert.deepEqual([e.hiddenRule, e.hiddenRuleReplacedBy], ['replaced', rule.managerOnly]);
    assert.ok(!e.rules.some((r) => r.hidden));
    const replacing = e.rules.find((r) => r.ID === rule.managerOnly);
    assert.ok(replacing, 'the replacing rule is listed');
    assert.deepEqual(
      [replacing.replacesHiddenRule, replacing.source, replacing.sourceIPValue],
      [true, 'computer', '198.18.0.1'],
    );
    // A rule about the port that misses the conditions says why.
    const almost = e.rules.find((r) => r.ID === rule.almost);
    assert.ok(almost, 'the near miss is listed');
    assert.deepEqual(almost.hiddenRuleMismatches, ['priority is 3, not 4', 'frame type is ipv4, not ip']);
    assert.equal(almost.replacesHiddenRule, false);
    assert.equal(
      e.rules.find((r) => r.ID === rule.web)?.hiddenRuleMismatches,
      undefined,
      'rules not about the port say nothing',
    );
  });

  test('counters from the last heartbeat show beside each rule, the hidden one included', async () => {
    await recordTestHeartbeat(f.store, onParent, {
      lastIp: null,
      drivers: [{ name: 'firewall', status: 'online' }],
      counters: {
        'firewall.hidden-listening-port.packets': 7,
        'firewall.hidden-listening-port.bytes': 420,
        [`firewall.${rule.icmp}.packets`]: 2,
        [`firewall.${rule.icmp}.bytes`]: 168,
      },
    });
    const e = await effective(onParent);
    assert.deepEqual(
      e.rules.map((r) => r.counters),
      [{ packets: 7, bytes: 420 }, { packets: 2, bytes: 168 }, null],
    );
  });

  test('removing the replacing rule brings the hidden rule back', async () => {
    await assign(`/api/computers/${onChild}`, []);
    const e = await effective(onChild);
    assert.deepEqual(
      [e.hiddenRule, e.hiddenRuleReplacedBy, e.rules[0]?.agentRuleID],
      ['present', null, 'hidden-listening-port'],
    );
  });

  test('unknown rules, policies and computers in assignments are refused and write nothing', async () => {
    const r = await f.request('POST', `/api/policies/${parent}/firewall`, { ruleIDs: [rule.ssh, 424242] });
    assert.deepEqual([r.status, errorOf(r).code], [400, 'FIREWALL_RULE_REFERENCE_UNKNOWN']);
    assert.match(errorOf(r).message, /ruleIDs 424242/);
    assert.deepEqual(
      (await f.request('GET', `/api/policies/${parent}/firewall`)).json<ApiViews['PolicyFirewall']>().ruleIDs,
      [rule.ssh, rule.icmp],
    );
    assert.equal(
      errorOf(await f.request('POST', '/api/policies/999/firewall', { ruleIDs: [] })).code,
      'POLICY_NOT_FOUND',
    );
    assert.equal(errorOf(await f.request('GET', '/api/computers/999/firewall')).code, 'COMPUTER_NOT_FOUND');
    assert.equal(errorOf(await f.request('GET', '/api/computers/999/firewall/effective')).code, 'COMPUTER_NOT_FOUND');
    assert.equal(
      errorOf(await f.request('POST', `/api/computers/${onChild}/firewall`, { ruleIDs: ['1'] })).code,
      'VALIDATION_FAILED',
    );
  });

  test('deleting a rule in use is refused, naming where; once unassigned it goes', async () => {
    await assign(`/api/computers/${onParent}`, [rule.icmp!]);
    const r = await f.request('DELETE', `/api/firewallrules/${rule.icmp}`);
    assert.deepEqual([r.status, errorOf(r).code], [409, 'FIREWALL_RULE_IN_USE']);
    assert.match(
      errorOf(r).message,
      new RegExp(
        `rule ${rule.icmp} is assigned to policies ${base} \\("Base Policy"\\), ${parent} \\("Servers"\\) and computer ${onParent} \\(db-1\\)`,
      ),
    );
    await assign(`/api/policies/${base}`, []);
    await assign(`/api/policies/${parent}`, [rule.ssh!]);
    assert.equal(errorOf(await f.request('DELETE', `/api/firewallrules/${rule.icmp}`)).code, 'FIREWALL_RULE_IN_USE');
    await assign(`/api/computers/${onParent}`, []);
    assert.equal((await f.request('DELETE', `/api/firewallrules/${rule.icmp}`)).status, 204);
    assert.equal((await f.request('GET', `/api/firewallrules/${rule.icmp}`)).status, 404);
  });

  test('a deleted policy takes its assignments along, so its rules are free again', async () => {
    const leaf = (await f.request('POST', '/api/policies', { name: 'Leaf' })).json<ApiViews['Policy']>().ID;
    await assign(`/api/policies/${leaf}`, [rule.deny4118!]);
    assert.equal((await f.request('DELETE', `/api/firewallrules/${rule.deny4118}`)).status, 409);
    assert.equal((await f.request('DELETE', `/api/policies/${leaf}`)).status, 204);
    assert.equal((await f.request('DELETE', `/api/firewallrules/${rule.deny4118}`)).status, 204);
  });
});
