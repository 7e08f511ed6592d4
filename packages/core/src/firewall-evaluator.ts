/**
 * The firewall evaluator: a rule list compiled once into a matcher that decides packets.
 *
 * Order (Trend Micro, Deep Security Help Center):
 * - "Firewall rules can process traffic using one of the following actions, listed in order of
 *   precedence: Bypass, Log Only, Force Allow, Deny, Allow. Rules also have a priority level between
 *   4 (highest priority) to 0 (lowest priority). Within a specific priority level rules are
 *   processed in order based on the precedence of the action type … the Deep Security firewall
 *   processes rules independently of their assignment order."
 *   — help.deepsecurity.trendmicro.com/11_0/on-premise/about-firewall.html
 * - The per-priority sequence (priority 4: Bypass, Log Only, Force Allow, Deny; … priority 0:
 *   Bypass, Force Allow, Deny, Allow) — success.trendmicro.com KA-0001403.
 * - "Allow: Explicitly allows traffic that matches the rule to pass, and then implicitly denies
 *   everything else", recorded as an 'Out of "Allowed" Policy' event; "Force Allow: Forcibly allows
 *   traffic that would otherwise be denied by other rules"; "Log only: Traffic will only be logged.
 *   No other action will be taken." — help.deepsecurity.trendmicro.com/Protection-Modules/Firewall/
 *   firewall-rule-action-priority.html ("Firewall rule actions and priorities").
 *
 * So: rules are tried from priority 4 down to 0; within one priority bypass, then log-only, then
 * force-allow, then deny, then allow; rules of one priority and action keep their list order. The
 * first matching rule that is not log-only decides. Matching log-only rules met on the way are
 * recorded in `logged` and evaluation continues. When nothing decides, the packet is denied "out of
 * allowed policy" if the rules for its direction include an allow rule, and allowed otherwise.
 *
 * One deliberate difference: Deep Security lets Allow rules sit only at priority 0 and Log Only
 * only at 4. Here every rule has a priority 0–4 (docs/architecture.md "Firewall"), so any action may
 * sit at any priority, and the same order still applies (an allow at priority 3 beats a deny at priority 2).
 */
import type { IpInterval } from './firewall-addresses.js';
import { normalizeMac, parseIpv4, parseIpv6 } from './firewall-addresses.js';
import { type FirewallListContents, NO_FIREWALL_LISTS } from './firewall-lists.js';
import { type MatchSet, type ResolvedFirewallRule, resolveFirewallRule, tcpFlagBit } from './firewall-match.js';
import {
  dedupeFirewallRules,
  type FirewallAction,
  type FirewallDirection,
  type FirewallProtocol,
  type FirewallRule,
  FRAME_TYPE_NUMBERS,
  PROTOCOL_NUMBERS,
  type TcpFlag,
} from './firewall-rule.js';

/** Position of an action within one priority (Deep Security's order of precedence). */
export const FIREWALL_ACTION_PRECEDENCE: Readonly<Record<FirewallAction, number>> = Object.freeze({
  bypass: 0,
  'log-only': 1,
  'force-allow': 2,
  deny: 3,
  allow: 4,
});

/**
 * The rules in the order they are tried: priority 4 → 0, then by action precedence, then list
 * order. The nftables compiler emits chains in exactly this order, so the kernel and the evaluator
 * agree.
 */
export function firewallEvaluationOrder<R extends FirewallRule>(rules: readonly R[]): R[] {
  return rules
    .map((rule, index) => ({ rule, index }))
    .sort(
      (a, b) =>
        Number(b.rule.priority) - Number(a.rule.priority) ||
        FIREWALL_ACTION_PRECEDENCE[a.rule.action] - FIREWALL_ACTION_PRECEDENCE[b.rule.action] ||
        a.index - b.index,
    )
    .map((x) => x.rule);
}

/**
 * A packet to decide. Fields a packet does not have (no ports on ICMP, no MAC on an outgoing
 * packet, nothing above Ethernet on ARP) are left out; a rule that tests an absent field does not
 * match, with or without its `not` flag — exactly like nftables, whose `ip saddr != x` does not
 * match an IPv6 packet.
 */
