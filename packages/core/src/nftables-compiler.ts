/**
 * Compiles the effective firewall rules into one nftables script for table `inet palisade`, and
 * reads the per-rule counters back. Pure text in, text out: the agent runs `nft -f` and
 * `nft -j list table inet palisade`; this module never touches the kernel.
 *
 * Shape of the script, and why:
 *
 * - `add table` / `delete table` / `table … { … }`. `nft -f` submits the whole file as one netlink
 *   transaction, so the kernel swaps the old table for the new one between two packets or, on any
 *   error, keeps the old one (nftables wiki, "Atomic rule replacement": "The kernel handles the rule
 *   commands in the file in one single transaction"). `add table` first because `delete` of a
 *   missing table is an error and the agent's first apply has no table, while `add` of an existing
 *   table is not (nft(8) on `create`: "similar to the add command, but returns an error if the
 *   table already exists"). `delete` rather than `flush table`,
 *   because flush removes rules but keeps chains, sets and named counters (same wiki page: "flush
 *   table filter will not flush any sets defined in that table"), and a removed rule's counter
 *   would linger. Consequence: every apply resets the counters, so the agent reports them as
 *   "since this configuration was applied". (`destroy table`, which tolerates a missing table,
 *   needs Linux 6.3 and nft 1.0.8; the add/delete pair works everywhere.)
 * - Chains `input` and `output` at `hook … priority filter` carry incoming and outgoing rules.
 *   Verdicts here are this table's only: another table's base chain on the same hook (firewalld,
 *   Docker) still sees packets palisade accepts.
 * - `ct state established,related accept`, then loopback, before any rule. Deep Security's firewall
 *   is stateful ("bidirectional stateful inspection", about-firewall.html): replies to a connection
 *   the rules let through are not judged again, and rules describe who may open a connection. On
 *   Linux conntrack already knows that state, so accepting it first gives the same behaviour and
 *   spares every reply packet the rule walk. Loopback (`iif "lo"` / `oif "lo"`) is the host talking
 *   to itself — the agent's own local services — and an "allow only X" policy meant for the network
 *   must not cut it.
 * - Bypass is compiled to `accept`, not to `notrack` in a raw-priority chain. Deep Security's bypass
 *   skips stateful inspection, so it tells operators to create bypass rules in pairs, one per
 *   direction ("Since stateful inspection is not applied to bypassed traffic, bypassing traffic in
 *   one direction does not automatically bypass the response", firewall-rule-action-priority.html).
 *   Letting conntrack see bypassed flows makes the replies "established" and accepted by the rule
 *   above, so the hidden rule needs no outgoing twin; the cost is conntrack entries for bypassed
 *   flows, which a host firewall can afford.
 * - Then the rules in {@link firewallEvaluationOrder} — the evaluator's order — so the kernel and
 *   `compileFirewall` decide alike: bypass/force-allow/allow → `accept`, deny → `drop`, log-only →
 *   `log prefix "palisade <id> "` and no verdict (evaluation continues; with `logDisabled` it only
 *   counts). Each rule counts into a
 *   named counter `r_<id>` declared in the table (nftables wiki, "Counters": named counters can be
 *   listed and reset by name), so the agent reads counters by rule id.
 * - Last, when the direction has an allow rule, `counter drop` (Deep Security's implicit deny,
 *   "out of allowed policy"); the chain policy stays `accept` otherwise.
 *
 * Frames and families. Table family `inet` sees IPv4 and IPv6 only; ARP is handled by the `arp`
 * family and other EtherTypes by `netdev`/`bridge`, never by an inet hook. Decision: ARP and other
 * non-IP frames are not filtered by palisade. A non-IP allow / force-allow / bypass rule is always
 * satisfied (those frames pass) and compiles to a comment — it still counts as an allow rule for the
 * implicit deny, as in the evaluator; a non-IP deny or log-only rule cannot be enforced and is
 * refused with the reason ({@link nftablesProblems}), which the manager reports when the rule is
 * saved rather than the agent failing later. (A `table arp` would also work, but Deep Security's
 * implicit deny would then drop ARP on every host whose policy has an allow rule and no ARP rule,
 * cutting it off the network; not filtering ARP avoids that trap.) The evaluator still models ARP
 * packets as Deep Security would; only nftables leaves them alone.
 *
 * Protocols: tcp, udp, icmp and icmpv6 by their nft keywords, the others by number (no
 * /etc/protocols needed on the host); `tcp-udp` is `meta l4proto { tcp, udp }`, and its ports the
 * transport-header expression `th sport`/`th dport`, which reads both (nft(8), "RAW PAYLOAD
 * EXPRESSION"). TCP flags compile to `tcp flags & (…) == …` (every listed flag set); an ICMP
 * type and code to `icmp type … icmp code …`, negated as one concatenation (`icmp type . icmp code
 * != { t . c }`) so that "not (type and code)" does not become "not type and not code".
 *
 * Link-layer addresses exist only on the input hook: `ether saddr`/`ether daddr` read the received
 * frame's header, and on output the header is built after the hook. Outgoing rules with MAC
 * matches are refused.
 */

