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
 * only at 4. DESIGN.md gives every rule a priority 0–4, so any action may sit at any priority here,
 * and the same order still applies (an allow at priority 3 beats a deny at priority 2).
 */
import {
  dedupeFirewallRules,
  ETHERTYPES,
  type FirewallAction,
  type FirewallDirection,
  type FirewallRule,
  IP_PROTOCOL_NUMBERS,
  type IpMatch,
  type IpProtocol,
  type MacMatch,
  normalizeMac,
  type PortMatch,
  parseIpEntry,
  parseIpv4,
  parseIpv6,
  portInterval,
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
        b.rule.priority - a.rule.priority ||
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
  readonly frameType?: 'ipv4' | 'ipv6' | 'arp' | number;
  readonly protocol?: Exclude<IpProtocol, 'any'>;
  /** IPv4-mapped IPv6 (`::ffff:a.b.c.d`, as a dual-stack socket reports IPv4 peers) counts as IPv4. */
  readonly sourceIp?: string;
  readonly destinationIp?: string;
  readonly sourceMac?: string;
  readonly destinationMac?: string;
  readonly sourcePort?: number;
  readonly destinationPort?: number;
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
const ANY = -1;
const IP_FRAME = -2;

interface IpSet {
  readonly not: boolean;
  /** IPv4 intervals as numbers, flattened [low0, high0, low1, high1, …] (plain numbers are fast). */
  readonly v4: readonly number[];
  readonly v6: readonly bigint[];
}

interface CompiledRule {
  readonly rule: FirewallRule;
  readonly frame: number;
  readonly frameNot: boolean;
  readonly protocol: number;
  readonly protocolNot: boolean;
  readonly srcIp: IpSet | null;
  readonly dstIp: IpSet | null;
  readonly srcMac: ReadonlySet<string> | null;
  readonly srcMacNot: boolean;
  readonly dstMac: ReadonlySet<string> | null;
  readonly dstMacNot: boolean;
  readonly srcPorts: readonly number[] | null;
  readonly srcPortsNot: boolean;
  readonly dstPorts: readonly number[] | null;
  readonly dstPortsNot: boolean;
}

function frameNumber(frame: FirewallRule['frameType'] | NonNullable<FirewallPacket['frameType']>): number {
  switch (frame) {
    case 'any':
      return ANY;
    case 'ip':
      return IP_FRAME;
    case 'ipv4':
      return ETHERTYPES.ipv4;
    case 'ipv6':
      return ETHERTYPES.ipv6;
    case 'arp':
      return ETHERTYPES.arp;
    default:
      return frame;
  }
}

function protocolNumber(protocol: IpProtocol): number {
  return protocol === 'any' ? ANY : typeof protocol === 'number' ? protocol : IP_PROTOCOL_NUMBERS[protocol];
}

function compileIps(match: IpMatch, not: boolean): IpSet | null {
  if (match === 'any') return null;
  const v4: number[] = [];
  const v6: bigint[] = [];
  for (const entry of match) {
    const iv = parseIpEntry(entry);
    if (iv.family === 4) v4.push(Number(iv.low), Number(iv.high));
    else v6.push(iv.low, iv.high);
  }
  return { not, v4, v6 };
}

function compileMacs(match: MacMatch): ReadonlySet<string> | null {
  return match === 'any' ? null : new Set(match);
}

function compilePorts(match: PortMatch): readonly number[] | null {
  return match === 'any' ? null : match.flatMap((e) => [...portInterval(e)]);
}

function compileRule(rule: FirewallRule): CompiledRule {
  return {
    rule,
    frame: frameNumber(rule.frameType),
    frameNot: rule.frameTypeNot,
    protocol: protocolNumber(rule.protocol),
    protocolNot: rule.protocolNot,
    srcIp: compileIps(rule.sourceIp, rule.sourceIpNot),
    dstIp: compileIps(rule.destinationIp, rule.destinationIpNot),
    srcMac: compileMacs(rule.sourceMac),
    srcMacNot: rule.sourceMacNot,
    dstMac: compileMacs(rule.destinationMac),
    dstMacNot: rule.destinationMacNot,
    srcPorts: compilePorts(rule.sourcePorts),
    srcPortsNot: rule.sourcePortsNot,
    dstPorts: compilePorts(rule.destinationPorts),
    dstPortsNot: rule.destinationPortsNot,
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
  readonly frame: number;
  readonly protocol: number;
  readonly src: Addr;
  readonly dst: Addr;
  readonly srcMac: string | undefined;
  readonly dstMac: string | undefined;
  readonly srcPort: number | undefined;
  readonly dstPort: number | undefined;
}

function prepare(packet: FirewallPacket): PreparedPacket {
  const src = packetAddress(packet.sourceIp, 'sourceIp');
  const dst = packetAddress(packet.destinationIp, 'destinationIp');
  const known = src ?? dst;
  const frame =
    packet.frameType !== undefined
      ? frameNumber(packet.frameType)
      : known === undefined
        ? ANY
        : typeof known === 'number'
          ? ETHERTYPES.ipv4
          : ETHERTYPES.ipv6;
  return {
    frame,
    protocol: packet.protocol === undefined ? ANY : protocolNumber(packet.protocol),
    src,
    dst,
    srcMac: packet.sourceMac === undefined ? undefined : (normalizeMac(packet.sourceMac) ?? undefined),
    dstMac: packet.destinationMac === undefined ? undefined : (normalizeMac(packet.destinationMac) ?? undefined),
    srcPort: packet.sourcePort,
    dstPort: packet.destinationPort,
  };
}

// Each test: the rule's field is 'any' → pass; the packet lacks the field → fail (see
// FirewallPacket); otherwise membership, flipped by the `not` flag.
function matches(r: CompiledRule, p: PreparedPacket): boolean {
  if (r.frame !== ANY) {
    if (p.frame === ANY) return false;
    const hit = r.frame === IP_FRAME ? p.frame === ETHERTYPES.ipv4 || p.frame === ETHERTYPES.ipv6 : p.frame === r.frame;
    if (hit === r.frameNot) return false;
  }
  if (r.protocol !== ANY) {
    if (p.protocol === ANY) return false;
    if ((p.protocol === r.protocol) === r.protocolNot) return false;
  }
  if (r.dstPorts !== null) {
    if (p.dstPort === undefined || inPorts(r.dstPorts, p.dstPort) === r.dstPortsNot) return false;
  }
  if (r.srcPorts !== null) {
    if (p.srcPort === undefined || inPorts(r.srcPorts, p.srcPort) === r.srcPortsNot) return false;
  }
  if (r.srcIp !== null) {
    if (p.src === undefined || inIps(r.srcIp, p.src) === r.srcIp.not) return false;
  }
  if (r.dstIp !== null) {
    if (p.dst === undefined || inIps(r.dstIp, p.dst) === r.dstIp.not) return false;
  }
  if (r.srcMac !== null) {
    if (p.srcMac === undefined || r.srcMac.has(p.srcMac) === r.srcMacNot) return false;
  }
  if (r.dstMac !== null) {
    if (p.dstMac === undefined || r.dstMac.has(p.dstMac) === r.dstMacNot) return false;
  }
  return true;
}

interface DirectionPlan {
  readonly rules: readonly CompiledRule[];
  readonly hasAllow: boolean;
  readonly hasDeciding: boolean;
}

function plan(ordered: readonly FirewallRule[], direction: FirewallDirection): DirectionPlan {
  const rules = ordered.filter((r) => r.direction === direction).map(compileRule);
  return {
    rules,
    hasAllow: rules.some((r) => r.rule.action === 'allow'),
    hasDeciding: rules.some((r) => r.rule.action !== 'log-only'),
  };
}

/**
 * Compiles rules once (addresses parsed, rules ordered and split by direction) into a matcher.
 * The same rule listed twice is kept once.
 * @throws RangeError when two different rules share an id.
 */
export function compileFirewall(rules: readonly FirewallRule[]): FirewallMatcher {
  const ordered = Object.freeze(firewallEvaluationOrder(dedupeFirewallRules(rules)));
  const plans: Record<FirewallDirection, DirectionPlan> = {
    incoming: plan(ordered, 'incoming'),
    outgoing: plan(ordered, 'outgoing'),
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
