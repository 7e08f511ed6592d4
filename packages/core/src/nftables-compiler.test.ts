import assert from 'node:assert/strict';
import { test } from 'node:test';
import { effectiveFirewallRules } from './firewall-hidden-rule.js';
import type { FirewallListContents } from './firewall-lists.js';
import { type FirewallRule, validateFirewallRule } from './firewall-rule.js';
import {
  compileNftables,
  NftablesCompileError,
  nftablesProblems,
  nftRuleLines,
  nftTableNameFor,
  parseNftCounters,
} from './nftables-compiler.js';

function rule(input: Record<string, unknown>): FirewallRule {
  const r = validateFirewallRule({
    id: 'x',
    name: 'test',
    action: 'deny',
    priority: 0,
    direction: 'incoming',
    ...input,
  });
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.rule;
}

/** The rule's chain lines, without the counter/verdict/comment tail shared by all. */
function matchPart(input: Record<string, unknown>, lists?: FirewallListContents): string[] {
  return nftRuleLines(rule(input), lists).map((l) => l.replace(/ ?counter name r_x drop comment "rule x"$/, ''));
}

const multiple = (member: string, entries: (string | number)[]) => ({
  [`${member}Type`]: 'multiple',
  [`${member}Multiple`]: entries.map(String),
});
const single = (member: string, value: string) => ({ [`${member}Type`]: 'single', [`${member}Value`]: value });
const tcpTo = (...ports: (string | number)[]) => ({ protocol: 'tcp', ...multiple('destinationPort', ports) });

const HEAD = `# Palisade host firewall: generated; apply with nft -f, which commits the file as one transaction.
add table inet palisade
delete table inet palisade
`;

test('firewall Off removes the table, nothing else', () => {
  assert.equal(compileNftables({ rules: [rule({})] }, { state: 'Off' }), HEAD);
});

test('the hidden rule alone: established, loopback, then a bypass accept with its named counter', () => {
  assert.equal(
    compileNftables(effectiveFirewallRules({ rules: [], listen: true }), { state: 'On' }),
    `${HEAD}table inet palisade {
\tcounter r_hidden-listening-port {
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport 4118 counter name r_hidden-listening-port accept comment "rule hidden-listening-port"
\t}
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t\tct state established,related accept
\t\toif "lo" accept
\t}
}
`,
  );
});

test('chains follow the evaluator order; the implicit deny closes a chain only when it has an allow rule', () => {
  const rules = [
    rule({ id: 'allow-web', action: 'allow', ...tcpTo(80, 443) }),
    rule({ id: 'deny-telnet', action: 'deny', ...tcpTo(23) }),
    rule({ id: 'force-admin', action: 'force-allow', ...single('sourceIP', '198.18.0.1') }),
    rule({ id: 'bypass-backup', action: 'bypass', priority: 1, ...single('sourceIP', '198.18.0.5') }),
    rule({ id: 'log-all', action: 'log-only', priority: 4 }),
    rule({ id: 'deny-smtp-out', action: 'deny', direction: 'outgoing', ...tcpTo(25) }),
  ];
  const eff = effectiveFirewallRules({ rules, listen: true });
  assert.equal(
    compileNftables(eff, { state: 'On' }),
    `${HEAD}table inet palisade {
\tcounter r_hidden-listening-port {
\t}
\tcounter r_allow-web {
\t}
\tcounter r_deny-telnet {
\t}
\tcounter r_force-admin {
\t}
\tcounter r_bypass-backup {
\t}
\tcounter r_log-all {
\t}
\tcounter r_deny-smtp-out {
\t}
\tchain input {
\t\ttype filter hook input priority filter; policy accept;
\t\tct state established,related accept
\t\tiif "lo" accept
\t\ttcp dport 4118 counter name r_hidden-listening-port accept comment "rule hidden-listening-port"
\t\tcounter name r_log-all log prefix "palisade log-all " comment "rule log-all"
\t\tmeta nfproto ipv4 ip saddr 198.18.0.5 counter name r_bypass-backup accept comment "rule bypass-backup"
\t\tmeta nfproto ipv4 ip saddr 198.18.0.1 counter name r_force-admin accept comment "rule force-admin"
\t\ttcp dport 23 counter name r_deny-telnet drop comment "rule deny-telnet"
\t\ttcp dport { 80, 443 } counter name r_allow-web accept comment "rule allow-web"
\t\tcounter drop comment "out of allowed policy"
\t}
\tchain output {
\t\ttype filter hook output priority filter; policy accept;
\t\tct state established,related accept
\t\toif "lo" accept
\t\ttcp dport 25 counter name r_deny-smtp-out drop comment "rule deny-smtp-out"
\t}
}
`,
  );
});

