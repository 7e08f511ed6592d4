import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileFirewall, type FirewallPacket, firewallEvaluationOrder } from './firewall-evaluator.js';
import { effectiveFirewallRules } from './firewall-hidden-rule.js';
import type { FirewallListContents } from './firewall-lists.js';
import { type FirewallRule, validateFirewallRule } from './firewall-rule.js';

let next = 0;
function rule(input: Record<string, unknown>): FirewallRule {
  const r = validateFirewallRule({ id: `r${++next}`, name: 'test', direction: 'incoming', priority: 0, ...input });
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.rule;
}

/** `sourceIPType: multiple` (or another side/kind) with these entries. */
const multiple = (member: string, entries: (string | number)[]) => ({
  [`${member}Type`]: 'multiple',
  [`${member}Multiple`]: entries.map(String),
});
const tcpTo = (...ports: (string | number)[]) => ({ protocol: 'tcp', ...multiple('destinationPort', ports) });

const SSH: FirewallPacket = {
  direction: 'incoming',
  protocol: 'tcp',
  sourceIp: '198.18.0.9',
  destinationIp: '198.18.0.2',
  sourcePort: 40000,
  destinationPort: 22,
  sourceMac: '02:00:00:00:00:09',
  destinationMac: '02:00:00:00:00:02',
};

function decide(rules: FirewallRule[], packet: FirewallPacket = SSH, lists?: FirewallListContents) {
  return compileFirewall(rules, lists).evaluate(packet);
}

// Deep Security: within one priority "bypass, log only, force allow, deny, allow"
// (about-firewall.html); a higher priority decides before a lower one.
test('within one priority: bypass, then force-allow, then deny, then allow — whatever the list order', () => {
  const bypass = rule({ id: 'bypass', action: 'bypass' });
  const force = rule({ id: 'force', action: 'force-allow' });
  const deny = rule({ id: 'deny', action: 'deny' });
  const allow = rule({ id: 'allow', action: 'allow' });
  assert.deepEqual(decide([allow, deny, force, bypass]), {
    verdict: 'allow',
    ruleId: 'bypass',
    reason: 'bypass',
    logged: [],
  });
  assert.deepEqual(decide([allow, deny, force]), {
    verdict: 'allow',
    ruleId: 'force',
    reason: 'force-allow',
    logged: [],
  });
  assert.deepEqual(decide([allow, deny]), { verdict: 'deny', ruleId: 'deny', reason: 'deny', logged: [] });
  assert.deepEqual(decide([allow]), { verdict: 'allow', ruleId: 'allow', reason: 'allow', logged: [] });
  // Same priority and action: list order.
  const deny2 = rule({ id: 'deny2', action: 'deny' });
  assert.equal(decide([deny2, deny]).ruleId, 'deny2');
});

test('across priorities the higher one decides', () => {
  const deny3 = rule({ id: 'deny3', action: 'deny', priority: 3 });
  const force2 = rule({ id: 'force2', action: 'force-allow', priority: 2 });
  const bypass0 = rule({ id: 'bypass0', action: 'bypass', priority: 0 });
  assert.equal(decide([bypass0, force2, deny3]).ruleId, 'deny3');
  const force4 = rule({ id: 'force4', action: 'force-allow', priority: 4 });
  assert.equal(decide([bypass0, force2, deny3, force4]).ruleId, 'force4');
  // Any action may sit at any priority here (Deep Security keeps allow at 0): an allow at 3
  // beats a deny at 2.
  assert.equal(
    decide([rule({ action: 'deny', priority: 2 }), rule({ id: 'allow3', action: 'allow', priority: 3 })]).ruleId,
    'allow3',
  );
  assert.deepEqual(
    firewallEvaluationOrder([bypass0, force2, deny3, force4]).map((r) => r.id),
    ['force4', 'deny3', 'force2', 'bypass0'],
  );
});

test('an allow rule implicitly denies the rest of its direction, "out of allowed policy"', () => {
  const web = rule({ id: 'web', action: 'allow', ...tcpTo(80, 443) });
  assert.deepEqual(decide([web]), { verdict: 'deny', ruleId: null, reason: 'out of allowed policy', logged: [] });
  assert.equal(decide([web], { ...SSH, destinationPort: 443 }).verdict, 'allow');
  // A force-allow or bypass match is not out of policy.
  assert.equal(decide([web, rule({ id: 'ssh', action: 'force-allow', ...tcpTo(22) })]).ruleId, 'ssh');
  // The other direction has no allow rule: unmatched traffic passes.
  assert.deepEqual(decide([web], { ...SSH, direction: 'outgoing' }), {
    verdict: 'allow',
    ruleId: null,
    reason: 'no rules',
    logged: [],
  });
});

