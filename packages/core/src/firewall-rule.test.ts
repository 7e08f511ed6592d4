import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatIpv6, parseIpEntry, parseIpMask, parseIpv4, parseIpv6, parsePortEntry } from './firewall-addresses.js';
import { type FirewallRule, mergeFirewallRule, validateFirewallRule, validateFirewallRules } from './firewall-rule.js';

const BASE = { id: 'r1', name: 'a rule', action: 'allow' };

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

test('a new rule takes Deep Security\'s defaults: frame ip (2048), priority "0", incoming, every match any', () => {
  const rule = valid({});
  assert.deepEqual(rule, {
    id: 'r1',
    name: 'a rule',
    description: '',
    action: 'allow',
    priority: '0',
    direction: 'incoming',
    frameType: 'ip',
    frameNumber: 2048,
    frameNot: false,
    protocol: 'any',
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
    destinationPortType: 'any',
    destinationPortNot: false,
    anyFlags: true,
    logDisabled: false,
    includePacketData: false,
    alertEnabled: false,
    TCPNot: false,
    ICMPNot: false,
  });
  assert.ok(Object.isFrozen(rule));
});

test('normalizing a normalized rule gives it back unchanged (read, send back, nothing changes)', () => {
  const rules = [
    valid({}),
    valid({
      action: 'force-allow',
      priority: '4',
      protocol: 'tcp',
      sourceIPType: 'masked-ip',
      sourceIPValue: '10.0.0.0',
      sourceIPMask: '255.0.0.0',
      destinationIPType: 'range',
      destinationIPRangeFrom: '198.18.0.1',
      destinationIPRangeTo: '198.18.0.9',
      sourceMACType: 'multiple',
      sourceMACMultiple: ['00-1A-2B-3C-4D-5E', '00:11:22:33:44:55'],
      destinationPortType: 'multiple',
      destinationPortMultiple: ['22', '8000 - 8080'],
      tcpflags: ['syn'],
    }),
    valid({ frameType: 'other', frameNumber: 0x88cc, description: 'LLDP' }),
    valid({ protocol: 'icmp', ICMPType: 8, ICMPCode: 0, ICMPNot: true }),
    valid({ protocol: 'other', protocolNumber: 47 }),
    valid({ sourceIPType: 'ip-list', sourceIPListID: 3, destinationMACType: 'mac-list', destinationMACListID: 4 }),
    valid({ protocol: 'tcp-udp', sourcePortType: 'port-list', sourcePortListID: 5, sourcePortNot: true }),
  ];
  for (const rule of rules) {
    const again = validateFirewallRule(JSON.parse(JSON.stringify(rule)));
    assert.ok(again.ok, again.ok ? '' : again.problems.join('; '));
    assert.deepEqual(again.rule, rule);
    assert.equal(JSON.stringify(again.rule), JSON.stringify(rule), 'same member order too');
  }
});

test('accepts the spellings Deep Security clients send', () => {
  const rule = valid({
    id: 17,
    action: 'Force Allow',
    priority: 4,
    direction: 'Incoming',
    frameType: 'IPv4',
    frameNumber: 2048,
    protocol: 'UDP',
    protocolNumber: 17,
    destinationPortType: 'multiple',
    destinationPortMultiple: ['53', 67, '8000 - 8080,9000'],
    scheduleID: 0,
    contextID: null,
    description: null,
  });
  assert.equal(rule.id, '17');
  assert.equal(rule.action, 'force-allow');
  assert.equal(rule.priority, '4');
  assert.equal(rule.frameType, 'ipv4');
  assert.equal(rule.protocol, 'udp');
  assert.equal(rule.protocolNumber, undefined);
  assert.deepEqual(rule.destinationPortMultiple, ['53', '67', '8000-8080', '9000']);
  assert.equal(valid({ action: 'LOG_ONLY' }).action, 'log-only');
  assert.equal(valid({ frameType: 'revarp' }).frameNumber, 0x8035);
  assert.equal(valid({ frameType: 'other', frameNumber: '0x88cc' }).frameNumber, 0x88cc);
  assert.deepEqual(valid({ protocol: 'tcp', TCPFlags: ['ACK', 'syn'] }).tcpflags, ['syn', 'ack']);
  assert.equal(valid({ sourceIPType: 'any', sourceIPListID: 0 }).sourceIPListID, undefined);
});