test('actions map to verdicts; log-only logs with the rule id and continues', () => {
  const line = (action: string) => nftRuleLines(rule({ id: 'a1', action }))[0];
  assert.equal(line('bypass'), 'counter name r_a1 accept comment "rule a1"');
  assert.equal(line('force-allow'), 'counter name r_a1 accept comment "rule a1"');
  assert.equal(line('allow'), 'counter name r_a1 accept comment "rule a1"');
  assert.equal(line('deny'), 'counter name r_a1 drop comment "rule a1"');
  assert.equal(line('log-only'), 'counter name r_a1 log prefix "palisade a1 " comment "rule a1"');
  // logDisabled: a log-only rule that only counts.
  assert.equal(
    nftRuleLines(rule({ id: 'a1', action: 'log-only', logDisabled: true }))[0],
    'counter name r_a1 comment "rule a1"',
  );
});

test('frame types: ip is both families, ipv4/ipv6 pin nfproto, not flips', () => {
  assert.deepEqual(matchPart({ frameType: 'any' }), ['']);
  assert.deepEqual(matchPart({ frameType: 'ip' }), ['']);
  assert.deepEqual(matchPart({ frameType: 'ipv4' }), ['meta nfproto ipv4']);
  assert.deepEqual(matchPart({ frameType: 'ipv6' }), ['meta nfproto ipv6']);
  assert.deepEqual(matchPart({ frameType: 'other', frameNumber: 0x86dd }), ['meta nfproto ipv6']);
  assert.deepEqual(matchPart({ frameType: 'ipv4', frameNot: true }), ['meta nfproto ipv6']);
  assert.deepEqual(matchPart({ frameType: 'arp', frameNot: true }), ['']);
});

test('protocols: keywords for tcp/udp/icmp/icmpv6, numbers otherwise, tcp-udp as a set, != for not; ports imply the protocol', () => {
  assert.deepEqual(matchPart({ protocol: 'tcp' }), ['meta l4proto tcp']);
  assert.deepEqual(matchPart({ protocol: 'udp', protocolNot: true }), ['meta l4proto != udp']);
  assert.deepEqual(matchPart({ protocol: 'icmp' }), ['meta l4proto icmp']);
  assert.deepEqual(matchPart({ protocol: 'icmpv6' }), ['meta l4proto icmpv6']);
  assert.deepEqual(matchPart({ protocol: 'igmp' }), ['meta l4proto 2']);
  assert.deepEqual(matchPart({ protocol: 'other', protocolNumber: 47 }), ['meta l4proto 47']);
  assert.deepEqual(matchPart({ protocol: 'tcp-udp' }), ['meta l4proto { tcp, udp }']);
  assert.deepEqual(matchPart({ protocol: 'tcp-udp', protocolNot: true }), ['meta l4proto != { tcp, udp }']);
  assert.deepEqual(matchPart({ protocol: 'udp', ...multiple('sourcePort', [53]) }), ['udp sport 53']);
  assert.deepEqual(matchPart({ protocol: 'tcp-udp', ...multiple('destinationPort', [53]) }), [
    'meta l4proto { tcp, udp } th dport 53',
  ]);
});

test('ports: single, multiple, ranges as a-b, overlaps merged, not, port lists', () => {
  assert.deepEqual(matchPart(tcpTo(22)), ['tcp dport 22']);
  assert.deepEqual(matchPart(tcpTo(443, 80, '8000-8080')), ['tcp dport { 80, 443, 8000-8080 }']);
  assert.deepEqual(matchPart(tcpTo('8000-8080', 8080, 8081, '7990-8005')), ['tcp dport { 7990-8080, 8081 }']);
  assert.deepEqual(matchPart({ protocol: 'udp', ...multiple('destinationPort', [67, 68]), destinationPortNot: true }), [
    'udp dport != { 67, 68 }',
  ]);
  assert.deepEqual(matchPart({ ...tcpTo(22, 2222), ...multiple('sourcePort', ['1024-65535']) }), [
    'tcp sport 1024-65535 tcp dport { 22, 2222 }',
  ]);
  const lists = { ipLists: {}, macLists: {}, portLists: { '3': ['443', '80 # web'], '4': ['# nothing yet'] } };
  assert.deepEqual(matchPart({ protocol: 'tcp', destinationPortType: 'port-list', destinationPortListID: 3 }, lists), [
    'tcp dport { 80, 443 }',
  ]);
  // An empty list: a positive match holds for nothing, a negated one for everything.
  assert.deepEqual(matchPart({ protocol: 'tcp', destinationPortType: 'port-list', destinationPortListID: 4 }, lists), [
    '# rule x: an empty list leaves nothing for it to match',
  ]);
  assert.deepEqual(
    matchPart(
      { protocol: 'tcp', destinationPortType: 'port-list', destinationPortListID: 4, destinationPortNot: true },
      lists,
    ),
    ['meta l4proto tcp'],
  );
});