test('without an allow rule unmatched traffic passes: "no rules" or "no match"', () => {
  assert.deepEqual(decide([]), { verdict: 'allow', ruleId: null, reason: 'no rules', logged: [] });
  assert.deepEqual(decide([rule({ action: 'deny', protocol: 'udp' })]), {
    verdict: 'allow',
    ruleId: null,
    reason: 'no match',
    logged: [],
  });
  assert.deepEqual(decide([rule({ id: 'log', action: 'log-only' })]), {
    verdict: 'allow',
    ruleId: null,
    reason: 'no rules',
    logged: ['log'],
  });
});

test('log-only rules are recorded, never decide, and sit after bypass but before force-allow', () => {
  const log4 = rule({ id: 'log4', action: 'log-only', priority: 4 });
  const log0 = rule({ id: 'log0', action: 'log-only', priority: 0 });
  const deny = rule({ id: 'deny', action: 'deny', priority: 2 });
  assert.deepEqual(decide([log0, deny, log4]), { verdict: 'deny', ruleId: 'deny', reason: 'deny', logged: ['log4'] });
  assert.deepEqual(decide([rule({ id: 'force4', action: 'force-allow', priority: 4 }), log4]).logged, ['log4']);
  // Bypass skips everything after it, logging included (Deep Security: no log entry for bypass).
  assert.deepEqual(decide([rule({ id: 'bypass4', action: 'bypass', priority: 4 }), log4]).logged, []);
});

test('established and loopback packets are allowed before any rule, as the nftables chain does', () => {
  const denyAll = rule({ action: 'deny', priority: 4 });
  assert.deepEqual(decide([denyAll], { ...SSH, established: true }), {
    verdict: 'allow',
    ruleId: null,
    reason: 'established',
    logged: [],
  });
  assert.deepEqual(decide([denyAll], { ...SSH, loopback: true }), {
    verdict: 'allow',
    ruleId: null,
    reason: 'loopback',
    logged: [],
  });
});

function matches(input: Record<string, unknown>, packet: FirewallPacket = SSH, lists?: FirewallListContents): boolean {
  return decide([rule({ action: 'deny', ...input })], packet, lists).reason === 'deny';
}

test('frame type: ip is IPv4 or IPv6; inferred from the addresses; not flips it', () => {
  assert.ok(matches({ frameType: 'ip' }));
  assert.ok(matches({ frameType: 'ipv4' }));
  assert.ok(!matches({ frameType: 'ipv6' }));
  assert.ok(matches({ frameType: 'ipv6', frameNot: true }));
  assert.ok(!matches({ frameType: 'ip' }, { direction: 'incoming', frameType: 'arp' }));
  assert.ok(matches({ frameType: 'arp' }, { direction: 'incoming', frameType: 0x0806 }));
  assert.ok(matches({ frameType: 'revarp' }, { direction: 'incoming', frameType: 'revarp' }));
  assert.ok(matches({ frameType: 'ip', frameNot: true }, { direction: 'incoming', frameType: 0x88cc }));
  assert.ok(matches({ frameType: 'other', frameNumber: 0x88cc }, { direction: 'incoming', frameType: 0x88cc }));
  assert.ok(matches({ frameType: 'any' }, { direction: 'incoming', frameType: 0x88cc }));
  assert.ok(matches({ frameType: 'ipv6' }, { ...SSH, sourceIp: '2001:db8::9', destinationIp: '2001:db8::2' }));
});

test('protocol by name or number, tcp-udp both, with not', () => {
  assert.ok(matches({ protocol: 'tcp' }));
  assert.ok(matches({ protocol: 'other', protocolNumber: 6 }));
  assert.ok(!matches({ protocol: 'udp' }));
  assert.ok(matches({ protocol: 'udp', protocolNot: true }));
  assert.ok(matches({ protocol: 'tcp-udp' }));
  assert.ok(matches({ protocol: 'tcp-udp' }, { ...SSH, protocol: 'udp' }));
  assert.ok(!matches({ protocol: 'tcp-udp', protocolNot: true }));
  assert.ok(matches({ protocol: 'other', protocolNumber: 47 }, { ...SSH, protocol: 47 }));
  assert.ok(matches({ protocol: 'igmp' }, { ...SSH, protocol: 2 }));
  assert.ok(matches({ protocol: 'icmpv6' }, { direction: 'incoming', protocol: 58, sourceIp: '::1' }));
});