export interface FirewallPacket {
  readonly direction: FirewallDirection;
  /** Defaults to the family of `sourceIp`/`destinationIp`; unknown when neither is given. */
  readonly frameType?: 'ipv4' | 'ipv6' | 'arp' | 'revarp' | number;
  /** A named protocol or an IP protocol number. */
  readonly protocol?: Exclude<FirewallProtocol, 'any' | 'tcp-udp' | 'other'> | number;
  /** IPv4-mapped IPv6 (`::ffff:a.b.c.d`, as a dual-stack socket reports IPv4 peers) counts as IPv4. */
  readonly sourceIp?: string;
  readonly destinationIp?: string;
  readonly sourceMac?: string;
  readonly destinationMac?: string;
  readonly sourcePort?: number;
  readonly destinationPort?: number;
  /** The TCP flags set on the packet (TCP only). */
  readonly tcpFlags?: readonly TcpFlag[];
  readonly icmpType?: number;
  readonly icmpCode?: number;
  /** Part of a connection already accepted: allowed before any rule, as the nftables chain does. */
  readonly established?: boolean;
  /** Sent or received on the loopback interface: allowed before any rule, as the nftables chain does. */
  readonly loopback?: boolean;
}

export type FirewallVerdict = 'allow' | 'deny';
export type FirewallDecisionReason =
  | 'established'
  | 'loopback'
  | 'bypass'
  | 'force-allow'
  | 'deny'
  | 'allow'
  /** No rule decided and the direction has an allow rule (Deep Security's event name). */
  | 'out of allowed policy'
  /** No rule decided and the direction has no rule other than log-only ones. */
  | 'no rules'
  /** No rule decided; the direction has rules but no allow rule. */
  | 'no match';

export interface FirewallDecision {
  readonly verdict: FirewallVerdict;
  /** The deciding rule; null for the implicit outcomes (established, loopback, out of policy, …). */
  readonly ruleId: string | null;
  readonly reason: FirewallDecisionReason;
  /** Ids of matching log-only rules tried before the decision, in evaluation order. */
  readonly logged: readonly string[];
}

/** A compiled rule list. Compiling validates nothing twice: the rules are {@link FirewallRule}s. */
export interface FirewallMatcher {
  /** The rules in evaluation order (after dropping repeated ids). */
  readonly rules: readonly FirewallRule[];
  evaluate(packet: FirewallPacket): FirewallDecision;
}

// ---------------------------------------------------------------------------------------------

const NONE: readonly string[] = Object.freeze([]);

interface IpSet {
  readonly not: boolean;
  /** IPv4 intervals as numbers, flattened [low0, high0, low1, high1, …] (plain numbers are fast). */
  readonly v4: readonly number[];
  readonly v6: readonly bigint[];
}

/** A tested member flattened for the per-packet loop: values (port ranges as [lo0, hi0, lo1, …]). */
interface Flat<T> {
  readonly not: boolean;
  readonly values: readonly T[];
}

/** The rule's matches as plain arrays, so a decision walks numbers and sets, not objects. */
interface CompiledRule {
  readonly rule: FirewallRule;
  readonly frame: Flat<number> | null;
  readonly protocol: Flat<number> | null;
  readonly srcPorts: Flat<number> | null;
  readonly dstPorts: Flat<number> | null;
  readonly srcIp: IpSet | null;
  readonly dstIp: IpSet | null;
  readonly srcMac: MatchSet<string> | null;
  readonly dstMac: MatchSet<string> | null;
  readonly tcpFlags: ResolvedFirewallRule['tcpFlags'];
  readonly icmp: ResolvedFirewallRule['icmp'];
}

function compileIps(match: MatchSet<IpInterval> | null): IpSet | null {
  if (match === null) return null;
  const v4: number[] = [];
  const v6: bigint[] = [];
  for (const iv of match.values) {
    if (iv.family === 4) v4.push(Number(iv.low), Number(iv.high));
    else v6.push(iv.low, iv.high);
  }
  return { not: match.not, v4, v6 };
}

function compilePorts(match: MatchSet<readonly [number, number]> | null): Flat<number> | null {
  return match === null ? null : { not: match.not, values: match.values.flat() };
}