test('reports every problem at once, with member paths, including unknown members', () => {
  const r = validateFirewallRule({
    id: 'x',
    action: 'permit',
    priority: 5,
    direction: 'in',
    destinationPort: 22,
    frameType: 'ip',
    frameNumber: 2054,
  });
  assert.equal(r.ok, false);
  assert.deepEqual(!r.ok && r.problems, [
    'destinationPort: is not a firewall rule member',
    'name: is required',
    'action: "permit" is not one of log-only, allow, deny, force-allow, bypass',
    'priority: 5 is not a priority ("0" lowest … "4" highest)',
    'direction: "in" is not one of incoming, outgoing',
    "frameNumber: 2054 is not frameType ip's number (2048); use frameType other for another EtherType",
  ]);
  assert.deepEqual(validateFirewallRule('rule'), { ok: false, problems: ['(rule): "rule" is not an object'] });
  assert.deepEqual(
    problems({ protocol: 'tcp', destinationPortType: 'multiple', destinationPortMultiple: ['80', 70000] }),
    ['destinationPortMultiple[1]: "70000" is not a port (0–65535) or range (from-to)'],
  );
  assert.deepEqual(problems({ sourceIPType: 'multiple', sourceIPMultiple: ['10.0.0.1', '10.0.0.300'] }), [
    'sourceIPMultiple[1]: "10.0.0.300" is not an IP address, masked IP or range',
  ]);
  assert.deepEqual(problems({ destinationMACType: 'single', destinationMACValue: '00:11:22:33:44' }), [
    'destinationMACValue: "00:11:22:33:44" is not a MAC address (six hex pairs separated by : or -)',
  ]);
});

test('ids name nftables counters: a restricted charset, and the hidden- prefix is reserved', () => {
  assert.match(problems({ id: 'a b' })[0]!, /^id: "a b" is not an id/);
  assert.match(problems({ id: '-a' })[0]!, /^id: "-a" is not an id/);
  assert.deepEqual(problems({ id: 'hidden-listening-port' }), [
    'id: ids starting with "hidden-" are reserved for rules core synthesizes',
  ]);
  assert.equal(valid({ id: 'Web_1-a' }).id, 'Web_1-a');
});

test('each IP type takes its own members, and only those', () => {
  assert.deepEqual(problems({ sourceIPType: 'single' }), ['sourceIPValue: is required for sourceIPType single']);
  assert.deepEqual(problems({ sourceIPValue: '10.0.0.1' }), ['sourceIPValue: does not apply to sourceIPType any']);
  assert.deepEqual(problems({ sourceIPType: 'range', sourceIPRangeFrom: '10.0.0.9', sourceIPRangeTo: '10.0.0.1' }), [
    'sourceIPRangeFrom: "10.0.0.9-10.0.0.1": range starts after it ends',
  ]);
  assert.deepEqual(problems({ sourceIPType: 'range', sourceIPRangeFrom: '10.0.0.1', sourceIPRangeTo: '::1' }), [
    'sourceIPRangeFrom: "10.0.0.1-::1" mixes IPv4 and IPv6',
  ]);
  assert.deepEqual(
    problems({ destinationIPType: 'masked-ip', destinationIPValue: '10.0.0.1', destinationIPMask: '8' }),
    ['destinationIPMask: "10.0.0.1/8" has host bits set (the block is 10.0.0.0/8)'],
  );
  assert.deepEqual(
    problems({ destinationIPType: 'masked-ip', destinationIPValue: '10.0.0.0', destinationIPMask: '255.0.255.0' }),
    ['destinationIPMask: "255.0.255.0" is not a contiguous network mask'],
  );
  assert.deepEqual(problems({ sourceIPType: 'ip-list' }), [
    'sourceIPListID: is required for sourceIPType ip-list (an IP list ID)',
  ]);
  assert.deepEqual(problems({ sourceIPType: 'multiple', sourceIPMultiple: [] }), [
    'sourceIPMultiple: is an empty list',
  ]);
  assert.match(problems({ sourceIPType: 'single', sourceIPValue: '010.0.0.1' })[0]!, /is not an IP address/);
  assert.match(problems({ sourceIPType: 'single', sourceIPValue: 'fe80::1%eth0' })[0]!, /is not an IP address/);
  assert.deepEqual(
    valid({
      sourceIPType: 'multiple',
      sourceIPMultiple: ['10.0.0.0/8', '192.0.2.10 - 192.0.2.20', '2001:DB8::/32  # lab', '198.18.0.0/255.254.0.0'],
    }).sourceIPMultiple,
    ['10.0.0.0/8', '192.0.2.10 - 192.0.2.20', '2001:DB8::/32  # lab', '198.18.0.0/255.254.0.0'],
  );
});