test('TCP flags and ICMP type/code', () => {
  assert.deepEqual(matchPart({ protocol: 'tcp', tcpflags: ['syn'] }), ['tcp flags & (syn) == syn']);
  assert.deepEqual(matchPart({ protocol: 'tcp', tcpflags: ['ack', 'syn'], TCPNot: true }), [
    'tcp flags & (syn | ack) != syn | ack',
  ]);
  assert.deepEqual(matchPart({ ...tcpTo(22), tcpflags: ['syn'] }), ['tcp dport 22 tcp flags & (syn) == syn']);
  assert.deepEqual(matchPart({ protocol: 'icmp', ICMPType: 8 }), ['icmp type 8']);
  assert.deepEqual(matchPart({ protocol: 'icmp', ICMPType: 8, ICMPCode: 0 }), ['icmp type 8 icmp code 0']);
  assert.deepEqual(matchPart({ protocol: 'icmpv6', ICMPType: 128, ICMPNot: true }), ['icmpv6 type != 128']);
  // "not (type 3 and code 4)" is one negated concatenation, never "not 3 and not 4".
  assert.deepEqual(matchPart({ protocol: 'icmp', ICMPType: 3, ICMPCode: 4, ICMPNot: true }), [
    'icmp type . icmp code != { 3 . 4 }',
  ]);
});

test('IP addresses: one line per family; single, masked, range, multiple, lists; merged; not', () => {
  assert.deepEqual(matchPart(single('sourceIP', '198.18.0.1')), ['meta nfproto ipv4 ip saddr 198.18.0.1']);
  assert.deepEqual(
    matchPart({ destinationIPType: 'masked-ip', destinationIPValue: '198.18.0.0', destinationIPMask: '255.254.0.0' }),
    ['meta nfproto ipv4 ip daddr 198.18.0.0/15'],
  );
  assert.deepEqual(
    matchPart({ sourceIPType: 'range', sourceIPRangeFrom: '198.18.0.10', sourceIPRangeTo: '198.18.0.20' }),
    ['meta nfproto ipv4 ip saddr 198.18.0.10-198.18.0.20'],
  );
  assert.deepEqual(matchPart(multiple('sourceIP', ['2001:db8::/64', '198.18.0.1', '10.0.0.0/8'])), [
    'meta nfproto ipv4 ip saddr { 10.0.0.0/8, 198.18.0.1 }',
    'meta nfproto ipv6 ip6 saddr 2001:db8::/64',
  ]);
  // nft refuses overlapping elements in one set: covered entries merge (an aligned result prints
  // as a prefix); adjacent ones stay apart.
  assert.deepEqual(
    matchPart(
      multiple('sourceIP', [
        '10.0.0.0/8',
        '10.1.2.3',
        '198.18.0.0/24',
        '198.18.0.128-198.18.1.255',
        '192.0.2.1-192.0.2.2',
        '192.0.2.3',
      ]),
    ),
    ['meta nfproto ipv4 ip saddr { 10.0.0.0/8, 192.0.2.1-192.0.2.2, 192.0.2.3, 198.18.0.0/23 }'],
  );
  assert.deepEqual(matchPart({ ...multiple('sourceIP', ['198.18.0.1', '198.18.0.2']), sourceIPNot: true }), [
    'meta nfproto ipv4 ip saddr != { 198.18.0.1, 198.18.0.2 }',
    // "not these IPv4 addresses" is every IPv6 address.
    'meta nfproto ipv6',
  ]);
  assert.deepEqual(
    matchPart({ ...single('sourceIP', '198.18.0.1'), ...single('destinationIP', '2001:db8::1') }),
    [],
    'no packet has both',
  );
  assert.deepEqual(matchPart({ frameType: 'ipv6', ...multiple('sourceIP', ['198.18.0.1', '2001:db8::1']) }), [
    'meta nfproto ipv6 ip6 saddr 2001:db8::1',
  ]);
  const lists = {
    ipLists: { '5': ['198.18.0.0/255.255.255.0', '198.18.0.7 # inside the block'] },
    macLists: {},
    portLists: {},
  };
  assert.deepEqual(matchPart({ sourceIPType: 'ip-list', sourceIPListID: 5 }, lists), [
    'meta nfproto ipv4 ip saddr 198.18.0.0/24',
  ]);
});