function compileRule(rule: FirewallRule, lists: FirewallListContents): CompiledRule {
  const m = resolveFirewallRule(rule, lists);
  return {
    rule,
    frame: m.frame,
    protocol: m.protocol,
    srcPorts: compilePorts(m.sourcePort),
    dstPorts: compilePorts(m.destinationPort),
    srcIp: compileIps(m.sourceIP),
    dstIp: compileIps(m.destinationIP),
    srcMac: m.sourceMAC,
    dstMac: m.destinationMAC,
    tcpFlags: m.tcpFlags,
    icmp: m.icmp,
  };
}

/** A packet's address: IPv4 as a number, IPv6 as a bigint. */
type Addr = number | bigint | undefined;

function packetAddress(text: string | undefined, field: string): Addr {
  if (text === undefined) return undefined;
  if (!text.includes(':')) {
    const v4 = parseIpv4(text);
    if (v4 === null) throw new TypeError(`packet ${field} "${text}" is not an IP address`);
    return v4;
  }
  const v6 = parseIpv6(text);
  if (v6 === null) throw new TypeError(`packet ${field} "${text}" is not an IP address`);
  // RFC 4291 §2.5.5.2: ::ffff:0:0/96 is an IPv4 address seen through an IPv6 socket; on the wire
  // (and to nftables) the packet is IPv4.
  if (v6 >> 32n === 0xffffn) return Number(v6 & 0xffffffffn);
  return v6;
}

function inIps(set: IpSet, addr: number | bigint): boolean {
  if (typeof addr === 'number') {
    const r = set.v4;
    for (let i = 0; i < r.length; i += 2) if (addr >= r[i]! && addr <= r[i + 1]!) return true;
    return false;
  }
  const r = set.v6;
  for (let i = 0; i < r.length; i += 2) if (addr >= r[i]! && addr <= r[i + 1]!) return true;
  return false;
}

function inPorts(ranges: readonly number[], port: number): boolean {
  for (let i = 0; i < ranges.length; i += 2) if (port >= ranges[i]! && port <= ranges[i + 1]!) return true;
  return false;
}

interface PreparedPacket {
  /** EtherType; undefined when unknown. */
  readonly frame: number | undefined;
  readonly protocol: number | undefined;
  readonly src: Addr;
  readonly dst: Addr;
  readonly srcMac: string | undefined;
  readonly dstMac: string | undefined;
  readonly srcPort: number | undefined;
  readonly dstPort: number | undefined;
  readonly tcpFlags: number | undefined;
  readonly icmpType: number | undefined;
  readonly icmpCode: number | undefined;
}

function prepare(packet: FirewallPacket): PreparedPacket {
  const src = packetAddress(packet.sourceIp, 'sourceIp');
  const dst = packetAddress(packet.destinationIp, 'destinationIp');
  const known = src ?? dst;
  const frame =
    packet.frameType !== undefined
      ? typeof packet.frameType === 'number'
        ? packet.frameType
        : FRAME_TYPE_NUMBERS[packet.frameType]
      : known === undefined
        ? undefined
        : typeof known === 'number'
          ? FRAME_TYPE_NUMBERS.ipv4
          : FRAME_TYPE_NUMBERS.ipv6;
  return {
    frame,
    protocol:
      packet.protocol === undefined || typeof packet.protocol === 'number'
        ? packet.protocol
        : PROTOCOL_NUMBERS[packet.protocol],
    src,
    dst,
    srcMac: packet.sourceMac === undefined ? undefined : (normalizeMac(packet.sourceMac) ?? undefined),
    dstMac: packet.destinationMac === undefined ? undefined : (normalizeMac(packet.destinationMac) ?? undefined),
    srcPort: packet.sourcePort,
    dstPort: packet.destinationPort,
    tcpFlags: packet.tcpFlags?.reduce((m, f) => m | tcpFlagBit(f), 0),
    icmpType: packet.icmpType,
    icmpCode: packet.icmpCode,
  };
}