test('scheduleID and contextID: only "none" (0), since Palisade has no schedules or contexts', () => {
  assert.deepEqual(problems({ scheduleID: 3 }), [
    'scheduleID: Palisade has no schedules: rules are always in force (send 0 or leave it out)',
  ]);
  assert.deepEqual(problems({ contextID: 1 }), [
    'contextID: Palisade has no rule contexts: rules are always in force (send 0 or leave it out)',
  ]);
});

test('"not any" is refused: it would match nothing', () => {
  assert.deepEqual(problems({ sourceIPNot: true }), [
    'sourceIPNot: "not any" matches nothing; set sourceIPType or clear the flag',
  ]);
  assert.deepEqual(problems({ frameType: 'any', frameNot: true }), [
    'frameNot: "not any" matches nothing; set frameType or clear the flag',
  ]);
  assert.deepEqual(problems({ sourceIPNot: 'yes', sourceIPType: 'single', sourceIPValue: '10.0.0.1' }), [
    'sourceIPNot: "yes" is not true or false',
  ]);
});

test('ports only for tcp, udp or tcp-udp; flags only for tcp; ICMP type only for icmp and icmpv6', () => {
  for (const protocol of [undefined, 'icmp', 'other']) {
    assert.deepEqual(
      problems({
        protocol,
        protocolNumber: protocol === 'other' ? 47 : undefined,
        destinationPortType: 'multiple',
        destinationPortMultiple: ['22'],
      }),
      [
        `destinationPortType: ports are only meaningful for protocol tcp, udp or tcp-udp (protocol is ${protocol ?? 'any'})`,
      ],
    );
  }
  assert.deepEqual(
    valid({ protocol: 'tcp-udp', destinationPortType: 'multiple', destinationPortMultiple: ['53'] }).protocol,
    'tcp-udp',
  );
  assert.deepEqual(problems({ protocol: 'udp', anyFlags: false, tcpflags: ['syn'] }), [
    'tcpflags: TCP flags are only tested for protocol tcp (protocol is udp)',
  ]);
  assert.deepEqual(problems({ protocol: 'tcp', anyFlags: false }), [
    'tcpflags: is required with anyFlags false (one or more of fin, syn, rst, psh, ack, urg)',
  ]);
  assert.deepEqual(problems({ protocol: 'tcp', anyFlags: true, tcpflags: ['syn'] }), [
    'tcpflags: is only tested with anyFlags false',
  ]);
  assert.deepEqual(problems({ protocol: 'tcp', tcpflags: ['syn', 'ece'] }), [
    'tcpflags[1]: "ece" is not one of fin, syn, rst, psh, ack, urg',
  ]);
  assert.deepEqual(problems({ protocol: 'tcp', ICMPType: 8 }), [
    'ICMPType: only applies to protocol icmp or icmpv6 (protocol is tcp)',
  ]);
  assert.deepEqual(problems({ protocol: 'icmp', ICMPCode: 0 }), ['ICMPCode: needs an ICMPType']);
  assert.deepEqual(problems({ protocol: 'icmpv6', ICMPNot: true }), [
    'ICMPNot: only inverts an ICMP type test (set ICMPType)',
  ]);
  assert.deepEqual(problems({ protocol: 'other' }), ['protocolNumber: is required for protocol other']);
  assert.deepEqual(problems({ protocol: 'tcp', protocolNumber: 17 }), [
    "protocolNumber: 17 is not protocol tcp's number; use protocol other for another protocol",
  ]);
  assert.equal(valid({ protocol: 'tcp', protocolNumber: 6 }).protocolNumber, undefined);
});