test('MAC addresses on incoming rules: ether saddr/daddr, sets, lists, not', () => {
  assert.deepEqual(matchPart(single('sourceMAC', '02-00-00-00-00-01')), ['ether saddr 02:00:00:00:00:01']);
  assert.deepEqual(
    matchPart({ ...multiple('sourceMAC', ['02:00:00:00:00:01', '02:00:00:00:00:02']), sourceMACNot: true }),
    ['ether saddr != { 02:00:00:00:00:01, 02:00:00:00:00:02 }'],
  );
  assert.deepEqual(matchPart(single('destinationMAC', '02:00:00:00:00:03')), ['ether daddr 02:00:00:00:00:03']);
  const lists = { ipLists: {}, macLists: { '1': ['02:00:00:00:00:04'] }, portLists: {} };
  assert.deepEqual(matchPart({ sourceMACType: 'mac-list', sourceMACListID: 1 }, lists), [
    'ether saddr 02:00:00:00:00:04',
  ]);
});

test('every match together, in a fixed order', () => {
  assert.deepEqual(
    matchPart({
      frameType: 'ipv4',
      ...tcpTo(4118),
      ...single('sourceMAC', '02:00:00:00:00:01'),
      ...single('sourceIP', '198.18.0.1'),
      ...single('destinationIP', '198.18.0.2'),
      destinationIPNot: true,
      ...multiple('sourcePort', ['1024-65535']),
      tcpflags: ['syn'],
    }),
    [
      'meta nfproto ipv4 ether saddr 02:00:00:00:00:01 ip saddr 198.18.0.1 ip daddr != 198.18.0.2 tcp sport 1024-65535 tcp dport 4118 tcp flags & (syn) == syn',
    ],
  );
});

test('non-IP frames: allow-type rules pass as a comment (inet never sees them), deny and log-only are refused', () => {
  const arpAllow = rule({ id: 'arp', action: 'allow', frameType: 'arp' });
  assert.deepEqual(nftRuleLines(arpAllow), ['# rule arp: arp frames never reach this table and pass unfiltered']);
  // The ARP allow rule still brings the implicit deny for IP, as in the evaluator.
  assert.match(
    compileNftables({ rules: [arpAllow] }, { state: 'On' }),
    /\t\t# rule arp: .*\n\t\tcounter drop comment "out of allowed policy"\n/,
  );
  assert.deepEqual(nftablesProblems(rule({ id: 'lldp', frameType: 'other', frameNumber: 0x88cc })), [
    'frameType: 0x88cc frames never reach an nftables inet chain (IPv4 and IPv6 only), so a deny rule for them cannot be enforced',
  ]);
  const err = (() => {
    try {
      compileNftables({ rules: [rule({ id: 'arp-log', action: 'log-only', frameType: 'arp' })] }, { state: 'On' });
    } catch (e) {
      return e;
    }
    return null;
  })();
  assert.ok(err instanceof NftablesCompileError);
  assert.deepEqual(err.problems, [
    'rule arp-log: frameType: arp frames never reach an nftables inet chain (IPv4 and IPv6 only), so a log-only rule for them cannot be enforced',
  ]);
});

test('outgoing rules cannot match MAC addresses', () => {
  assert.deepEqual(
    nftablesProblems(
      rule({
        direction: 'outgoing',
        ...single('sourceMAC', '02:00:00:00:00:01'),
        destinationMACType: 'mac-list',
        destinationMACListID: 2,
      }),
    ),
    [
      'sourceMACType: nftables cannot match MAC addresses on outgoing packets (the Ethernet header is built after the output hook)',
      'destinationMACType: nftables cannot match MAC addresses on outgoing packets (the Ethernet header is built after the output hook)',
    ],
  );
  assert.deepEqual(nftablesProblems(rule(single('sourceMAC', '02:00:00:00:00:01'))), []);
  const outgoingMac = rule({ direction: 'outgoing', ...single('sourceMAC', '02:00:00:00:00:01') });
  assert.throws(() => compileNftables({ rules: [outgoingMac] }, { state: 'On' }), NftablesCompileError);
  // Off needs no compilable rules: it only removes the table.
  assert.equal(compileNftables({ rules: [outgoingMac] }, { state: 'Off' }), HEAD);
});