// Each test: the rule's member is any (null) → pass; the packet lacks the field → fail (see
// FirewallPacket); otherwise membership, flipped by the `not` flag. Written out rather than
// through a helper: this loop is the evaluator's hot path (benchmarks/firewall).
function matches(r: CompiledRule, p: PreparedPacket): boolean {
  const frame = r.frame;
  if (frame !== null && (p.frame === undefined || frame.values.includes(p.frame) === frame.not)) return false;
  const protocol = r.protocol;
  if (protocol !== null && (p.protocol === undefined || protocol.values.includes(p.protocol) === protocol.not))
    return false;
  const dstPorts = r.dstPorts;
  if (dstPorts !== null && (p.dstPort === undefined || inPorts(dstPorts.values, p.dstPort) === dstPorts.not))
    return false;
  const srcPorts = r.srcPorts;
  if (srcPorts !== null && (p.srcPort === undefined || inPorts(srcPorts.values, p.srcPort) === srcPorts.not))
    return false;
  if (r.srcIp !== null && (p.src === undefined || inIps(r.srcIp, p.src) === r.srcIp.not)) return false;
  if (r.dstIp !== null && (p.dst === undefined || inIps(r.dstIp, p.dst) === r.dstIp.not)) return false;
  const srcMac = r.srcMac;
  if (srcMac !== null && (p.srcMac === undefined || srcMac.values.includes(p.srcMac) === srcMac.not)) return false;
  const dstMac = r.dstMac;
  if (dstMac !== null && (p.dstMac === undefined || dstMac.values.includes(p.dstMac) === dstMac.not)) return false;
  const flags = r.tcpFlags;
  if (flags !== null && (p.tcpFlags === undefined || ((p.tcpFlags & flags.mask) === flags.mask) === flags.not))
    return false;
  const icmp = r.icmp;
  if (icmp !== null) {
    if (p.icmpType === undefined) return false;
    const hit = p.icmpType === icmp.type && (icmp.code === null || p.icmpCode === icmp.code);
    if (hit === icmp.not) return false;
  }
  return true;
}

interface DirectionPlan {
  readonly rules: readonly CompiledRule[];
  readonly hasAllow: boolean;
  readonly hasDeciding: boolean;
}

function plan(
  ordered: readonly FirewallRule[],
  direction: FirewallDirection,
  lists: FirewallListContents,
): DirectionPlan {
  const rules = ordered.filter((r) => r.direction === direction).map((r) => compileRule(r, lists));
  return {
    rules,
    hasAllow: rules.some((r) => r.rule.action === 'allow'),
    hasDeciding: rules.some((r) => r.rule.action !== 'log-only'),
  };
}

/**
 * Compiles rules once (lists looked up, addresses parsed, rules ordered and split by direction)
 * into a matcher. The same rule listed twice is kept once.
 * @throws RangeError when two different rules share an id or a rule names a list not in `lists`.
 */
export function compileFirewall(
  rules: readonly FirewallRule[],
  lists: FirewallListContents = NO_FIREWALL_LISTS,
): FirewallMatcher {
  const ordered = Object.freeze(firewallEvaluationOrder(dedupeFirewallRules(rules)));
  const plans: Record<FirewallDirection, DirectionPlan> = {
    incoming: plan(ordered, 'incoming', lists),
    outgoing: plan(ordered, 'outgoing', lists),
  };
  return {
    rules: ordered,
    evaluate(packet: FirewallPacket): FirewallDecision {
      if (packet.established) return { verdict: 'allow', ruleId: null, reason: 'established', logged: NONE };
      if (packet.loopback) return { verdict: 'allow', ruleId: null, reason: 'loopback', logged: NONE };
      const d = plans[packet.direction];
      if (d === undefined)
        throw new TypeError(`packet direction "${String(packet.direction)}" is not incoming or outgoing`);
      const p = prepare(packet);
      let logged: string[] | null = null;
      for (const r of d.rules) {
        if (!matches(r, p)) continue;
        const action = r.rule.action;
        if (action === 'log-only') {
          logged ??= [];
          logged.push(r.rule.id);
          continue;
        }
        const verdict: FirewallVerdict = action === 'deny' ? 'deny' : 'allow';
        return { verdict, ruleId: r.rule.id, reason: action, logged: logged ?? NONE };
      }
      if (d.hasAllow) return { verdict: 'deny', ruleId: null, reason: 'out of allowed policy', logged: logged ?? NONE };
      return {
        verdict: 'allow',
        ruleId: null,
        reason: d.hasDeciding ? 'no match' : 'no rules',
        logged: logged ?? NONE,
      };
    },
  };
}