import type { IpInterval } from './firewall-addresses.js';
import { formatIpAddress } from './firewall-addresses.js';
import { firewallEvaluationOrder } from './firewall-evaluator.js';
import { type FirewallListContents, NO_FIREWALL_LISTS } from './firewall-lists.js';
import { type MatchSet, type ResolvedFirewallRule, resolveFirewallRule } from './firewall-match.js';
import {
  dedupeFirewallRules,
  type FirewallDirection,
  type FirewallRule,
  frameFamilies,
  frameText,
  PROTOCOL_NUMBERS,
} from './firewall-rule.js';

export const NFT_TABLE_FAMILY = 'inet';
/** The installed agent's table (its state in the package's directory). */
export const NFT_TABLE_NAME = 'palisade';

/**
 * The table of an agent whose state is in `stateDir` (an absolute path): `palisade_` and 8 hex
 * digits of the path's 32-bit FNV-1a hash (over its UTF-16 code units), so two agents on one host
 * (two state directories) never replace each other's table — `nft -f` with `delete table`
 * would otherwise silently swap one agent's rules for the other's. Stable for a directory, short,
 * and a valid nft identifier (nft(8): a letter, then letters, digits and underscores). Not a
 * secret and not collision-proof: it tells apart the few agents one host runs.
 */
export function nftTableNameFor(stateDir: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < stateDir.length; i++) {
    h ^= stateDir.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return `${NFT_TABLE_NAME}_${h.toString(16).padStart(8, '0')}`;
}

/** Counter of a rule. Rule ids are limited to `[A-Za-z0-9][A-Za-z0-9_-]*`, a valid nft identifier. */
export function nftCounterName(ruleId: string): string {
  return `r_${ruleId}`;
}

export interface NftablesOptions {
  /** Firewall `Off` compiles to removing the table. */
  readonly state: 'On' | 'Off';
  /** The table (family `inet`); default {@link NFT_TABLE_NAME}. See {@link nftTableNameFor}. */
  readonly table?: string;
}

/** Thrown by {@link compileNftables} when a rule cannot be enforced; `problems` say why. */
export class NftablesCompileError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`cannot compile firewall rules to nftables: ${problems.join('; ')}`);
    this.name = 'NftablesCompileError';
    this.problems = problems;
  }
}

/**
 * Why `rule` cannot be enforced by table `inet palisade` (`"<member>: <reason>"`); empty when it
 * can. The manager calls this when a rule is saved, so a rule the agent could not apply is refused
 * up front. What cannot be enforced depends on the rule alone, not on its lists' items.
 */
