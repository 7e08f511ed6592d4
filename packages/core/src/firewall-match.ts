/**
 * What a rule tests, with its IP, MAC and port lists looked up and every entry parsed: the one
 * reading of a {@link FirewallRule} that the evaluator, the nftables compiler and the hidden-rule
 * replacement share, so they cannot disagree on what `sourceIPType: masked-ip` or a port list
 * means. Not a second model: it is derived from the rule each time and never stored or sent.
 */
import {
  type IpInterval,
  maskedInterval,
  normalizeMac,
  parseIpEntry,
  parsePortEntry,
  rangeInterval,
  singleIpInterval,
  withoutComment,
} from './firewall-addresses.js';
import { type FirewallListContents, type FirewallListKind, listContentsKey, listNoun } from './firewall-lists.js';
import {
  type FirewallRule,
  FRAME_TYPE_NUMBERS,
  frameFamilies,
  PROTOCOL_NUMBERS,
  TCP_FLAGS,
  type TcpFlag,
} from './firewall-rule.js';

/** A tested member: the values it matches and whether the match is inverted. null: not tested (any). */
export interface MatchSet<T> {
  readonly not: boolean;
  readonly values: readonly T[];
}

export interface ResolvedFirewallRule {
  readonly rule: FirewallRule;
  /** The IP families the frame match admits (none for ARP and other non-IP frames). */
  readonly families: readonly (4 | 6)[];
  /** EtherTypes; `ip` is IPv4 and IPv6. */
  readonly frame: MatchSet<number> | null;
  /** IP protocol numbers; `tcp-udp` is 6 and 17. */
  readonly protocol: MatchSet<number> | null;
  readonly sourceIP: MatchSet<IpInterval> | null;
  readonly destinationIP: MatchSet<IpInterval> | null;
  /** Lowercase, colon-separated. */
  readonly sourceMAC: MatchSet<string> | null;
  readonly destinationMAC: MatchSet<string> | null;
  /** Inclusive [from, to] ranges. */
  readonly sourcePort: MatchSet<readonly [number, number]> | null;
  readonly destinationPort: MatchSet<readonly [number, number]> | null;
  /** Every flag listed must be set (`mask` is their bits, RFC 9293 order). */
  readonly tcpFlags: { readonly not: boolean; readonly flags: readonly TcpFlag[]; readonly mask: number } | null;
  readonly icmp: { readonly not: boolean; readonly type: number; readonly code: number | null } | null;
}

/** The bit of a TCP flag in the header's flags octet. */
export function tcpFlagBit(flag: TcpFlag): number {
  return 1 << TCP_FLAGS.indexOf(flag);
}

function listItems(
  lists: FirewallListContents,
  kind: FirewallListKind,
  id: number,
  rule: FirewallRule,
): readonly string[] {
  const items = lists[listContentsKey(kind)][String(id)];
  if (items === undefined) throw new RangeError(`rule ${rule.id} names ${listNoun(kind)} ${id}, which is not given`);
  return items.filter((i) => withoutComment(i) !== '');
}

function frameMatch(rule: FirewallRule): MatchSet<number> | null {
  switch (rule.frameType) {
    case 'any':
      return null;
    case 'ip':
      return { not: rule.frameNot, values: [FRAME_TYPE_NUMBERS.ipv4, FRAME_TYPE_NUMBERS.ipv6] };
    case 'other':
      return { not: rule.frameNot, values: [rule.frameNumber ?? 0] };
    default:
      return { not: rule.frameNot, values: [FRAME_TYPE_NUMBERS[rule.frameType]] };
  }
}

function protocolMatch(rule: FirewallRule): MatchSet<number> | null {
  switch (rule.protocol) {
    case 'any':
      return null;
    case 'tcp-udp':
      return { not: rule.protocolNot, values: [PROTOCOL_NUMBERS.tcp, PROTOCOL_NUMBERS.udp] };
    case 'other':
      return { not: rule.protocolNot, values: [rule.protocolNumber ?? 0] };
    default:
      return { not: rule.protocolNot, values: [PROTOCOL_NUMBERS[rule.protocol]] };
  }
}

