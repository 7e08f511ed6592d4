import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type FirewallRule,
  formatIpv6,
  parseIpEntry,
  parseIpv4,
  parseIpv6,
  validateFirewallRule,
  validateFirewallRules,
} from './firewall-rule.js';

const BASE = { id: 'r1', name: 'a rule', action: 'allow', priority: 0, direction: 'incoming' };

function valid(input: Record<string, unknown>): FirewallRule {
  const r = validateFirewallRule({ ...BASE, ...input });
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.rule;
}

function problems(input: Record<string, unknown>): readonly string[] {
  const r = validateFirewallRule({ ...BASE, ...input });
  assert.equal(r.ok, false, 'expected problems');
  return r.ok ? [] : r.problems;
}

test('a minimal rule matches anything, with every not flag false, and is frozen', () => {
  const rule = valid({});
  assert.deepEqual(rule, {
    id: 'r1',
    name: 'a rule',
    description: '',
    action: 'allow',
    priority: 0,
    direction: 'incoming',
    frameType: 'any',
    frameTypeNot: false,
    protocol: 'any',
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
    destinationPorts: 'any',
    destinationPortsNot: false,
  });
  assert.ok(Object.isFrozen(rule));
  assert.ok(Object.isFrozen(valid({ protocol: 'tcp', destinationPorts: [80] }).destinationPorts));
});

test('normalizes Deep Security spellings, EtherType and protocol numbers', () => {
  const rule = valid({
    id: 17,
    action: 'Force Allow',
    priority: '4',
    direction: 'Incoming',
    frameType: 0x0800,
    protocol: 17,
    sourceMac: '00-1A-2B-3C-4D-5E',
    destinationPorts: ['53', '8000 - 8080', 53, '99-99'],
  });
  assert.equal(rule.id, '17');
  assert.equal(rule.action, 'force-allow');
  assert.equal(rule.priority, 4);
  assert.equal(rule.frameType, 'ipv4');
  assert.equal(rule.protocol, 'udp');
  assert.deepEqual(rule.sourceMac, ['00:1a:2b:3c:4d:5e']);
  assert.deepEqual(rule.destinationPorts, [53, '8000-8080', 99]);
  assert.equal(valid({ action: 'LOG_ONLY' }).action, 'log-only');
  assert.equal(valid({ frameType: 'IPv6' }).frameType, 'ipv6');
  assert.equal(valid({ frameType: '0x88cc' }).frameType, 0x88cc);
  assert.equal(valid({ frameType: 0x0806 }).frameType, 'arp');
  assert.equal(valid({ protocol: 'ICMPv6' }).protocol, 'icmpv6');
  assert.equal(valid({ protocol: 47 }).protocol, 47);
  assert.equal(valid({ protocol: '1' }).protocol, 'icmp');
});

test('problems carry field paths', () => {
  assert.deepEqual(problems({ protocol: 'tcp', destinationPorts: [80, 70000] }), [
    'destinationPorts[1]: 70000 is not a port',
  ]);
  assert.deepEqual(problems({ protocol: 'tcp', sourcePorts: '80,x' }), ['sourcePorts: "x" is not a port']);
  assert.deepEqual(problems({ sourceIp: ['10.0.0.1', '10.0.0.300'] }), [
    'sourceIp[1]: "10.0.0.300" is not an IP address, CIDR block or range',
  ]);
  assert.deepEqual(problems({ destinationMac: ['00:11:22:33:44'] }), [
    'destinationMac[0]: "00:11:22:33:44" is not a MAC address (six hex pairs separated by : or -)',
  ]);
});

test('reports every problem at once, including unknown fields', () => {
  const r = validateFirewallRule({ id: 'x', action: 'permit', priority: 5, direction: 'in', destinationPort: 22 });
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.problems, [
    'destinationPort: is not a firewall rule field',
    'name: is required',
    'action: "permit" is not one of log-only, allow, deny, force-allow, bypass',
    'priority: 5 is not a priority (0 lowest … 4 highest)',
    'direction: "in" is not one of incoming, outgoing',
  ]);
  assert.deepEqual(validateFirewallRule('rule'), { ok: false, problems: ['(rule): "rule" is not an object'] });
});

test('ids name nftables counters: a restricted charset, and the hidden- prefix is reserved', () => {
  assert.match(problems({ id: 'a b' })[0]!, /^id: "a b" is not an id/);
  assert.match(problems({ id: '-a' })[0]!, /^id: "-a" is not an id/);
  assert.match(problems({ id: 'x'.repeat(65) })[0]!, /is not an id/);
  assert.deepEqual(problems({ id: 'hidden-listening-port' }), [
    'id: ids starting with "hidden-" are reserved for rules core synthesizes',
  ]);
  assert.equal(valid({ id: 'Web_1-a' }).id, 'Web_1-a');
});