export function nftablesProblems(rule: FirewallRule): string[] {
  const out: string[] = [];
  const families = frameFamilies(rule);
  if (families.length === 0 && (rule.action === 'deny' || rule.action === 'log-only')) {
    out.push(
      `frameType: ${frameText(rule)} frames never reach an nftables inet chain (IPv4 and IPv6 only), so a ${rule.action} rule for them cannot be enforced`,
    );
  }
  if (rule.direction === 'outgoing') {
    for (const member of ['sourceMACType', 'destinationMACType'] as const) {
      if (rule[member] !== 'any')
        out.push(
          `${member}: nftables cannot match MAC addresses on outgoing packets (the Ethernet header is built after the output hook)`,
        );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Expressions

function set(items: readonly string[]): string {
  return items.length === 1 ? items[0]! : `{ ${items.join(', ')} }`;
}

function op(not: boolean): string {
  return not ? '!= ' : '';
}

/**
 * Merges overlapping intervals: nft refuses overlapping elements in an anonymous interval set
 * ("conflicting intervals"), and an operator's list may overlap (10.0.0.0/8 and 10.1.2.3).
 * Adjacent ones are left apart — nft accepts them, and the text stays the operator's.
 */
function merge<T extends number | bigint>(intervals: [T, T][]): [T, T][] {
  intervals.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: [T, T][] = [];
  for (const [lo, hi] of intervals) {
    const last = out[out.length - 1];
    if (last && lo <= last[1]) {
      if (hi > last[1]) last[1] = hi;
    } else {
      out.push([lo, hi]);
    }
  }
  return out;
}

function ipTexts(values: readonly IpInterval[], family: 4 | 6): string[] {
  const mine = [...new Map(values.filter((e) => e.family === family).map((e) => [e.text, e])).values()];
  if (mine.length <= 1) return mine.map((e) => e.text);
  const entries = mine.sort((a, b) => (a.low < b.low ? -1 : a.low > b.low ? 1 : 0));
  if (entries.every((e, i) => i === 0 || e.low > entries[i - 1]!.high)) return entries.map((e) => e.text);
  const bits = family === 4 ? 32n : 128n;
  return merge(entries.map((e): [bigint, bigint] => [e.low, e.high])).map(([lo, hi]) => {
    if (lo === hi) return formatIpAddress(family, lo);
    const size = hi - lo + 1n;
    // A power-of-two block aligned on its size is a prefix.
    if ((size & (size - 1n)) === 0n && lo % size === 0n) {
      let len = bits;
      for (let s = size; s > 1n; s >>= 1n) len--;
      return `${formatIpAddress(family, lo)}/${len}`;
    }
    return `${formatIpAddress(family, lo)}-${formatIpAddress(family, hi)}`;
  });
}

/** '' when the match does not constrain this family; null when it can never match in it. */
function ipExpr(match: MatchSet<IpInterval> | null, family: 4 | 6, field: 'saddr' | 'daddr'): string | null {
  if (match === null) return '';
  const texts = ipTexts(match.values, family);
  if (texts.length === 0) return match.not ? '' : null;
  return `${family === 4 ? 'ip' : 'ip6'} ${field} ${op(match.not)}${set(texts)}`;
}

/** The nft word for the rule's protocol, or its number. */
function protocolWord(rule: FirewallRule): string {
  switch (rule.protocol) {
    case 'tcp':
    case 'udp':
    case 'icmp':
    case 'icmpv6':
      return rule.protocol;
    case 'tcp-udp':
      return '{ tcp, udp }';
    case 'other':
      return String(rule.protocolNumber);
    default:
      return rule.protocol === 'any' ? '' : String(PROTOCOL_NUMBERS[rule.protocol]);
  }
}

function protocolExpr(m: ResolvedFirewallRule): string {
  const rule = m.rule;
  if (m.protocol === null) return '';
  // A port, flags or ICMP match already implies its protocol (nft adds the `meta l4proto`
  // dependency itself) — except tcp-udp, whose `th` ports need the protocol said.
  const ports = (m.sourcePort?.values.length ?? 0) > 0 || (m.destinationPort?.values.length ?? 0) > 0;
  const implied = (ports && rule.protocol !== 'tcp-udp') || m.tcpFlags !== null || m.icmp !== null;
  if (implied && !rule.protocolNot) return '';
  return `meta l4proto ${op(rule.protocolNot)}${protocolWord(rule)}`;
}

/** null when the match can never hold (a positive match against an empty list). */
function portExpr(
  m: ResolvedFirewallRule,
  match: MatchSet<readonly [number, number]> | null,
  field: 'sport' | 'dport',
): string | null {
  if (match === null) return '';
  if (match.values.length === 0) return match.not ? '' : null;
  const texts = merge(match.values.map((e): [number, number] => [e[0], e[1]])).map(([a, b]) =>
    a === b ? `${a}` : `${a}-${b}`,
  );
  const header = m.rule.protocol === 'tcp-udp' ? 'th' : m.rule.protocol;
  return `${header} ${field} ${op(match.not)}${set(texts)}`;
}

function macExpr(match: MatchSet<string> | null, field: 'saddr' | 'daddr'): string | null {
  if (match === null) return '';
  if (match.values.length === 0) return match.not ? '' : null;
  return `ether ${field} ${op(match.not)}${set(match.values)}`;
}

function flagsExpr(m: ResolvedFirewallRule): string {
  if (m.tcpFlags === null) return '';
  const flags = m.tcpFlags.flags.join(' | ');
  return `tcp flags & (${flags}) ${m.tcpFlags.not ? '!=' : '=='} ${flags}`;
}

function icmpExpr(m: ResolvedFirewallRule): string {
  if (m.icmp === null) return '';
  const p = m.rule.protocol === 'icmpv6' ? 'icmpv6' : 'icmp';
  const { type, code, not } = m.icmp;
  if (code === null) return `${p} type ${op(not)}${type}`;
  if (!not) return `${p} type ${type} ${p} code ${code}`;
  return `${p} type . ${p} code != { ${type} . ${code} }`;
}

function verdict(rule: FirewallRule): string {
  switch (rule.action) {
    case 'bypass':
    case 'force-allow':
    case 'allow':
      return 'accept';
    case 'deny':
      return 'drop';
    case 'log-only':
      return rule.logDisabled ? '' : `log prefix "palisade ${rule.id} "`;
  }
}

/** The chain lines of one rule (possibly one per IP family, possibly none). */
export function nftRuleLines(rule: FirewallRule, lists: FirewallListContents = NO_FIREWALL_LISTS): string[] {
  const m = resolveFirewallRule(rule, lists);
  if (m.families.length === 0) {
    return [`# rule ${rule.id}: ${frameText(rule)} frames never reach this table and pass unfiltered`];
  }
  const tail = [`counter name ${nftCounterName(rule.id)}`, verdict(rule), `comment "rule ${rule.id}"`];
  const parts = [
    protocolExpr(m),
    macExpr(m.sourceMAC, 'saddr'),
    macExpr(m.destinationMAC, 'daddr'),
    portExpr(m, m.sourcePort, 'sport'),
    portExpr(m, m.destinationPort, 'dport'),
    flagsExpr(m),
    icmpExpr(m),
  ];
  if (parts.includes(null)) return [`# rule ${rule.id}: an empty list leaves nothing for it to match`];
  const join = (xs: (string | null)[]): string => [...xs, ...tail].filter((x) => x !== '' && x !== null).join(' ');
  // Addresses are per family (`ip saddr` vs `ip6 saddr`), so a rule that tests them — or a frame
  // type that admits one family — becomes one line per family, each starting with its nfproto.
  if (m.families.length === 2 && m.sourceIP === null && m.destinationIP === null) return [join(parts)];
  const lines: string[] = [];
  for (const family of m.families) {
    const src = ipExpr(m.sourceIP, family, 'saddr');
    const dst = ipExpr(m.destinationIP, family, 'daddr');
    if (src === null || dst === null) continue;
    lines.push(join([`meta nfproto ipv${family}`, parts[0]!, parts[1]!, parts[2]!, src, dst, ...parts.slice(3)]));
  }
  return lines;
}

function chain(
  name: 'input' | 'output',
  direction: FirewallDirection,
  ordered: readonly FirewallRule[],
  lists: FirewallListContents,
): string[] {
  const rules = ordered.filter((r) => r.direction === direction);
  const lines = [
    `\tchain ${name} {`,
    `\t\ttype filter hook ${name} priority filter; policy accept;`,
    '\t\tct state established,related accept',
    `\t\t${name === 'input' ? 'iif' : 'oif'} "lo" accept`,
  ];
  for (const rule of rules) for (const line of nftRuleLines(rule, lists)) lines.push(`\t\t${line}`);
  if (rules.some((r) => r.action === 'allow')) lines.push('\t\tcounter drop comment "out of allowed policy"');
  lines.push('\t}');
  return lines;
}

/**
 * The nftables script for `nft -f`. Rules are the effective ones (hidden rule included), with the
 * items of the lists they name; the same rule listed twice is kept once.
 * @throws NftablesCompileError when a rule cannot be enforced (see {@link nftablesProblems}).
 * @throws RangeError when two different rules share an id or a rule names a list not given.
 */
export function compileNftables(
  effective: { readonly rules: readonly FirewallRule[]; readonly lists?: FirewallListContents },
  options: NftablesOptions,
): string {
  const table = options.table ?? NFT_TABLE_NAME;
  if (!/^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(table)) throw new RangeError(`"${table}" is not an nft table name`);
  const head = [
    '# Palisade host firewall: generated; apply with nft -f, which commits the file as one transaction.',
    `add table ${NFT_TABLE_FAMILY} ${table}`,
    `delete table ${NFT_TABLE_FAMILY} ${table}`,
  ];
  if (options.state === 'Off') return `${head.join('\n')}\n`;
  const rules = dedupeFirewallRules(effective.rules);
  const problems = rules.flatMap((r) => nftablesProblems(r).map((p) => `rule ${r.id}: ${p}`));
  if (problems.length > 0) throw new NftablesCompileError(problems);
  const lists = effective.lists ?? NO_FIREWALL_LISTS;
  const ordered = firewallEvaluationOrder(rules);
  const lines = [...head, `table ${NFT_TABLE_FAMILY} ${table} {`];
  for (const rule of rules) lines.push(`\tcounter ${nftCounterName(rule.id)} {`, '\t}');
  lines.push(...chain('input', 'incoming', ordered, lists), ...chain('output', 'outgoing', ordered, lists), '}');
  return `${lines.join('\n')}\n`;
}

// ---------------------------------------------------------------------------------------------
// Counters

export interface NftCounterValue {
  readonly packets: number;
  readonly bytes: number;
}

/**
 * Reads the rule counters from `nft -j list table inet palisade` (or `nft -j list counters`): the
 * libnftables JSON schema lists each named counter as `{"counter": {"family", "table", "name",
 * "packets", "bytes", …}}` inside the top-level `nftables` array. Returns rule id → values; counters
 * of other tables than `table` (default {@link NFT_TABLE_NAME}) and names without the `r_` prefix
 * are ignored.
 * @throws SyntaxError for text that is not JSON; TypeError for JSON that is not nft's.
 */
export function parseNftCounters(jsonText: string, table: string = NFT_TABLE_NAME): Record<string, NftCounterValue> {
  const doc: unknown = JSON.parse(jsonText);
  const items = (doc as { nftables?: unknown } | null)?.nftables;
  if (!Array.isArray(items)) throw new TypeError('not nft JSON output: no "nftables" array');
  const out: Record<string, NftCounterValue> = {};
  for (const item of items) {
    const c = (item as { counter?: unknown } | null)?.counter as Record<string, unknown> | undefined;
    if (c === undefined || c === null || typeof c !== 'object') continue;
    if (c.family !== undefined && c.family !== NFT_TABLE_FAMILY) continue;
    if (c.table !== undefined && c.table !== table) continue;
    if (typeof c.name !== 'string' || !c.name.startsWith('r_')) continue;
    const { packets, bytes } = c;
    if (typeof packets !== 'number' || typeof bytes !== 'number')
      throw new TypeError(`counter ${c.name} has no packets/bytes numbers`);
    out[c.name.slice(2)] = { packets, bytes };
  }
  return out;
}
