/**
 * The firewall rule model (DESIGN.md "Firewall"): what an operator saves, validated once and
 * normalized into a frozen, JSON-serializable value that the evaluator, the hidden-rule synthesis
 * and the nftables compiler all read.
 *
 * Field names follow Deep Security's firewall rule editor (action, priority, packet direction, frame
 * type, protocol, packet source / destination with a "not" box beside every match), flattened the
 * way its REST API flattens them (`sourceIPNot`, …) so an operator's script maps one to one.
 *
 * Addresses are parsed here, without node:net, because core is pure (purity.test.ts).
 */

export const FIREWALL_ACTIONS = ['log-only', 'allow', 'deny', 'force-allow', 'bypass'] as const;
export type FirewallAction = (typeof FIREWALL_ACTIONS)[number];

/** 4 is highest. Deep Security's rule editor offers exactly these five levels. */
export const FIREWALL_PRIORITIES = [0, 1, 2, 3, 4] as const;
export type FirewallPriority = (typeof FIREWALL_PRIORITIES)[number];

export const FIREWALL_DIRECTIONS = ['incoming', 'outgoing'] as const;
export type FirewallDirection = (typeof FIREWALL_DIRECTIONS)[number];

/** EtherTypes with a name in the model (IEEE 802 registry: IPv4 0x0800, ARP 0x0806, IPv6 0x86DD). */
export const ETHERTYPES = { ipv4: 0x0800, arp: 0x0806, ipv6: 0x86dd } as const;
/**
 * `ip` means IPv4 or IPv6. Any other EtherType is kept as its number; the named ones are always
 * stored by name, so `0x0800` and `'IPv4'` normalize to the same rule.
 */
export type FrameType = 'any' | 'ip' | 'ipv4' | 'ipv6' | 'arp' | number;

/** IANA protocol numbers of the named protocols. */
export const IP_PROTOCOL_NUMBERS = { icmp: 1, tcp: 6, udp: 17, icmpv6: 58 } as const;
/** Any other IP protocol (0–255) is kept as its number; the named ones are stored by name. */
export type IpProtocol = 'any' | 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number;

/** `'any'`, or canonical entries: a single address, a CIDR block `a/len`, or a range `a-b`. */
export type IpMatch = 'any' | readonly string[];
/** `'any'`, or lowercase colon-separated MAC addresses. */
export type MacMatch = 'any' | readonly string[];
/** A single port, or an inclusive range `"from-to"` with from < to. */
export type PortEntry = number | `${number}-${number}`;
export type PortMatch = 'any' | readonly PortEntry[];

/**
 * A validated, normalized firewall rule. Produced only by {@link validateFirewallRule}; frozen,
 * arrays included. Every match is "any" unless set, and every `…Not` flag is false unless set; a
 * `…Not` flag is never true beside `'any'` (that would match nothing and is rejected).
 */
export interface FirewallRule {
  /** Stable identifier; also names the rule's nftables counter (`r_<id>`), hence the charset. */
  readonly id: string;
  readonly name: string;
  /** Empty when not given. */
  readonly description: string;
  readonly action: FirewallAction;
  readonly priority: FirewallPriority;
  readonly direction: FirewallDirection;
  readonly frameType: FrameType;
  readonly frameTypeNot: boolean;
  /** Only IP frames carry a protocol; a rule whose frame type cannot be IP has protocol `'any'`. */
  readonly protocol: IpProtocol;
  readonly protocolNot: boolean;
  readonly sourceIp: IpMatch;
  readonly sourceIpNot: boolean;
  readonly destinationIp: IpMatch;
  readonly destinationIpNot: boolean;
  readonly sourceMac: MacMatch;
  readonly sourceMacNot: boolean;
  readonly destinationMac: MacMatch;
  readonly destinationMacNot: boolean;
  /** Not `'any'` only when the protocol is exactly TCP or UDP (without `protocolNot`). */
  readonly sourcePorts: PortMatch;
  readonly sourcePortsNot: boolean;
  readonly destinationPorts: PortMatch;
  readonly destinationPortsNot: boolean;
}