function ipMatch(rule: FirewallRule, side: 'source' | 'destination', lists: FirewallListContents) {
  const r = rule as unknown as Record<string, unknown>;
  const pre = `${side}IP`;
  const not = r[`${pre}Not`] === true;
  const text = (m: string) => String(r[`${pre}${m}`]);
  let values: IpInterval[];
  switch (r[`${pre}Type`]) {
    case 'single':
      values = [singleIpInterval(text('Value'))];
      break;
    case 'masked-ip':
      values = [maskedInterval(text('Value'), text('Mask'))];
      break;
    case 'range':
      values = [rangeInterval(text('RangeFrom'), text('RangeTo'))];
      break;
    case 'multiple':
      values = (r[`${pre}Multiple`] as string[]).map(parseIpEntry);
      break;
    case 'ip-list':
      values = listItems(lists, 'ip', r[`${pre}ListID`] as number, rule).map(parseIpEntry);
      break;
    default:
      return null;
  }
  return { not, values };
}

function macMatch(rule: FirewallRule, side: 'source' | 'destination', lists: FirewallListContents) {
  const r = rule as unknown as Record<string, unknown>;
  const pre = `${side}MAC`;
  let texts: readonly string[];
  switch (r[`${pre}Type`]) {
    case 'single':
      texts = [String(r[`${pre}Value`])];
      break;
    case 'multiple':
      texts = r[`${pre}Multiple`] as string[];
      break;
    case 'mac-list':
      texts = listItems(lists, 'mac', r[`${pre}ListID`] as number, rule);
      break;
    default:
      return null;
  }
  const values = texts.map((t) => {
    const mac = normalizeMac(t);
    if (mac === null) throw new RangeError(`rule ${rule.id}: "${t}" is not a MAC address`);
    return mac;
  });
  return { not: r[`${pre}Not`] === true, values: [...new Set(values)] };
}

function portMatch(rule: FirewallRule, side: 'source' | 'destination', lists: FirewallListContents) {
  const r = rule as unknown as Record<string, unknown>;
  const pre = `${side}Port`;
  let texts: readonly string[];
  switch (r[`${pre}Type`]) {
    case 'multiple':
      texts = r[`${pre}Multiple`] as string[];
      break;
    case 'port-list':
      texts = listItems(lists, 'port', r[`${pre}ListID`] as number, rule);
      break;
    default:
      return null;
  }
  return { not: r[`${pre}Not`] === true, values: texts.map(parsePortEntry) };
}

/**
 * Resolves a validated rule against the list contents it may name.
 * @throws RangeError when a named list is not in `lists` or one of its items does not parse.
 */
export function resolveFirewallRule(rule: FirewallRule, lists: FirewallListContents): ResolvedFirewallRule {
  return {
    rule,
    families: frameFamilies(rule),
    frame: frameMatch(rule),
    protocol: protocolMatch(rule),
    sourceIP: ipMatch(rule, 'source', lists),
    destinationIP: ipMatch(rule, 'destination', lists),
    sourceMAC: macMatch(rule, 'source', lists),
    destinationMAC: macMatch(rule, 'destination', lists),
    sourcePort: portMatch(rule, 'source', lists),
    destinationPort: portMatch(rule, 'destination', lists),
    tcpFlags:
      rule.anyFlags || rule.tcpflags === undefined
        ? null
        : {
            not: rule.TCPNot,
            flags: rule.tcpflags,
            mask: rule.tcpflags.reduce((m, f) => m | tcpFlagBit(f), 0),
          },
    icmp: rule.ICMPType === undefined ? null : { not: rule.ICMPNot, type: rule.ICMPType, code: rule.ICMPCode ?? null },
  };
}

/** True when a port range list covers `port`. */
export function portsInclude(ranges: readonly (readonly [number, number])[], port: number): boolean {
  return ranges.some(([a, b]) => a <= port && port <= b);
}