test('a rule naming a list that is not given cannot be compiled', () => {
  assert.throws(
    () => compileNftables({ rules: [rule({ sourceIPType: 'ip-list', sourceIPListID: 9 })] }, { state: 'On' }),
    /names IP list 9, which is not given/,
  );
});

test('the same rule twice is declared and enforced once', () => {
  const r = rule({ id: 'twice' });
  const text = compileNftables({ rules: [r, r] }, { state: 'On' });
  assert.equal(text.match(/counter r_twice \{/g)?.length, 1);
  assert.equal(text.match(/counter name r_twice/g)?.length, 1);
});

test('counters read back by rule id from nft -j list table output', () => {
  // Shape of `nft -j list table inet palisade` (libnftables-json(5)).
  const json = JSON.stringify({
    nftables: [
      { metainfo: { version: '1.0.9', release_name: 'Old Doc Yak #3', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'palisade', handle: 7 } },
      {
        counter: {
          family: 'inet',
          name: 'r_hidden-listening-port',
          table: 'palisade',
          handle: 1,
          packets: 12,
          bytes: 720,
        },
      },
      { counter: { family: 'inet', name: 'r_17', table: 'palisade', handle: 2, packets: 0, bytes: 0 } },
      { counter: { family: 'inet', name: 'cnt_other', table: 'palisade', handle: 3, packets: 5, bytes: 5 } },
      { counter: { family: 'ip', name: 'r_17', table: 'filter', handle: 4, packets: 9, bytes: 9 } },
      {
        chain: {
          family: 'inet',
          table: 'palisade',
          name: 'input',
          handle: 5,
          type: 'filter',
          hook: 'input',
          prio: 0,
          policy: 'accept',
        },
      },
      {
        rule: {
          family: 'inet',
          table: 'palisade',
          chain: 'input',
          handle: 6,
          comment: 'rule 17',
          expr: [{ counter: 'r_17' }, { accept: null }],
        },
      },
    ],
  });
  assert.deepEqual(parseNftCounters(json), {
    'hidden-listening-port': { packets: 12, bytes: 720 },
    17: { packets: 0, bytes: 0 },
  });
  assert.throws(() => parseNftCounters('{"tables": []}'), /no "nftables" array/);
  assert.throws(() => parseNftCounters('nope'), SyntaxError);
  assert.throws(
    () => parseNftCounters('{"nftables":[{"counter":{"name":"r_a"}}]}'),
    /counter r_a has no packets\/bytes numbers/,
  );
});

test('one table per state directory: a stable, short, valid nft name; the script and the counters use it', () => {
  const a = nftTableNameFor('/srv/agents/one');
  const b = nftTableNameFor('/srv/agents/two');
  assert.match(a, /^palisade_[0-9a-f]{8}$/);
  assert.notEqual(a, b);
  assert.equal(nftTableNameFor('/srv/agents/one'), a);
  // FNV-1a 32 of the empty string is its offset basis: the hash is the published one.
  assert.equal(nftTableNameFor(''), 'palisade_811c9dc5');
  const script = compileNftables({ rules: [] }, { state: 'On', table: a });
  assert.match(script, new RegExp(`^add table inet ${a}\ndelete table inet ${a}\ntable inet ${a} \\{$`, 'm'));
  assert.doesNotMatch(script, /inet palisade\b(?!_)/);
  assert.equal(
    compileNftables({ rules: [] }, { state: 'Off', table: b }).split('\n').slice(1, 3).join(' '),
    `add table inet ${b} delete table inet ${b}`,
  );
  assert.throws(
    () => compileNftables({ rules: [] }, { state: 'On', table: 'pal; flush ruleset' }),
    /not an nft table name/,
  );
  const json = JSON.stringify({
    nftables: [
      { counter: { family: 'inet', table: a, name: 'r_7', packets: 2, bytes: 120 } },
      { counter: { family: 'inet', table: b, name: 'r_7', packets: 9, bytes: 900 } },
    ],
  });
  assert.deepEqual(parseNftCounters(json, a), { '7': { packets: 2, bytes: 120 } });
  assert.deepEqual(parseNftCounters(json, b), { '7': { packets: 9, bytes: 900 } });
  assert.deepEqual(parseNftCounters(json), {}, "neither is the installed agent's table");
});
