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

const ports = (...p: (string | number)[]) => ({
  destinationPortType: 'multiple',
  destinationPortMultiple: p.map(String),
});
const ANY_PORT = { destinationPortType: 'any', destinationPortMultiple: undefined };
const ANY_SOURCE = { sourceIPType: 'any', sourceIPValue: undefined };

/** The reference's qualifying rule, restricted to the manager's address. */
const QUALIFYING = {
  id: 'only-manager',
  action: 'force-allow',
  priority: '4',
  direction: 'incoming',
  frameType: 'IP',
  protocol: 'TCP',
  ...ports(4118),
  sourceIPType: 'single',
  sourceIPValue: '198.18.0.1',
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
  assert.deepEqual(eff, {
    rules: [],
    lists: { ipLists: {}, macLists: {}, portLists: {} },
    hiddenRule: 'absent',
    replacedBy: null,
    listeningPort: null,
  });
});

test('the hidden rule: priority-4 bypass, incoming, IP, TCP, destination port = listening port, any source', () => {
  const hidden = effectiveFirewallRules({ rules: [], listen: true, listeningPort: 4999 }).rules[0]!;
  assert.deepEqual(hidden, hiddenListeningPortRule(4999));
  const { name: _n, description: _d, ...rest } = hidden;
  assert.deepEqual(rest, {
    id: 'hidden-listening-port',
    action: 'bypass',
    priority: '4',
    direction: 'incoming',
    frameType: 'ip',
    frameNumber: 2048,
    frameNot: false,
    protocol: 'tcp',
    protocolNot: false,
    sourceIPType: 'any',
    sourceIPNot: false,
    sourceMACType: 'any',
    sourceMACNot: false,
    sourcePortType: 'any',
    sourcePortNot: false,
    destinationIPType: 'any',
    destinationIPNot: false,
    destinationMACType: 'any',
    destinationMACNot: false,
    destinationPortType: 'multiple',
    destinationPortMultiple: ['4999'],
    destinationPortNot: false,
    anyFlags: true,
    logDisabled: false,
    includePacketData: false,
    alertEnabled: false,
    TCPNot: false,
    ICMPNot: false,
    hidden: true,
  });
  // It is itself a valid rule, apart from the reserved id and the marker.
  const { hidden: _marker, ...fields } = hidden;
  const check = validateFirewallRule({ ...fields, id: 'copy' });
  assert.ok(check.ok);
  assert.deepEqual({ ...check.rule, id: hidden.id }, fields, 'and in normal form');
  assert.throws(
    () => effectiveFirewallRules({ rules: [], listen: true, listeningPort: 0 }),
    /listening port 0 is not 1–65535/,
  );
});

test('a rule matching all six conditions replaces it, and is named', () => {
  const cases: Record<string, unknown>[] = [
    QUALIFYING,
    { ...QUALIFYING, action: 'bypass' },
    { ...QUALIFYING, ...ports(22, 4118, 443) }, // "a list that includes the port number"
    { ...QUALIFYING, ...ports('4000-4200') }, // a range containing it
    { ...QUALIFYING, destinationPortType: 'port-list', destinationPortMultiple: undefined, destinationPortListID: 9 },
    { ...QUALIFYING, ...ANY_SOURCE, sourceMACType: 'single', sourceMACValue: '02:00:00:00:00:01' }, // by MAC instead
    { ...QUALIFYING, sourceIPNot: true }, // every source but one: still a restriction of the port
    {
      ...QUALIFYING,
      sourcePortType: 'multiple',
      sourcePortMultiple: ['1024-65535'],
      destinationIPType: 'ip-list',
      destinationIPListID: 3,
    },
  ];
  const lists = { ipLists: { '3': ['198.18.0.2'] }, macLists: {}, portLists: { '9': ['22', '4100-4200'] } };
  for (const input of cases) {
    const r = rule(input);
    assert.deepEqual(hiddenRuleMismatches(r, 4118, lists), [], JSON.stringify(input));
    const eff = effectiveFirewallRules({
      rules: [rule({ id: 'other', action: 'allow', priority: 0, direction: 'incoming' }), r],
      lists,
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
    ['frame IPv4', { frameType: 'IPv4' }, ['frame type is ipv4, not ip']],
    ['frame IPv6', { frameType: 'IPv6', sourceIPValue: '2001:db8::1' }, ['frame type is ipv6, not ip']],
    ['frame any', { frameType: 'any' }, ['frame type is any, not ip']],
    ['protocol UDP', { protocol: 'UDP' }, ['protocol is udp, not tcp']],
    ['protocol tcp-udp', { protocol: 'tcp-udp' }, ['protocol is tcp-udp, not tcp']],
    ['TCP flags', { tcpflags: ['syn'] }, ['it tests TCP flags']],
    ['other port', ports(4119), ['destination ports do not include 4118']],
    ['range without it', ports('4119-4200'), ['destination ports do not include 4118']],
    [
      'port list without it',
      { destinationPortType: 'port-list', destinationPortListID: 10, destinationPortMultiple: undefined },
      ['destination ports do not include 4118'],
    ],
    ['any port', ANY_PORT, ['destination ports are any, not a list that includes 4118']],
    ['negated port', { ...ports(22), destinationPortNot: true }, ['destination ports are negated']],
    ['negated list naming the port', { destinationPortNot: true }, ['destination ports are negated']],
    [
      'protocol any',
      { protocol: 'any', ...ANY_PORT },
      ['protocol is any, not tcp', 'destination ports are any, not a list that includes 4118'],
    ],
    [
      'protocol not TCP',
      { protocolNot: true, ...ANY_PORT },
      ['protocol is not tcp, not tcp', 'destination ports are any, not a list that includes 4118'],
    ],
    [
      'frame not IP',
      { frameNot: true, protocol: 'any', ...ANY_PORT, ...ANY_SOURCE },
      [
        'frame type is not ip, not ip',
        'protocol is any, not tcp',
        'destination ports are any, not a list that includes 4118',
      ],
    ],
  ];
  const lists = { ipLists: {}, macLists: {}, portLists: { '10': ['4119-4200'] } };
  for (const [label, change, reasons] of cases) {
    const r = rule({ ...QUALIFYING, ...change });
    assert.deepEqual(hiddenRuleMismatches(r, 4118, lists), reasons, label);
    const eff = effectiveFirewallRules({ rules: [r], lists, listen: true });
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
      rules: [rule({ ...QUALIFYING, ...ports(4200) })],
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

test('the effective firewall carries the items of exactly the lists its rules name', () => {
  const r = rule({ ...QUALIFYING, ...ANY_SOURCE, sourceIPType: 'ip-list', sourceIPListID: 3 });
  const all = { ipLists: { '3': ['198.18.0.1'], '4': ['10.0.0.0/8'] }, macLists: { '1': [] }, portLists: {} };
  assert.deepEqual(effectiveFirewallRules({ rules: [r], lists: all, listen: false }).lists, {
    ipLists: { '3': ['198.18.0.1'] },
    macLists: {},
    portLists: {},
  });
  assert.throws(() => effectiveFirewallRules({ rules: [r], listen: false }), /sourceIPListID 3 names no IP list/);
});