/** Every field of {@link FirewallRule}, in the order rules are built (and compared). */
export const FIREWALL_RULE_FIELDS = [
  'id',
  'name',
  'description',
  'action',
  'priority',
  'direction',
  'frameType',
  'frameTypeNot',
  'protocol',
  'protocolNot',
  'sourceIp',
  'sourceIpNot',
  'destinationIp',
  'destinationIpNot',
  'sourceMac',
  'sourceMacNot',
  'destinationMac',
  'destinationMacNot',
  'sourcePorts',
  'sourcePortsNot',
  'destinationPorts',
  'destinationPortsNot',
] as const satisfies readonly (keyof FirewallRule)[];

/** Ids starting with this are synthesized by core (the hidden rule) and refused from operators. */
export const RESERVED_RULE_ID_PREFIX = 'hidden-';

/**
 * Outcome of validation. `problems` are `"<field path>: <what is wrong>"`, e.g.
 * `"destinationPorts[1]: 70000 is not a port"`; all problems are reported, not just the first.
 */
export type FirewallRuleValidation =
  | { readonly ok: true; readonly rule: FirewallRule }
  | { readonly ok: false; readonly problems: readonly string[] };

export type FirewallRulesValidation =
  | { readonly ok: true; readonly rules: readonly FirewallRule[] }
  | { readonly ok: false; readonly problems: readonly string[] };

// ---------------------------------------------------------------------------------------------
// Addresses

/** A parsed IP entry: the inclusive interval it covers, and its canonical text. */
export interface IpInterval {
  readonly family: 4 | 6;
  readonly low: bigint;
  readonly high: bigint;
  readonly text: string;
}

/**
 * Dotted-quad IPv4 → 32-bit value, or null. Leading zeros are refused: inet_aton(3) reads
 * `010` as octal 8, other parsers as decimal 10, and a firewall must not guess.
 * (Character loop rather than split/regex: the evaluator parses every packet's addresses.)
 */
export function parseIpv4(text: string): number | null {
  let value = 0;
  let part = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46 /* . */) {
      if (digits === 0 || ++dots > 3) return null;
      value = value * 256 + part;
      part = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits === 1 && part === 0) return null; // leading zero
      part = part * 10 + (c - 48);
      if (++digits > 3 || part > 255) return null;
    } else {
      return null;
    }
  }
  if (dots !== 3 || digits === 0) return null;
  return value * 256 + part;
}

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;