test('IP matches: single, CIDR, range and lists, IPv4 and IPv6, in canonical text', () => {
  const rule = valid({
    sourceIp: [
      '10.0.0.0/8',
      '192.0.2.7',
      '192.0.2.10 - 192.0.2.20',
      '2001:DB8:0:0::/32',
      '2001:db8::0001',
      '10.9.9.9/32',
      '192.0.2.7',
    ],
    destinationIp: '198.18.0.1,198.18.0.2',
  });
  assert.deepEqual(rule.sourceIp, [
    '10.0.0.0/8',
    '192.0.2.7',
    '192.0.2.10-192.0.2.20',
    '2001:db8::/32',
    '2001:db8::1',
    '10.9.9.9',
  ]);
  assert.deepEqual(rule.destinationIp, ['198.18.0.1', '198.18.0.2']);
  assert.deepEqual(problems({ sourceIp: '10.0.0.1/8' }), [
    'sourceIp: "10.0.0.1/8" has host bits set (the block is 10.0.0.0/8)',
  ]);
  assert.deepEqual(problems({ sourceIp: '10.0.0.0/33' }), ['sourceIp: "10.0.0.0/33": prefix length must be 0–32']);
  assert.deepEqual(problems({ sourceIp: '10.0.0.9-10.0.0.1' }), [
    'sourceIp: "10.0.0.9-10.0.0.1": range starts after it ends',
  ]);
  assert.deepEqual(problems({ sourceIp: '10.0.0.1-::1' }), ['sourceIp: "10.0.0.1-::1" mixes IPv4 and IPv6']);
  assert.deepEqual(problems({ sourceIp: [] }), ["sourceIp: is an empty list (use 'any')"]);
  assert.match(problems({ sourceIp: '010.0.0.1' })[0]!, /is not an IP address/);
  assert.match(problems({ sourceIp: 'fe80::1%eth0' })[0]!, /is not an IP address/);
});

test('parses and prints addresses per RFC 4291 and RFC 5952', () => {
  assert.equal(parseIpv4('255.255.255.255'), 0xffffffff);
  assert.equal(parseIpv4('1.2.3'), null);
  assert.equal(parseIpv4('1.2.3.04'), null);
  const cases: [string, string][] = [
    ['::', '::'],
    ['::1', '::1'],
    ['2001:0DB8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // §4.2.3: first of equal runs
    ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'], // §4.2.3: longest run
    ['fe80::1:2:3:4:5:6', 'fe80:0:1:2:3:4:5:6'], // §4.2.2: never "::" for one group
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // §5: mapped addresses in mixed notation
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ['1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:0'],
  ];
  for (const [input, canonical] of cases) assert.equal(formatIpv6(parseIpv6(input)!), canonical, input);
  for (const bad of [
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '12345::',
    ':1',
    '1:2:3:4:5:6:7::8',
    'g::1',
    '1:2:3:4:5:6::1.2.3.4',
  ]) {
    assert.equal(parseIpv6(bad), null, bad);
  }
  assert.deepEqual(parseIpEntry('2001:db8::/126'), {
    family: 6,
    low: 0x20010db8n << 96n,
    high: (0x20010db8n << 96n) | 3n,
    text: '2001:db8::/126',
  });
});

test('"not any" is refused: it would match nothing', () => {
  assert.deepEqual(problems({ sourceIpNot: true }), [
    'sourceIpNot: "not any" matches nothing; set sourceIp or clear the flag',
  ]);
  assert.deepEqual(problems({ frameTypeNot: true }), [
    'frameTypeNot: "not any" matches nothing; set frameType or clear the flag',
  ]);
  assert.equal(valid({ sourceIp: '10.0.0.1', sourceIpNot: true }).sourceIpNot, true);
  assert.deepEqual(problems({ sourceIpNot: 'yes', sourceIp: '10.0.0.1' }), ['sourceIpNot: "yes" is not true or false']);
});

test('ports only for TCP or UDP', () => {
  for (const protocol of [undefined, 'icmp', 47]) {
    assert.deepEqual(problems({ protocol, destinationPorts: 22 }), [
      `destinationPorts: ports are only meaningful for protocol TCP or UDP (protocol is ${protocol ?? 'any'})`,
    ]);
  }
  assert.deepEqual(problems({ protocol: 'tcp', protocolNot: true, sourcePorts: 22 }), [
    'sourcePorts: ports are only meaningful for protocol TCP or UDP (protocol is not tcp)',
  ]);
  assert.deepEqual(valid({ protocol: 'udp', sourcePorts: 'any', destinationPorts: '67-68' }).destinationPorts, [
    '67-68',
  ]);
});

test('non-IP frames carry no protocol or address; a list with no entry of the frame family never matches', () => {
  assert.deepEqual(problems({ frameType: 'arp', protocol: 'tcp', sourceIp: '10.0.0.1' }), [
    'protocol: only IP frames carry a protocol (frame type is arp)',
    'sourceIp: only IP frames carry IP addresses (frame type is arp)',
  ]);
  assert.deepEqual(problems({ frameType: 'ip', frameTypeNot: true, destinationIp: '10.0.0.1' }), [
    'destinationIp: only IP frames carry IP addresses (frame type is not ip)',
  ]);
  assert.deepEqual(problems({ frameType: 'ipv4', sourceIp: '2001:db8::1' }), [
    'sourceIp: has no IPv4 entry, so it never matches frame type ipv4',
  ]);
  // …but "not 2001:db8::1" on IPv4 frames is every IPv4 packet, and a MAC list suits any frame.
  assert.equal(valid({ frameType: 'ipv4', sourceIp: '2001:db8::1', sourceIpNot: true }).frameType, 'ipv4');
  assert.equal(valid({ frameType: 'arp', sourceMac: '00:11:22:33:44:55' }).frameType, 'arp');
});

test('a rule list: problems prefixed by index, the same rule twice kept once, two rules with one id refused', () => {
  const a = { ...BASE };
  const b = { ...BASE, id: 'r2', protocol: 'tcp', destinationPorts: [1, 70000] };
  assert.deepEqual(validateFirewallRules([a, b]), {
    ok: false,
    problems: ['[1].destinationPorts[1]: 70000 is not a port'],
  });
  const twice = validateFirewallRules([a, { ...a, action: 'Allow' }]);
  assert.equal(twice.ok && twice.rules.length, 1);
  assert.deepEqual(validateFirewallRules([a, { ...a, action: 'deny' }]), {
    ok: false,
    problems: ['(rules): two different rules have id "r1"'],
  });
  assert.deepEqual(validateFirewallRules({}), { ok: false, problems: ['(rules): an object is not a list'] });
});