test('non-IP frames carry no protocol or address; an inline address of no family the frame admits never matches', () => {
  assert.deepEqual(problems({ frameType: 'arp', protocol: 'tcp', sourceIPType: 'single', sourceIPValue: '10.0.0.1' }), [
    'protocol: only IP frames carry a protocol (frame type is arp)',
    'sourceIPType: only IP frames carry IP addresses (frame type is arp)',
  ]);
  assert.deepEqual(
    problems({ frameType: 'ip', frameNot: true, destinationIPType: 'single', destinationIPValue: '10.0.0.1' }),
    ['destinationIPType: only IP frames carry IP addresses (frame type is not ip)'],
  );
  assert.deepEqual(problems({ frameType: 'ipv4', sourceIPType: 'single', sourceIPValue: '2001:db8::1' }), [
    'sourceIPType: has no IPv4 address, so it never matches frame type ipv4',
  ]);
  assert.equal(
    valid({ frameType: 'ipv4', sourceIPType: 'single', sourceIPValue: '2001:db8::1', sourceIPNot: true }).frameType,
    'ipv4',
  );
  assert.equal(
    valid({ frameType: 'arp', sourceMACType: 'single', sourceMACValue: '00:11:22:33:44:55' }).frameType,
    'arp',
  );
  assert.deepEqual(problems({ frameType: 'other' }), ['frameNumber: is required for frameType other']);
  assert.deepEqual(problems({ frameType: 'other', frameNumber: 1500 }), [
    'frameNumber: 1500 is not an EtherType (0x0600–0xFFFF; smaller values are 802.3 lengths)',
  ]);
});

test("modify merges: members sent replace the stored ones, and a new type drops the old type's values", () => {
  const stored = valid({ protocol: 'tcp', sourceIPType: 'single', sourceIPValue: '10.0.0.1', tcpflags: ['syn'] });
  const toAny = validateFirewallRule(mergeFirewallRule(stored, { sourceIPType: 'any' }));
  assert.ok(toAny.ok);
  assert.equal(toAny.rule.sourceIPValue, undefined);
  const toUdp = validateFirewallRule(mergeFirewallRule(stored, { protocol: 'udp' }));
  assert.ok(toUdp.ok, toUdp.ok ? '' : toUdp.problems.join());
  assert.equal(toUdp.rule.anyFlags, true);
  // An echo of the whole rule (with its ID, as a GET gives it) changes nothing.
  const echo = validateFirewallRule(mergeFirewallRule(stored, { ...stored }));
  assert.ok(echo.ok);
  assert.deepEqual(echo.rule, stored);
  // A value without its type is still refused: it would otherwise be silently ignored.
  assert.equal(validateFirewallRule(mergeFirewallRule(stored, { destinationIPValue: '10.0.0.2' })).ok, false);
});

test('parses and prints addresses per RFC 4291 and RFC 5952; masks and ports', () => {
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
  ];
  for (const [input, canonical] of cases) assert.equal(formatIpv6(parseIpv6(input)!), canonical, input);
  for (const bad of ['1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', ':1', 'g::1', '1:2:3:4:5:6::1.2.3.4']) {
    assert.equal(parseIpv6(bad), null, bad);
  }
  assert.deepEqual(parseIpEntry('2001:db8::/126'), {
    family: 6,
    low: 0x20010db8n << 96n,
    high: (0x20010db8n << 96n) | 3n,
    text: '2001:db8::/126',
  });
  assert.equal(parseIpEntry('192.168.2.0/255.255.255.0').text, '192.168.2.0/24');
  assert.equal(parseIpEntry('192.168.0.2 - 192.168.0.125 # printers').text, '192.168.0.2-192.168.0.125');
  assert.equal(parseIpMask(4, '0.0.0.0'), 0);
  assert.equal(parseIpMask(4, '255.255.255.255'), 32);
  assert.throws(() => parseIpMask(6, '255.255.0.0'), /prefix length 0–128/);
  assert.deepEqual(parsePortEntry(' 8000 - 8080 '), [8000, 8080]);
  assert.throws(() => parsePortEntry('9-1'), /range starts after it ends/);
});

test('a rule list: problems prefixed by index, the same rule twice kept once, two rules with one id refused', () => {
  const a = { ...BASE };
  const b = {
    ...BASE,
    id: 'r2',
    protocol: 'tcp',
    destinationPortType: 'multiple',
    destinationPortMultiple: ['1', '70000'],
  };
  assert.deepEqual(validateFirewallRules([a, b]), {
    ok: false,
    problems: ['[1].destinationPortMultiple[1]: "70000" is not a port (0–65535) or range (from-to)'],
  });
  const twice = validateFirewallRules([a, { ...a, action: 'Allow' }]);
  assert.equal(twice.ok && twice.rules.length, 1);
  assert.deepEqual(validateFirewallRules([a, { ...a, action: 'deny' }]), {
    ok: false,
    problems: ['(rules): two different rules have id "r1"'],
  });
  assert.deepEqual(validateFirewallRules({}), { ok: false, problems: ['(rules): an object is not a list'] });
});