/** RFC 4291 §2.2 text (all three forms, no zone index) → 128-bit value, or null. */
export function parseIpv6(text: string): bigint | null {
  if (text.length < 2 || text.length > 45) return null;
  let head = text;
  let tail: number[] = [];
  // Form 3: trailing dotted quad, e.g. ::ffff:192.0.2.1.
  const lastColon = text.lastIndexOf(':');
  if (text.indexOf('.', lastColon) !== -1) {
    const v4 = parseIpv4(text.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = [v4 >>> 16, v4 & 0xffff];
    head = text.slice(0, lastColon + 1);
    // Drop the colon that separated the quad, unless it is half of a "::".
    if (!head.endsWith('::')) head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!HEX_GROUP.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const left = parse(halves[0]!);
  if (left === null) return null;
  let groups: number[];
  if (halves.length === 2) {
    const right = parse(halves[1]!);
    if (right === null) return null;
    const missing = 8 - left.length - right.length - tail.length;
    if (missing < 1) return null;
    groups = [...left, ...new Array<number>(missing).fill(0), ...right, ...tail];
  } else {
    groups = [...left, ...tail];
    if (groups.length !== 8) return null;
  }
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

/** A single address of either family → its value, or null. */
export function parseIpAddress(text: string): { readonly family: 4 | 6; readonly value: bigint } | null {
  if (text.includes(':')) {
    const v = parseIpv6(text);
    return v === null ? null : { family: 6, value: v };
  }
  const v = parseIpv4(text);
  return v === null ? null : { family: 4, value: BigInt(v) };
}

export function formatIpv4(value: number | bigint): string {
  const n = Number(value);
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/**
 * RFC 5952 canonical text: lowercase, no leading zeros, the longest run (first on a tie) of two or
 * more zero groups as "::" (§4.2), and IPv4-mapped addresses in mixed notation (§5).
 */
export function formatIpv6(value: bigint): string {
  const groups: number[] = [];
  for (let i = 7; i >= 0; i--) groups.push(Number((value >> BigInt(i * 16)) & 0xffffn));
  if (value >> 32n === 0xffffn) return `::ffff:${formatIpv4(value & 0xffffffffn)}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function formatIpAddress(family: 4 | 6, value: bigint): string {
  return family === 4 ? formatIpv4(value) : formatIpv6(value);
}

const BITS = { 4: 32, 6: 128 } as const;

/**
 * Parses one IP entry — `a`, `a/len` or `a-b` — into the interval it covers.
 * @throws RangeError with a message fit for an operator.
 */
export function parseIpEntry(raw: string): IpInterval {
  const text = raw.trim();
  const slash = text.indexOf('/');
  if (slash !== -1) {
    const addr = parseIpAddress(text.slice(0, slash).trim());
    const lenText = text.slice(slash + 1).trim();
    if (!addr) throw new RangeError(`"${raw}" is not an IP address, CIDR block or range`);
    const bits = BITS[addr.family];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > bits) {
      throw new RangeError(`"${raw}": prefix length must be 0–${bits}`);
    }
    const len = BigInt(lenText);
    const hostMask = (1n << (BigInt(bits) - len)) - 1n;
    // Refused rather than truncated: "10.0.0.1/8" is as likely a typo of the address as of the mask.
    if ((addr.value & hostMask) !== 0n) {
      const net = formatIpAddress(addr.family, addr.value & ~hostMask);
      throw new RangeError(`"${raw}" has host bits set (the block is ${net}/${lenText})`);
    }
    if (len === BigInt(bits)) return single(addr.family, addr.value);
    return {
      family: addr.family,
      low: addr.value,
      high: addr.value | hostMask,
      text: `${formatIpAddress(addr.family, addr.value)}/${lenText}`,
    };
  }
  const dash = text.indexOf('-');
  if (dash !== -1) {
    const a = parseIpAddress(text.slice(0, dash).trim());
    const b = parseIpAddress(text.slice(dash + 1).trim());
    if (!a || !b) throw new RangeError(`"${raw}" is not an IP address, CIDR block or range`);
    if (a.family !== b.family) throw new RangeError(`"${raw}" mixes IPv4 and IPv6`);
    if (a.value > b.value) throw new RangeError(`"${raw}": range starts after it ends`);
    if (a.value === b.value) return single(a.family, a.value);
    return {
      family: a.family,
      low: a.value,
      high: b.value,
      text: `${formatIpAddress(a.family, a.value)}-${formatIpAddress(b.family, b.value)}`,
    };
  }
  const addr = parseIpAddress(text);
  if (!addr) throw new RangeError(`"${raw}" is not an IP address, CIDR block or range`);
  return single(addr.family, addr.value);
}

function single(family: 4 | 6, value: bigint): IpInterval {
  return { family, low: value, high: value, text: formatIpAddress(family, value) };
}

const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/** `00-1A-2b-…` or `00:1a:…` → `00:1a:2b:…`, or null. */
export function normalizeMac(text: string): string | null {
  const t = text.trim();
  return MAC.test(t) ? t.toLowerCase().replaceAll('-', ':') : null;
}

/** A port entry → inclusive [from, to]. */
export function portInterval(entry: PortEntry): readonly [number, number] {
  if (typeof entry === 'number') return [entry, entry];
  const dash = entry.indexOf('-');
  return [Number(entry.slice(0, dash)), Number(entry.slice(dash + 1))];
}

/**
 * Which IP families a frame-type match admits. Non-IP frames (ARP, other EtherTypes) admit none,
 * and so can carry no protocol, address or port match.
 */
export function frameFamilies(frameType: FrameType, not: boolean): readonly (4 | 6)[] {
  let positive: (4 | 6)[];
  switch (frameType) {
    case 'any':
      return not ? [] : [4, 6];
    case 'ip':
      positive = [4, 6];
      break;
    case 'ipv4':
      positive = [4];
      break;
    case 'ipv6':
      positive = [6];
      break;
    default:
      positive = [];
  }
  return not ? ([4, 6] as const).filter((f) => !positive.includes(f)) : positive;
}

// ---------------------------------------------------------------------------------------------
// Validation

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const FIELD_SET: ReadonlySet<string> = new Set(FIREWALL_RULE_FIELDS);

class Problems {
  readonly list: string[] = [];
  add(path: string, message: string): void {
    this.list.push(`${path}: ${message}`);
  }
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : typeof value;
}

function keyword(value: string): string {
  return value
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
}

function readEnum<T extends string>(p: Problems, path: string, value: unknown, allowed: readonly T[]): T | undefined {
  if (value === undefined) {
    p.add(path, 'is required');
    return undefined;
  }
  if (typeof value === 'string') {
    const k = keyword(value);
    const hit = allowed.find((a) => a === k);
    if (hit) return hit;
  }
  p.add(path, `${describe(value)} is not one of ${allowed.join(', ')}`);
  return undefined;
}

function readBool(p: Problems, path: string, value: unknown): boolean {
  if (value === undefined) return false;
  if (typeof value === 'boolean') return value;
  p.add(path, `${describe(value)} is not true or false`);
  return false;
}

function readId(p: Problems, value: unknown): string | undefined {
  if (value === undefined) {
    p.add('id', 'is required');
    return undefined;
  }
  const text = typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? String(value) : value;
  if (typeof text !== 'string' || !ID.test(text)) {
    p.add(
      'id',
      `${describe(value)} is not an id (1–64 of A–Z a–z 0–9 _ -, starting with a letter or digit; it names an nftables counter)`,
    );
    return undefined;
  }
  if (text.startsWith(RESERVED_RULE_ID_PREFIX)) {
    p.add('id', `ids starting with "${RESERVED_RULE_ID_PREFIX}" are reserved for rules core synthesizes`);
    return undefined;
  }
  return text;
}

function readText(p: Problems, path: string, value: unknown, required: boolean, max: number): string {
  if (value === undefined) {
    if (required) p.add(path, 'is required');
    return '';
  }
  if (typeof value !== 'string') {
    p.add(path, `${describe(value)} is not text`);
    return '';
  }
  const t = value.trim();
  if (required && t === '') p.add(path, 'must not be empty');
  if (t.length > max) p.add(path, `is longer than ${max} characters`);
  return t;
}

function readPriority(p: Problems, value: unknown): FirewallPriority | undefined {
  if (value === undefined) {
    p.add('priority', 'is required');
    return undefined;
  }
  // Deep Security's API sends priorities as the strings "0"–"4"; accept both spellings.
  const n = typeof value === 'string' && /^[0-4]$/.test(value.trim()) ? Number(value.trim()) : value;
  if (typeof n === 'number' && (FIREWALL_PRIORITIES as readonly number[]).includes(n)) return n as FirewallPriority;
  p.add('priority', `${describe(value)} is not a priority (0 lowest … 4 highest)`);
  return undefined;
}

function readNumber(value: string): number | null {
  const t = value.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^(0|[1-9][0-9]*)$/.test(t)) return Number(t);
  return null;
}

function readFrameType(p: Problems, value: unknown): FrameType {
  if (value === undefined) return 'any';
  let n: number | null = null;
  if (typeof value === 'string') {
    const k = keyword(value);
    if (k === 'any' || k === 'ip' || k === 'ipv4' || k === 'ipv6' || k === 'arp') return k;
    n = readNumber(value);
  } else if (typeof value === 'number') {
    n = value;
  }
  // IEEE 802.3: values up to 1500 are lengths, EtherTypes start at 0x0600.
  if (n !== null && Number.isInteger(n) && n >= 0x0600 && n <= 0xffff) {
    if (n === ETHERTYPES.ipv4) return 'ipv4';
    if (n === ETHERTYPES.ipv6) return 'ipv6';
    if (n === ETHERTYPES.arp) return 'arp';
    return n;
  }
  p.add('frameType', `${describe(value)} is not any, IP, IPv4, IPv6, ARP or an EtherType number 0x0600–0xFFFF`);
  return 'any';
}

function readProtocol(p: Problems, value: unknown): IpProtocol {
  if (value === undefined) return 'any';
  let n: number | null = null;
  if (typeof value === 'string') {
    const k = keyword(value);
    if (k === 'any' || k === 'tcp' || k === 'udp' || k === 'icmp' || k === 'icmpv6') return k;
    n = readNumber(value);
  } else if (typeof value === 'number') {
    n = value;
  }
  if (n !== null && Number.isInteger(n) && n >= 0 && n <= 255) {
    for (const [name, num] of Object.entries(IP_PROTOCOL_NUMBERS)) if (num === n) return name as IpProtocol;
    return n;
  }
  p.add('protocol', `${describe(value)} is not any, TCP, UDP, ICMP, ICMPv6 or an IP protocol number 0–255`);
  return 'any';
}

/**
 * A list field may be `'any'`, one item, or an array; a string item may itself hold a comma- or
 * newline-separated list (Deep Security's editor takes one entry per line).
 */
function listItems(p: Problems, path: string, value: unknown): { items: { path: string; value: unknown }[] } | 'any' {
  if (value === undefined || (typeof value === 'string' && keyword(value) === 'any')) return 'any';
  const raw = Array.isArray(value) ? value : [value];
  const items: { path: string; value: unknown }[] = [];
  raw.forEach((v, i) => {
    const at = Array.isArray(value) ? `${path}[${i}]` : path;
    if (typeof v === 'string' && /[,\n]/.test(v)) {
      for (const part of v.split(/[,\n]/)) if (part.trim() !== '') items.push({ path: at, value: part.trim() });
    } else {
      items.push({ path: at, value: v });
    }
  });
  if (items.length === 0) p.add(path, "is an empty list (use 'any')");
  return { items };
}

function dedupe<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function readIps(p: Problems, path: string, value: unknown): IpMatch {
  const list = listItems(p, path, value);
  if (list === 'any') return 'any';
  const out: string[] = [];
  for (const item of list.items) {
    if (typeof item.value !== 'string') {
      p.add(item.path, `${describe(item.value)} is not an IP address, CIDR block or range`);
      continue;
    }
    try {
      out.push(parseIpEntry(item.value).text);
    } catch (e) {
      p.add(item.path, (e as Error).message);
    }
  }
  return dedupe(out);
}

function readMacs(p: Problems, path: string, value: unknown): MacMatch {
  const list = listItems(p, path, value);
  if (list === 'any') return 'any';
  const out: string[] = [];
  for (const item of list.items) {
    const mac = typeof item.value === 'string' ? normalizeMac(item.value) : null;
    if (mac === null)
      p.add(item.path, `${describe(item.value)} is not a MAC address (six hex pairs separated by : or -)`);
    else out.push(mac);
  }
  return dedupe(out);
}

function readPort(value: unknown): number | null {
  const n = typeof value === 'number' ? value : typeof value === 'string' ? readNumber(value) : null;
  return n !== null && Number.isInteger(n) && n >= 0 && n <= 65535 ? n : null;
}

function readPorts(p: Problems, path: string, value: unknown): PortMatch {
  const list = listItems(p, path, value);
  if (list === 'any') return 'any';
  const out: PortEntry[] = [];
  for (const item of list.items) {
    const v = item.value;
    if (typeof v === 'string' && v.includes('-')) {
      const [a, b, ...rest] = v.split('-');
      const from = readPort(a);
      const to = readPort(b);
      if (rest.length > 0 || from === null || to === null) {
        p.add(item.path, `${describe(v)} is not a port range (from-to, 0–65535)`);
        continue;
      }
      if (from > to) {
        p.add(item.path, `${describe(v)}: range starts after it ends`);
        continue;
      }
      out.push(from === to ? from : `${from}-${to}`);
      continue;
    }
    const port = readPort(v);
    if (port === null) p.add(item.path, `${describe(v)} is not a port`);
    else out.push(port);
  }
  return dedupe(out);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Validates one rule as an operator (or the REST API) sent it, and normalizes it.
 *
 * Accepted spellings: actions, directions, frame types and protocols case-insensitively with spaces
 * or underscores for hyphens ("Force Allow"); priorities as numbers or the strings "0"–"4";
 * EtherTypes and protocol numbers as numbers or decimal/hex strings; list fields as `'any'`, one
 * entry, an array, or a comma/newline-separated string. Unknown fields are problems (a misspelt
 * `destinationPort` must not silently widen a rule to any port).
 */
export function validateFirewallRule(input: unknown): FirewallRuleValidation {
  const p = new Problems();
  if (!isObject(input)) return { ok: false, problems: [`(rule): ${describe(input)} is not an object`] };
  for (const key of Object.keys(input)) if (!FIELD_SET.has(key)) p.add(key, 'is not a firewall rule field');

  const id = readId(p, input.id);
  const name = readText(p, 'name', input.name, true, 255);
  const description = readText(p, 'description', input.description, false, 2000);
  const action = readEnum(p, 'action', input.action, FIREWALL_ACTIONS);
  const priority = readPriority(p, input.priority);
  const direction = readEnum(p, 'direction', input.direction, FIREWALL_DIRECTIONS);
  const frameType = readFrameType(p, input.frameType);
  const frameTypeNot = readBool(p, 'frameTypeNot', input.frameTypeNot);
  const protocol = readProtocol(p, input.protocol);
  const protocolNot = readBool(p, 'protocolNot', input.protocolNot);
  const sourceIp = readIps(p, 'sourceIp', input.sourceIp);
  const sourceIpNot = readBool(p, 'sourceIpNot', input.sourceIpNot);
  const destinationIp = readIps(p, 'destinationIp', input.destinationIp);
  const destinationIpNot = readBool(p, 'destinationIpNot', input.destinationIpNot);
  const sourceMac = readMacs(p, 'sourceMac', input.sourceMac);
  const sourceMacNot = readBool(p, 'sourceMacNot', input.sourceMacNot);
  const destinationMac = readMacs(p, 'destinationMac', input.destinationMac);
  const destinationMacNot = readBool(p, 'destinationMacNot', input.destinationMacNot);
  const sourcePorts = readPorts(p, 'sourcePorts', input.sourcePorts);
  const sourcePortsNot = readBool(p, 'sourcePortsNot', input.sourcePortsNot);
  const destinationPorts = readPorts(p, 'destinationPorts', input.destinationPorts);
  const destinationPortsNot = readBool(p, 'destinationPortsNot', input.destinationPortsNot);

  // "not any" matches no packet at all: almost certainly a mistake, never a useful rule.
  const pairs: [string, unknown, boolean][] = [
    ['frameType', frameType, frameTypeNot],
    ['protocol', protocol, protocolNot],
    ['sourceIp', sourceIp, sourceIpNot],
    ['destinationIp', destinationIp, destinationIpNot],
    ['sourceMac', sourceMac, sourceMacNot],
    ['destinationMac', destinationMac, destinationMacNot],
    ['sourcePorts', sourcePorts, sourcePortsNot],
    ['destinationPorts', destinationPorts, destinationPortsNot],
  ];
  for (const [field, value, not] of pairs) {
    if (not && value === 'any') p.add(`${field}Not`, `"not any" matches nothing; set ${field} or clear the flag`);
  }

  // Protocols, IP addresses and ports live in the IP header and above: a rule for frames that
  // cannot be IP (ARP, another EtherType, "not IP") cannot test them.
  const families = frameFamilies(frameType, frameTypeNot);
  if (families.length === 0 && !(frameType === 'any' && frameTypeNot)) {
    const frame = `${frameTypeNot ? 'not ' : ''}${typeof frameType === 'number' ? `0x${frameType.toString(16)}` : frameType}`;
    if (protocol !== 'any') p.add('protocol', `only IP frames carry a protocol (frame type is ${frame})`);
    if (sourceIp !== 'any') p.add('sourceIp', `only IP frames carry IP addresses (frame type is ${frame})`);
    if (destinationIp !== 'any') p.add('destinationIp', `only IP frames carry IP addresses (frame type is ${frame})`);
  }
  // A positive address list with no entry of any family the frame admits can never match.
  for (const [field, value, not] of [
    ['sourceIp', sourceIp, sourceIpNot],
    ['destinationIp', destinationIp, destinationIpNot],
  ] as const) {
    // (An empty list here means every entry was already reported as invalid.)
    if (value === 'any' || value.length === 0 || not || families.length === 0) continue;
    const present = new Set(value.map((e) => (e.includes(':') ? 6 : 4)));
    if (!families.some((f) => present.has(f))) {
      p.add(field, `has no IPv${families.join('/IPv')} entry, so it never matches frame type ${String(frameType)}`);
    }
  }
  // Ports exist only in TCP and UDP headers (Deep Security greys the port fields out otherwise).
  const portProtocol = (protocol === 'tcp' || protocol === 'udp') && !protocolNot;
  for (const [field, value] of [
    ['sourcePorts', sourcePorts],
    ['destinationPorts', destinationPorts],
  ] as const) {
    if (value !== 'any' && !portProtocol) {
      const proto = `${protocolNot ? 'not ' : ''}${protocol}`;
      p.add(field, `ports are only meaningful for protocol TCP or UDP (protocol is ${proto})`);
    }
  }

  if (p.list.length > 0) return { ok: false, problems: p.list };
  const freeze = <T>(v: T): T => (Array.isArray(v) ? (Object.freeze(v) as T) : v);
  const rule: FirewallRule = {
    id: id!,
    name,
    description,
    action: action!,
    priority: priority!,
    direction: direction!,
    frameType,
    frameTypeNot,
    protocol,
    protocolNot,
    sourceIp: freeze(sourceIp),
    sourceIpNot,
    destinationIp: freeze(destinationIp),
    destinationIpNot,
    sourceMac: freeze(sourceMac),
    sourceMacNot,
    destinationMac: freeze(destinationMac),
    destinationMacNot,
    sourcePorts: freeze(sourcePorts),
    sourcePortsNot,
    destinationPorts: freeze(destinationPorts),
    destinationPortsNot,
  };
  return { ok: true, rule: Object.freeze(rule) };
}

/**
 * Validates a list of rules (e.g. a security configuration's `firewall.rules`). Problems are
 * prefixed with the rule's index (`[2].destinationPorts[1]: …`); two different rules with one id
 * are a problem, the same rule listed twice is not (policy inheritance can assign it twice) and is
 * kept once.
 */
export function validateFirewallRules(input: unknown): FirewallRulesValidation {
  if (!Array.isArray(input)) return { ok: false, problems: [`(rules): ${describe(input)} is not a list`] };
  const problems: string[] = [];
  const rules: FirewallRule[] = [];
  input.forEach((item, i) => {
    const r = validateFirewallRule(item);
    if (r.ok) rules.push(r.rule);
    else for (const problem of r.problems) problems.push(`[${i}].${problem}`);
  });
  if (problems.length === 0) {
    try {
      return { ok: true, rules: Object.freeze(dedupeFirewallRules(rules)) };
    } catch (e) {
      problems.push(`(rules): ${(e as Error).message}`);
    }
  }
  return { ok: false, problems };
}

/** True when both rules have the same value in every field. */
export function sameFirewallRule(a: FirewallRule, b: FirewallRule): boolean {
  return FIREWALL_RULE_FIELDS.every((f) => JSON.stringify(a[f]) === JSON.stringify(b[f]));
}

/**
 * Keeps the first of each id. The same rule assigned twice (by a policy and its parent) is one
 * rule; two different rules with one id would share an nftables counter and are refused.
 * @throws RangeError naming the id.
 */
export function dedupeFirewallRules<R extends FirewallRule>(rules: readonly R[]): R[] {
  const seen = new Map<string, R>();
  const out: R[] = [];
  for (const rule of rules) {
    const prior = seen.get(rule.id);
    if (prior === undefined) {
      seen.set(rule.id, rule);
      out.push(rule);
      continue;
    }
    if (!sameFirewallRule(prior, rule)) throw new RangeError(`two different rules have id "${rule.id}"`);
  }
  return out;
}