test('IP addresses: single, masked, range, multiple and lists, IPv4 and IPv6, not', () => {
  assert.ok(matches({ sourceIPType: 'single', sourceIPValue: '198.18.0.9' }));
  assert.ok(matches({ sourceIPType: 'masked-ip', sourceIPValue: '198.18.0.0', sourceIPMask: '255.254.0.0' }));
  assert.ok(matches({ sourceIPType: 'masked-ip', sourceIPValue: '198.18.0.0', sourceIPMask: '15' }));
  assert.ok(matches({ sourceIPType: 'range', sourceIPRangeFrom: '198.18.0.1', sourceIPRangeTo: '198.18.0.9' }));
  assert.ok(!matches({ sourceIPType: 'range', sourceIPRangeFrom: '198.18.0.10', sourceIPRangeTo: '198.18.0.20' }));
  assert.ok(matches(multiple('sourceIP', ['10.0.0.0/8', '2001:db8::/32', '198.18.0.9'])));
  assert.ok(!matches({ sourceIPType: 'single', sourceIPValue: '198.18.0.9', sourceIPNot: true }));
  assert.ok(matches({ destinationIPType: 'single', destinationIPValue: '198.18.0.9', destinationIPNot: true }));
  const v6 = { ...SSH, sourceIp: '2001:db8::9', destinationIp: '2001:db8::2' };
  assert.ok(matches(multiple('sourceIP', ['2001:db8::/64']), v6));
  assert.ok(matches(multiple('sourceIP', ['2001:db8::1-2001:db8::ff']), v6));
  assert.ok(!matches(multiple('sourceIP', ['2001:db8::a-2001:db8::ff']), v6));
  assert.ok(
    matches({ sourceIPType: 'single', sourceIPValue: '198.18.0.9', sourceIPNot: true }, v6),
    'an IPv6 address is not in an IPv4 list',
  );
  const lists = { ipLists: { '7': ['10.0.0.0/8 # corp', '198.18.0.0/255.254.0.0'] }, macLists: {}, portLists: {} };
  assert.ok(matches({ sourceIPType: 'ip-list', sourceIPListID: 7 }, SSH, lists));
  assert.ok(!matches({ sourceIPType: 'ip-list', sourceIPListID: 7, sourceIPNot: true }, SSH, lists));
  assert.throws(
    () => matches({ sourceIPType: 'ip-list', sourceIPListID: 8 }, SSH, lists),
    /names IP list 8, which is not given/,
  );
});

test('an IPv4-mapped IPv6 peer (dual-stack socket) is matched as IPv4', () => {
  assert.ok(
    matches(
      { frameType: 'ipv4', sourceIPType: 'single', sourceIPValue: '198.18.0.9' },
      { ...SSH, sourceIp: '::ffff:198.18.0.9', destinationIp: '::ffff:198.18.0.2' },
    ),
  );
});

test('MAC addresses in any spelling, single, multiple and lists, with not', () => {
  assert.ok(matches({ sourceMACType: 'single', sourceMACValue: '02-00-00-00-00-09' }));
  assert.ok(
    matches(multiple('sourceMAC', ['02:00:00:00:00:01', '02:00:00:00:00:09']), {
      ...SSH,
      sourceMac: '02-00-00-00-00-09',
    }),
  );
  assert.ok(!matches({ sourceMACType: 'single', sourceMACValue: '02:00:00:00:00:09', sourceMACNot: true }));
  assert.ok(
    matches({ destinationMACType: 'single', destinationMACValue: '02:00:00:00:00:09', destinationMACNot: true }),
  );
  const lists = { ipLists: {}, macLists: { '2': ['02:00:00:00:00:09'] }, portLists: {} };
  assert.ok(matches({ sourceMACType: 'mac-list', sourceMACListID: 2 }, SSH, lists));
});

test('ports: multiple and lists, ranges, tcp-udp, with not', () => {
  assert.ok(matches(tcpTo(80, '20-30')));
  assert.ok(!matches(tcpTo('23-30')));
  assert.ok(matches({ ...tcpTo(80), destinationPortNot: true }));
  assert.ok(matches({ protocol: 'tcp', ...multiple('sourcePort', ['32768-60999']) }));
  assert.ok(!matches({ protocol: 'tcp', ...multiple('sourcePort', ['32768-60999']), sourcePortNot: true }));
  assert.ok(matches({ protocol: 'tcp-udp', ...multiple('destinationPort', [22]) }, { ...SSH, protocol: 'udp' }));
  const lists = { ipLists: {}, macLists: {}, portLists: { '4': ['22', '# admin ports', '8000-8080'] } };
  assert.ok(matches({ protocol: 'tcp', destinationPortType: 'port-list', destinationPortListID: 4 }, SSH, lists));
});

