import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  effectiveFirewallRules,
  HIDDEN_LISTENING_PORT_RULE_ID,
  hiddenListeningPortRule,
  hiddenRuleMismatches,
} from './firewall-hidden-rule.js';
import { type FirewallRule, validateFirewallRule } from './firewall-rule.js';
import { buildSecurityConfiguration } from './security-configuration.js';
import { defaultSettings } from './settings-catalog.js';

function rule(input: Record<string, unknown>): FirewallRule {
  const r = validateFirewallRule({ name: 'test', ...input });
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.rule;
}

/** The reference's qualifying rule, restricted to the manager's address. */
const QUALIFYING = {
  id: 'only-manager',
  action: 'force-allow',
  priority: 4,
  direction: 'incoming',
  frameType: 'IP',
  protocol: 'TCP',
  destinationPorts: [4118],
  sourceIp: '198.18.0.1',
};

function listenFor(direction: string): boolean {
  const settings = { ...defaultSettings(), platformSettingAgentCommunicationsDirection: direction };
  return buildSecurityConfiguration({ settings, heartbeatIntervalSeconds: 600 }).communication.listen;
}

test('present while the agent listens (Bidirectional, Manager Initiated), first in the list, marked hidden', () => {
  const user = rule({ id: 'u', action: 'deny', priority: 0, direction: 'outgoing' });
  for (const direction of ['Bidirectional', 'Manager Initiated']) {
    const eff = effectiveFirewallRules({ rules: [user], listen: listenFor(direction) });
    assert.equal(eff.hiddenRule, 'present', direction);
    assert.equal(eff.replacedBy, null);
    assert.equal(eff.listeningPort, 4118);
    assert.deepEqual(
      eff.rules.map((r) => [r.id, r.hidden]),
      [
        [HIDDEN_LISTENING_PORT_RULE_ID, true],
        ['u', false],
      ],
    );
  }
});

test('absent in Agent Initiated: nothing listens', () => {
  const eff = effectiveFirewallRules({ rules: [], listen: listenFor('Agent/Appliance Initiated') });
  assert.deepEqual(eff, { rules: [], hiddenRule: 'absent', replacedBy: null, listeningPort: null });
});

test('the hidden rule: priority-4 bypass, incoming, IP, TCP, destination port = listening port, any source', () => {
  const hidden = effectiveFirewallRules({ rules: [], listen: true, listeningPort: 4999 }).rules[0]!;
  assert.deepEqual(hidden, hiddenListeningPortRule(4999));
  assert.deepEqual(
    { ...hidden, name: undefined, description: undefined },
    {
      id: 'hidden-listening-port',
      name: undefined,
      description: undefined,
      action: 'bypass',
      priority: 4,
      direction: 'incoming',
      frameType: 'ip',
      frameTypeNot: false,
      protocol: 'tcp',
      protocolNot: false,
      sourceIp: 'any',
      sourceIpNot: false,
      destinationIp: 'any',
      destinationIpNot: false,
      sourceMac: 'any',
      sourceMacNot: false,
      destinationMac: 'any',
      destinationMacNot: false,
      sourcePorts: 'any',
      sourcePortsNot: false,
      destinationPorts: [4999],
      destinationPortsNot: false,
      hidden: true,
    },
  );
  // It is itself a valid rule, apart from the reserved id and the marker.
  const { hidden: _marker, ...fields } = hidden;
  const check = validateFirewallRule({ ...fields, id: 'copy' });
  assert.ok(check.ok);
  assert.throws(
    () => effectiveFirewallRules({ rules: [], listen: true, listeningPort: 0 }),
    /listening port 0 is not 1–65535/,
  );
});

test('a rule matching all six conditions replaces it, and is named', () => {
  const cases: Record<string, unknown>[] = [
    QUALIFYING,
    { ...QUALIFYING, action: 'bypass' },
    { ...QUALIFYING, destinationPorts: [22, 4118, 443] }, // "a list that includes the port number"
    { ...QUALIFYING, destinationPorts: ['4000-4200'] }, // a range containing it
    { ...QUALIFYING, sourceIp: 'any', sourceMac: '02:00:00:00:00:01' }, // restricted by MAC instead
    { ...QUALIFYING, sourceIpNot: true }, // every source but one: still a restriction of the port
    { ...QUALIFYING, sourcePorts: ['1024-65535'], destinationIp: '198.18.0.2' },
  ];
  for (const input of cases) {
    const r = rule(input);
    assert.deepEqual(hiddenRuleMismatches(r, 4118), [], JSON.stringify(input));
    const eff = effectiveFirewallRules({
      rules: [rule({ id: 'other', action: 'allow', priority: 0, direction: 'incoming' }), r],
      listen: true,
    });
    assert.equal(eff.hiddenRule, 'replaced');
    assert.equal(eff.replacedBy, 'only-manager');
    assert.deepEqual(
      eff.rules.map((x) => [x.id, x.hidden]),
      [
        ['other', false],
        ['only-manager', false],
      ],
    );
  }
});

