import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileFirewall, type FirewallPacket, firewallEvaluationOrder } from './firewall-evaluator.js';
import { effectiveFirewallRules } from './firewall-hidden-rule.js';
import { type FirewallRule, validateFirewallRule } from './firewall-rule.js';

let next = 0;
function rule(input: Record<string, unknown>): FirewallRule {
  const r = validateFirewallRule({ id: `r${++next}`, name: 'test', direction: 'incoming', priority: 0, ...input });
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.rule;
}

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

function decide(rules: FirewallRule[], packet: FirewallPacket = SSH) {
  return compileFirewall(rules).evaluate(packet);
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
  const web = rule({ id: 'web', action: 'allow', protocol: 'tcp', destinationPorts: [80, 443] });
  assert.deepEqual(decide([web]), { verdict: 'deny', ruleId: null, reason: 'out of allowed policy', logged: [] });
  assert.equal(decide([web], { ...SSH, destinationPort: 443 }).verdict, 'allow');
  // A force-allow or bypass match is not out of policy.
  assert.equal(
    decide([web, rule({ id: 'ssh', action: 'force-allow', protocol: 'tcp', destinationPorts: 22 })]).ruleId,
    'ssh',
  );
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

function matches(input: Record<string, unknown>, packet: FirewallPacket = SSH): boolean {
  return decide([rule({ action: 'deny', ...input })], packet).reason === 'deny';
}

test('frame type: IP is IPv4 or IPv6; inferred from the addresses; not flips it', () => {
  assert.ok(matches({ frameType: 'ip' }));
  assert.ok(matches({ frameType: 'ipv4' }));
  assert.ok(!matches({ frameType: 'ipv6' }));
  assert.ok(matches({ frameType: 'ipv6', frameTypeNot: true }));
  assert.ok(!matches({ frameType: 'ip' }, { direction: 'incoming', frameType: 'arp' }));
  assert.ok(matches({ frameType: 'arp' }, { direction: 'incoming', frameType: 0x0806 }));
  assert.ok(matches({ frameType: 'ip', frameTypeNot: true }, { direction: 'incoming', frameType: 0x88cc }));
  assert.ok(matches({ frameType: 0x88cc }, { direction: 'incoming', frameType: 0x88cc }));
  assert.ok(matches({ frameType: 'ipv6' }, { ...SSH, sourceIp: '2001:db8::9', destinationIp: '2001:db8::2' }));
});

test('protocol by name or number, with not', () => {
  assert.ok(matches({ protocol: 'tcp' }));
  assert.ok(matches({ protocol: 6 }));
  assert.ok(!matches({ protocol: 'udp' }));
  assert.ok(matches({ protocol: 'udp', protocolNot: true }));
  assert.ok(matches({ protocol: 47 }, { ...SSH, protocol: 47 }));
  assert.ok(matches({ protocol: 'icmpv6' }, { direction: 'incoming', protocol: 58, sourceIp: '::1' }));
});

test('IP addresses: single, CIDR, range, list, IPv4 and IPv6, not', () => {
  assert.ok(matches({ sourceIp: '198.18.0.9' }));
  assert.ok(matches({ sourceIp: '198.18.0.0/15' }));
  assert.ok(matches({ sourceIp: '198.18.0.1-198.18.0.9' }));
  assert.ok(!matches({ sourceIp: '198.18.0.10-198.18.0.20' }));
  assert.ok(matches({ sourceIp: ['10.0.0.0/8', '2001:db8::/32', '198.18.0.9'] }));
  assert.ok(!matches({ sourceIp: '198.18.0.9', sourceIpNot: true }));
  assert.ok(matches({ destinationIp: '198.18.0.9', destinationIpNot: true }));
  const v6 = { ...SSH, sourceIp: '2001:db8::9', destinationIp: '2001:db8::2' };
  assert.ok(matches({ sourceIp: '2001:db8::/64' }, v6));
  assert.ok(matches({ sourceIp: '2001:db8::1-2001:db8::ff' }, v6));
  assert.ok(!matches({ sourceIp: '2001:db8::a-2001:db8::ff' }, v6));
  assert.ok(matches({ sourceIp: '198.18.0.9', sourceIpNot: true }, v6), 'an IPv6 address is not in an IPv4 list');
});

test('an IPv4-mapped IPv6 peer (dual-stack socket) is matched as IPv4', () => {
  assert.ok(
    matches(
      { frameType: 'ipv4', sourceIp: '198.18.0.9' },
      { ...SSH, sourceIp: '::ffff:198.18.0.9', destinationIp: '::ffff:198.18.0.2' },
    ),
  );
});

test('MAC addresses in any spelling, with not', () => {
  assert.ok(matches({ sourceMac: '02-00-00-00-00-09' }));
  assert.ok(
    matches({ sourceMac: ['02:00:00:00:00:01', '02:00:00:00:00:09'] }, { ...SSH, sourceMac: '02-00-00-00-00-09' }),
  );
  assert.ok(!matches({ sourceMac: '02:00:00:00:00:09', sourceMacNot: true }));
  assert.ok(matches({ destinationMac: '02:00:00:00:00:09', destinationMacNot: true }));
});

test('ports: lists and ranges, with not', () => {
  assert.ok(matches({ protocol: 'tcp', destinationPorts: [80, '20-30'] }));
  assert.ok(!matches({ protocol: 'tcp', destinationPorts: ['23-30'] }));
  assert.ok(matches({ protocol: 'tcp', destinationPorts: [80], destinationPortsNot: true }));
  assert.ok(matches({ protocol: 'tcp', sourcePorts: ['32768-60999'] }));
  assert.ok(!matches({ protocol: 'tcp', sourcePorts: ['32768-60999'], sourcePortsNot: true }));
});

test('a field the packet lacks never matches, with or without not (as nftables)', () => {
  const bare: FirewallPacket = { direction: 'incoming' };
  for (const input of [
    { frameType: 'ipv4', frameTypeNot: true },
    { protocol: 'tcp', protocolNot: true },
    { sourceIp: '10.0.0.1', sourceIpNot: true },
    { destinationMac: '02:00:00:00:00:01', destinationMacNot: true },
    { protocol: 'tcp', destinationPorts: 22, destinationPortsNot: true },
  ]) {
    assert.ok(!matches(input, bare), JSON.stringify(input));
  }
  assert.ok(matches({}, bare), 'a rule with no matches matches everything');
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
    protocol: 'tcp',
    destinationPorts: 4118,
    sourceIp: '198.18.0.1',
  });
  const closePort = rule({ id: 'close-4118', action: 'deny', priority: 4, protocol: 'tcp', destinationPorts: 4118 });
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