test('TCP flags: every listed flag set, with not; ICMP type and code, with not', () => {
  const syn = { ...SSH, tcpFlags: ['syn'] as const };
  assert.ok(matches({ protocol: 'tcp', tcpflags: ['syn'] }, syn));
  assert.ok(!matches({ protocol: 'tcp', tcpflags: ['syn', 'ack'] }, syn));
  assert.ok(matches({ protocol: 'tcp', tcpflags: ['syn', 'ack'] }, { ...SSH, tcpFlags: ['syn', 'ack', 'psh'] }));
  assert.ok(matches({ protocol: 'tcp', tcpflags: ['rst'], TCPNot: true }, syn));
  assert.ok(!matches({ protocol: 'tcp', tcpflags: ['syn'] }), 'flags unknown: no match');
  const ping: FirewallPacket = {
    direction: 'incoming',
    protocol: 'icmp',
    sourceIp: '198.18.0.9',
    icmpType: 8,
    icmpCode: 0,
  };
  assert.ok(matches({ protocol: 'icmp', ICMPType: 8 }, ping));
  assert.ok(matches({ protocol: 'icmp', ICMPType: 8, ICMPCode: 0 }, ping));
  assert.ok(!matches({ protocol: 'icmp', ICMPType: 8, ICMPCode: 1 }, ping));
  assert.ok(!matches({ protocol: 'icmp', ICMPType: 8, ICMPNot: true }, ping));
  assert.ok(matches({ protocol: 'icmp', ICMPType: 0, ICMPNot: true }, ping));
});

test('a member the packet lacks never matches, with or without not (as nftables)', () => {
  const bare: FirewallPacket = { direction: 'incoming' };
  for (const input of [
    { frameType: 'ipv4', frameNot: true },
    { protocol: 'tcp', protocolNot: true },
    { sourceIPType: 'single', sourceIPValue: '10.0.0.1', sourceIPNot: true },
    { destinationMACType: 'single', destinationMACValue: '02:00:00:00:00:01', destinationMACNot: true },
    { ...tcpTo(22), destinationPortNot: true },
  ]) {
    assert.ok(!matches(input, bare), JSON.stringify(input));
  }
  assert.ok(matches({ frameType: 'any' }, bare), 'a rule with no matches matches everything');
});

test('bad packets are programming errors', () => {
  const m = compileFirewall([]);
  assert.throws(() => m.evaluate({ ...SSH, sourceIp: 'nope' }), /packet sourceIp "nope" is not an IP address/);
  assert.throws(() => m.evaluate({ ...SSH, direction: 'sideways' as 'incoming' }), /not incoming or outgoing/);
});

test('the same rule twice is one rule; two rules with one id are refused', () => {
  const a = rule({ id: 'same', action: 'deny' });
  assert.equal(compileFirewall([a, a]).rules.length, 1);
  assert.throws(
    () => compileFirewall([a, rule({ id: 'same', action: 'allow' })]),
    /two different rules have id "same"/,
  );
});

// The listener checks each peer against the effective rules (issue 6). Replacing the hidden rule
// only removes its bypass; to shut other peers out the policy also needs a deny (or an allow rule
// elsewhere in the direction, which brings the implicit deny).
test('listener check: hidden rule admits anyone; a replacing rule plus a deny admits only the manager', () => {
  const peer = (sourceIp: string): FirewallPacket => ({
    direction: 'incoming',
    protocol: 'tcp',
    sourceIp,
    destinationIp: '198.18.0.2',
    sourcePort: 50000,
    destinationPort: 4118,
  });
  const hidden = compileFirewall(effectiveFirewallRules({ rules: [], listen: true }).rules);
  assert.deepEqual(hidden.evaluate(peer('198.18.0.9')), {
    verdict: 'allow',
    ruleId: 'hidden-listening-port',
    reason: 'bypass',
    logged: [],
  });

  const onlyManager = rule({
    id: 'only-manager',
    action: 'force-allow',
    priority: 4,
    frameType: 'ip',
    ...tcpTo(4118),
    sourceIPType: 'single',
    sourceIPValue: '198.18.0.1',
  });
  const closePort = rule({ id: 'close-4118', action: 'deny', priority: 4, ...tcpTo(4118) });
  const effective = effectiveFirewallRules({ rules: [onlyManager, closePort], listen: true });
  assert.equal(effective.replacedBy, 'only-manager');
  const m = compileFirewall(effective.rules);
  assert.equal(m.evaluate(peer('198.18.0.1')).ruleId, 'only-manager');
  assert.deepEqual(m.evaluate(peer('198.18.0.9')), {
    verdict: 'deny',
    ruleId: 'close-4118',
    reason: 'deny',
    logged: [],
  });
  // Without the deny, the replaced port is as open as any other port.
  assert.equal(
    compileFirewall(effectiveFirewallRules({ rules: [onlyManager], listen: true }).rules).evaluate(peer('198.18.0.9'))
      .verdict,
    'allow',
  );
});