test('a rule differing in any one condition does not replace it', () => {
  // Each case changes one condition. Three cannot change alone, because a valid rule cannot have
  // ports without TCP/UDP nor a protocol on non-IP frames; they list the knock-on mismatches too.
  const cases: [string, Record<string, unknown>, string[]][] = [
    ['action allow', { action: 'allow' }, ['action is allow, not force-allow or bypass']],
    ['action deny', { action: 'deny' }, ['action is deny, not force-allow or bypass']],
    ['action log-only', { action: 'log-only' }, ['action is log-only, not force-allow or bypass']],
    ['priority 3', { priority: 3 }, ['priority is 3, not 4']],
    ['outgoing', { direction: 'outgoing' }, ['direction is outgoing, not incoming']],
    ['frame IPv4', { frameType: 'IPv4' }, ['frame type is ipv4, not IP']],
    ['frame IPv6', { frameType: 'IPv6', sourceIp: '2001:db8::1' }, ['frame type is ipv6, not IP']],
    ['frame any', { frameType: 'any' }, ['frame type is any, not IP']],
    ['protocol UDP', { protocol: 'UDP' }, ['protocol is udp, not TCP']],
    ['other port', { destinationPorts: [4119] }, ['destination ports do not include 4118']],
    ['range without it', { destinationPorts: ['4119-4200'] }, ['destination ports do not include 4118']],
    ['any port', { destinationPorts: 'any' }, ['destination ports are any, not a list that includes 4118']],
    ['negated port', { destinationPorts: [22], destinationPortsNot: true }, ['destination ports are negated']],
    ['negated list naming the port', { destinationPortsNot: true }, ['destination ports are negated']],
    [
      'protocol any',
      { protocol: 'any', destinationPorts: 'any' },
      ['protocol is any, not TCP', 'destination ports are any, not a list that includes 4118'],
    ],
    [
      'protocol not TCP',
      { protocolNot: true, destinationPorts: 'any' },
      ['protocol is not tcp, not TCP', 'destination ports are any, not a list that includes 4118'],
    ],
    [
      'frame not IP',
      { frameTypeNot: true, protocol: 'any', destinationPorts: 'any', sourceIp: 'any' },
      [
        'frame type is not ip, not IP',
        'protocol is any, not TCP',
        'destination ports are any, not a list that includes 4118',
      ],
    ],
  ];
  for (const [label, change, reasons] of cases) {
    const r = rule({ ...QUALIFYING, ...change });
    assert.deepEqual(hiddenRuleMismatches(r, 4118), reasons, label);
    const eff = effectiveFirewallRules({ rules: [r], listen: true });
    assert.equal(eff.hiddenRule, 'present', label);
    assert.equal(eff.replacedBy, null, label);
    assert.equal(eff.rules[0]!.id, HIDDEN_LISTENING_PORT_RULE_ID, label);
  }
});

test('replacement follows the configured listening port', () => {
  const r = rule(QUALIFYING);
  assert.equal(effectiveFirewallRules({ rules: [r], listen: true, listeningPort: 4200 }).hiddenRule, 'present');
  assert.equal(
    effectiveFirewallRules({
      rules: [rule({ ...QUALIFYING, destinationPorts: 4200 })],
      listen: true,
      listeningPort: 4200,
    }).replacedBy,
    'only-manager',
  );
});

test('the first qualifying rule is named; repeated rules kept once; effective lists are not fed back', () => {
  const a = rule({ ...QUALIFYING, id: 'a' });
  const b = rule({ ...QUALIFYING, id: 'b', action: 'bypass' });
  const eff = effectiveFirewallRules({ rules: [b, a, b], listen: true });
  assert.equal(eff.replacedBy, 'b');
  assert.deepEqual(
    eff.rules.map((r) => r.id),
    ['b', 'a'],
  );
  const withHidden = effectiveFirewallRules({ rules: [], listen: true }).rules;
  assert.throws(() => effectiveFirewallRules({ rules: withHidden, listen: true }), /synthesized by core/);
});
