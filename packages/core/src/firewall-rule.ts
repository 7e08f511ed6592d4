/**
 * The firewall rule model (docs/architecture.md "Firewall"): Deep Security's `FirewallRule`, member for
 * member, as its REST API names them (`frameType`/`frameNumber`/`frameNot`, `protocol`/
 * `protocolNumber`/`protocolNot`, `sourceIPType` with `sourceIPValue`/`sourceIPMask`/
 * `sourceIPRangeFrom`/`sourceIPRangeTo`/`sourceIPMultiple`/`sourceIPListID`/`sourceIPNot`, the MAC
 * and port twins and all `destination…` ones, `anyFlags`/`tcpflags`/`TCPNot`, `ICMPType`/
 * `ICMPCode`/`ICMPNot`, `logDisabled`, `includePacketData`, `alertEnabled`, `scheduleID`,
 * `contextID`, priority as the strings "0"–"4"). Enum values and the members each type uses are
 * those of Deep Security's API reference (FirewallRule model, api-version v1).
 *
 * One model: what an operator saves is validated once here and normalized into a frozen,
 * JSON-serializable value that the store keeps, the REST API shows, the agent receives and the
 * evaluator, the hidden-rule replacement and the nftables compiler read (with the contents of the
 * IP, MAC and port lists the rule names, firewall-lists.ts). Normalizing an already normalized
 * rule gives it back unchanged, so a rule read and sent back changes nothing.
 *
 * Normal form: every member with a default is present; a member that belongs to a type is present
 * exactly when the rule has that type (`sourceIPValue` for `single` and `masked-ip`, …), as Deep
 * Security's responses show them. `frameNumber` is the EtherType of every frame type but `any`
 * (2048 for `ip`, as Deep Security reports it); `protocolNumber` is present for `other` only.
 */
import {
  maskedInterval,
  normalizeMac,
  parseIpEntry,
  parsePortEntry,
  rangeInterval,
  singleIpInterval,
  withoutComment,
} from './firewall-addresses.js';

export const FIREWALL_ACTIONS = ['log-only', 'allow', 'deny', 'force-allow', 'bypass'] as const;
export type FirewallAction = (typeof FIREWALL_ACTIONS)[number];

/** "4" is highest. Deep Security's API sends priorities as these strings. */
export const FIREWALL_PRIORITIES = ['0', '1', '2', '3', '4'] as const;
export type FirewallPriority = (typeof FIREWALL_PRIORITIES)[number];

export const FIREWALL_DIRECTIONS = ['incoming', 'outgoing'] as const;
export type FirewallDirection = (typeof FIREWALL_DIRECTIONS)[number];

export const FIREWALL_FRAME_TYPES = ['any', 'ip', 'arp', 'revarp', 'ipv4', 'ipv6', 'other'] as const;
export type FrameType = (typeof FIREWALL_FRAME_TYPES)[number];

/**
 * EtherTypes of the named frame types (IEEE 802 registry: IPv4 0x0800, ARP 0x0806, RARP 0x8035,
 * IPv6 0x86DD). `ip` means IPv4 or IPv6; Deep Security reports its frame number as IPv4's.
 */
export const FRAME_TYPE_NUMBERS = { ip: 0x0800, ipv4: 0x0800, arp: 0x0806, revarp: 0x8035, ipv6: 0x86dd } as const;

export const FIREWALL_PROTOCOLS = [
  'any',
  'icmp',
  'igmp',
  'ggp',
  'tcp',
  'pup',
  'udp',
  'idp',
  'nd',
  'raw',
  'tcp-udp',
  'icmpv6',
  'other',
] as const;
export type FirewallProtocol = (typeof FIREWALL_PROTOCOLS)[number];

/** IANA protocol numbers of the named protocols (`tcp-udp` is both 6 and 17; `any` and `other` have none). */
export const PROTOCOL_NUMBERS = {
  icmp: 1,
  igmp: 2,
  ggp: 3,
  tcp: 6,
  pup: 12,
  udp: 17,
  idp: 22,
  icmpv6: 58,
  nd: 77,
  raw: 255,
} as const satisfies Partial<Record<FirewallProtocol, number>>;

export const FIREWALL_IP_TYPES = ['any', 'masked-ip', 'range', 'ip-list', 'single', 'multiple'] as const;
export type FirewallIpType = (typeof FIREWALL_IP_TYPES)[number];
export const FIREWALL_MAC_TYPES = ['any', 'single', 'mac-list', 'multiple'] as const;
export type FirewallMacType = (typeof FIREWALL_MAC_TYPES)[number];
export const FIREWALL_PORT_TYPES = ['any', 'multiple', 'port-list'] as const;
export type FirewallPortType = (typeof FIREWALL_PORT_TYPES)[number];

/** TCP header flags a rule can require (RFC 9293 §3.1 bit order: FIN 1, SYN 2, RST 4, PSH 8, ACK 16, URG 32). */
export const TCP_FLAGS = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg'] as const;
export type TcpFlag = (typeof TCP_FLAGS)[number];

/**
 * A validated, normalized firewall rule (see the module comment for the normal form). Produced
 * only by {@link validateFirewallRule}; frozen, arrays included.
 */
export interface FirewallRule {
  /** Stable identifier the agent uses; names the rule's nftables counter (`r_<id>`), hence the charset. The REST API shows it as the numeric `ID`. */
  readonly id: string;
  readonly name: string;
  /** Empty when not given. */
  readonly description: string;
  readonly action: FirewallAction;
  /** Default "0". */
  readonly priority: FirewallPriority;
  /** Default incoming. */
  readonly direction: FirewallDirection;
  /** Default `ip`, as Deep Security creates rules. */
  readonly frameType: FrameType;
  /** The EtherType; absent for `any`. */
  readonly frameNumber?: number;
  readonly frameNot: boolean;
  /** Default `any`. Only IP frames carry a protocol. */
  readonly protocol: FirewallProtocol;
  /** Only for `other`: the IP protocol number 0–255. */
  readonly protocolNumber?: number;
  readonly protocolNot: boolean;

  readonly sourceIPType: FirewallIpType;
  /** `single` and `masked-ip`. */
  readonly sourceIPValue?: string;
  /** `masked-ip`: a prefix length or (IPv4) a dotted mask. */
  readonly sourceIPMask?: string;
  readonly sourceIPRangeFrom?: string;
  readonly sourceIPRangeTo?: string;
  /** `multiple`: addresses, masked IPs (a/len, a/mask) and ranges (a-b). */
  readonly sourceIPMultiple?: readonly string[];
  readonly sourceIPListID?: number;
  readonly sourceIPNot: boolean;
  readonly sourceMACType: FirewallMacType;
  readonly sourceMACValue?: string;
  readonly sourceMACMultiple?: readonly string[];
  readonly sourceMACListID?: number;
  readonly sourceMACNot: boolean;
  readonly sourcePortType: FirewallPortType;
  /** `multiple`: ports and ranges (`80`, `8000-8080`). TCP and UDP only. */
  readonly sourcePortMultiple?: readonly string[];
  readonly sourcePortListID?: number;
  readonly sourcePortNot: boolean;

  readonly destinationIPType: FirewallIpType;
  readonly destinationIPValue?: string;
  readonly destinationIPMask?: string;
  readonly destinationIPRangeFrom?: string;
  readonly destinationIPRangeTo?: string;
  readonly destinationIPMultiple?: readonly string[];
  readonly destinationIPListID?: number;
  readonly destinationIPNot: boolean;
  readonly destinationMACType: FirewallMacType;
  readonly destinationMACValue?: string;
  readonly destinationMACMultiple?: readonly string[];
  readonly destinationMACListID?: number;
  readonly destinationMACNot: boolean;
  readonly destinationPortType: FirewallPortType;
  readonly destinationPortMultiple?: readonly string[];
  readonly destinationPortListID?: number;
  readonly destinationPortNot: boolean;

  /** True (default): TCP flags are not tested. False: `tcpflags` must all be set (TCP only). */
  readonly anyFlags: boolean;
  /** Present exactly when `anyFlags` is false. */
  readonly tcpflags?: readonly TcpFlag[];
  /** Inverts the flags test. */
  readonly TCPNot: boolean;
  /** ICMP (or ICMPv6) type to match, 0–255; absent: any type. Protocol icmp or icmpv6 only. */
  readonly ICMPType?: number;
  /** ICMP code, with a type only. */
  readonly ICMPCode?: number;
  readonly ICMPNot: boolean;
  /** Log-only rules: no log line, the counter only. Stored and shown for other actions. */
  readonly logDisabled: boolean;
  /** Stored and shown; Palisade captures no packet data. */
  readonly includePacketData: boolean;
  /** Stored and shown; Palisade raises no alert on rule matches. */
  readonly alertEnabled: boolean;
}

/** The members a rule has beside `id`, in Deep Security's order. */
export const FIREWALL_RULE_MEMBERS = [
  'name',
  'description',
  'action',
  'priority',
  'direction',
  'frameType',
  'frameNumber',
  'frameNot',
  'protocol',
  'protocolNumber',
  'protocolNot',
  'sourceIPType',
  'sourceIPValue',
  'sourceIPMask',
  'sourceIPRangeFrom',
  'sourceIPRangeTo',
  'sourceIPMultiple',
  'sourceIPListID',
  'sourceIPNot',
  'sourceMACType',
  'sourceMACValue',
  'sourceMACMultiple',
  'sourceMACListID',
  'sourceMACNot',
  'sourcePortType',
  'sourcePortMultiple',
  'sourcePortListID',
  'sourcePortNot',
  'destinationIPType',
  'destinationIPValue',
  'destinationIPMask',
  'destinationIPRangeFrom',
  'destinationIPRangeTo',
  'destinationIPMultiple',
  'destinationIPListID',
  'destinationIPNot',
  'destinationMACType',
  'destinationMACValue',
  'destinationMACMultiple',
  'destinationMACListID',
  'destinationMACNot',
  'destinationPortType',
  'destinationPortMultiple',
  'destinationPortListID',
  'destinationPortNot',
  'anyFlags',
  'logDisabled',
  'includePacketData',
  'alertEnabled',
  'tcpflags',
  'TCPNot',
  'ICMPType',
  'ICMPCode',
  'ICMPNot',
] as const satisfies readonly (keyof FirewallRule)[];

/**
 * Members Deep Security defines that Palisade accepts only at "none" (absent, null or 0, Deep
 * Security's way of removing an assignment): there are no schedules or rule contexts here, and a
 * rule meant to hold only on a schedule must not be enforced all the time.
 */
export const UNSUPPORTED_FIREWALL_RULE_MEMBERS = ['scheduleID', 'contextID'] as const;

/** The defaults of a new rule, as Deep Security creates one (every member but name and action). */
export const FIREWALL_RULE_DEFAULTS = Object.freeze({
  description: '',
  priority: '0',
  direction: 'incoming',
  frameType: 'ip',
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
  TCPNot: false,
  ICMPNot: false,
  logDisabled: false,
  includePacketData: false,
  alertEnabled: false,
} as const satisfies Partial<FirewallRule>);

/** Ids starting with this are synthesized by core (the hidden rule) and refused from operators. */
export const RESERVED_RULE_ID_PREFIX = 'hidden-';

/**
 * Outcome of validation. `problems` are `"<member path>: <what is wrong>"`, e.g.
 * `"destinationPortMultiple[1]: "70000" is not a port (0–65535) or range (from-to)"`; all problems
 * are reported, not just the first.
 */
export type FirewallRuleValidation =
  | { readonly ok: true; readonly rule: FirewallRule }
  | { readonly ok: false; readonly problems: readonly string[] };

export type FirewallRulesValidation =
  | { readonly ok: true; readonly rules: readonly FirewallRule[] }
  | { readonly ok: false; readonly problems: readonly string[] };

// ---------------------------------------------------------------------------------------------
// Groups of members: the value members that belong to each type.

type Side = 'source' | 'destination';
export const FIREWALL_SIDES: readonly Side[] = ['source', 'destination'];

const IP_VALUE_MEMBERS = ['Value', 'Mask', 'RangeFrom', 'RangeTo', 'Multiple', 'ListID'] as const;
const MAC_VALUE_MEMBERS = ['Value', 'Multiple', 'ListID'] as const;
const PORT_VALUE_MEMBERS = ['Multiple', 'ListID'] as const;

/** Which value members each type uses (Deep Security: "Only applies to … type …"). */
const IP_TYPE_MEMBERS: Record<FirewallIpType, readonly (typeof IP_VALUE_MEMBERS)[number][]> = {
  any: [],
  'masked-ip': ['Value', 'Mask'],
  range: ['RangeFrom', 'RangeTo'],
  'ip-list': ['ListID'],
  single: ['Value'],
  multiple: ['Multiple'],
};
const MAC_TYPE_MEMBERS: Record<FirewallMacType, readonly (typeof MAC_VALUE_MEMBERS)[number][]> = {
  any: [],
  single: ['Value'],
  'mac-list': ['ListID'],
  multiple: ['Multiple'],
};
const PORT_TYPE_MEMBERS: Record<FirewallPortType, readonly (typeof PORT_VALUE_MEMBERS)[number][]> = {
  any: [],
  multiple: ['Multiple'],
  'port-list': ['ListID'],
};

/**
 * The members that depend on another member's value: when a modification sets the key, the
 * stored values of the dependants are dropped before the modification is applied, so that
 * switching `sourceIPType` from `single` to `any` does not leave a stale `sourceIPValue` behind.
 */
const DEPENDANTS: Readonly<Record<string, readonly string[]>> = (() => {
  const out: Record<string, string[]> = {
    frameType: ['frameNumber'],
    protocol: ['protocolNumber', 'ICMPType', 'ICMPCode', 'anyFlags', 'tcpflags', 'TCPNot'],
    anyFlags: ['tcpflags', 'TCPNot'],
    ICMPType: ['ICMPCode'],
  };
  for (const side of FIREWALL_SIDES) {
    out[`${side}IPType`] = IP_VALUE_MEMBERS.map((m) => `${side}IP${m}`);
    out[`${side}MACType`] = MAC_VALUE_MEMBERS.map((m) => `${side}MAC${m}`);
    out[`${side}PortType`] = PORT_VALUE_MEMBERS.map((m) => `${side}Port${m}`);
  }
  return out;
})();

/**
 * Deep Security's modify (`POST /api/firewallrules/{id}`): the members sent replace the stored
 * ones, the rest stay — except the values that belong to a type or protocol the change replaces
 * (see DEPENDANTS). The result is input for {@link validateFirewallRule}.
 */
export function mergeFirewallRule(
  stored: FirewallRule,
  patch: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...stored };
  for (const key of Object.keys(patch)) {
    if (patch[key] === undefined) continue;
    // A member sent with the value it already has is an echo, not a change of type.
    if (JSON.stringify(patch[key]) === JSON.stringify(out[key])) continue;
    for (const dependant of DEPENDANTS[key] ?? []) delete out[dependant];
  }
  for (const [key, value] of Object.entries(patch)) if (value !== undefined) out[key] = value;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const MEMBER_SET: ReadonlySet<string> = new Set<string>([
  'id',
  ...FIREWALL_RULE_MEMBERS,
  ...UNSUPPORTED_FIREWALL_RULE_MEMBERS,
]);
/** Spellings of a member other than Deep Security's JSON name, accepted on input. */
const ALIASES: Readonly<Record<string, string>> = { TCPFlags: 'tcpflags' };
/** Entries of one `…Multiple` member or list; bounds the work of one rule. */
export const MAX_FIREWALL_LIST_ENTRIES = 4096;

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

/** Deep Security's clients send `null` (and some SDKs omit nothing) for members not set. */
function given(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function readEnum<T extends string>(
  p: Problems,
  path: string,
  value: unknown,
  allowed: readonly T[],
  fallback: T | undefined,
): T | undefined {
  if (!given(value)) {
    if (fallback === undefined) p.add(path, 'is required');
    return fallback;
  }
  // Case, spaces and underscores are forgiven ("Force Allow", "LOG_ONLY"); the value kept is Deep Security's.
  if (typeof value === 'string') {
    const k = keyword(value);
    const hit = allowed.find((a) => a === k);
    if (hit) return hit;
  }
  p.add(path, `${describe(value)} is not one of ${allowed.join(', ')}`);
  return fallback;
}

function readBool(p: Problems, path: string, value: unknown, fallback: boolean): boolean {
  if (!given(value)) return fallback;
  if (typeof value === 'boolean') return value;
  p.add(path, `${describe(value)} is not true or false`);
  return fallback;
}

function readInt(
  p: Problems,
  path: string,
  value: unknown,
  min: number,
  max: number,
  what: string,
): number | undefined {
  if (!given(value)) return undefined;
  const n = typeof value === 'string' && /^(0|[1-9][0-9]*|0x[0-9a-fA-F]+)$/.test(value.trim()) ? Number(value) : value;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max) return n;
  p.add(path, `${describe(value)} is not ${what}`);
  return undefined;
}

function readId(p: Problems, value: unknown): string | undefined {
  if (!given(value)) {
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
  if (!given(value)) {
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

function readPriority(p: Problems, value: unknown): FirewallPriority {
  if (!given(value)) return FIREWALL_RULE_DEFAULTS.priority;
  // The API reference types priority as a string; scripts (Ansible's deepsec module) send numbers too.
  const s = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : null;
  const hit = FIREWALL_PRIORITIES.find((x) => x === s);
  if (hit) return hit;
  p.add('priority', `${describe(value)} is not a priority ("0" lowest … "4" highest)`);
  return FIREWALL_RULE_DEFAULTS.priority;
}

/**
 * A list member: an array of entries, each a string (or, for ports, a number); an entry may hold
 * several separated by commas or new lines (Deep Security: "list of comma-delimited …"). Returns
 * the entries trimmed, one per element, with their paths.
 */
function readEntries(p: Problems, path: string, value: unknown, numbersToo: boolean): { path: string; text: string }[] {
  if (!Array.isArray(value)) {
    p.add(path, `${describe(value)} is not a list`);
    return [];
  }
  const out: { path: string; text: string }[] = [];
  value.forEach((v, i) => {
    const at = `${path}[${i}]`;
    if (numbersToo && typeof v === 'number') {
      out.push({ path: at, text: String(v) });
      return;
    }
    if (typeof v !== 'string') {
      p.add(at, `${describe(v)} is not text`);
      return;
    }
    for (const part of v.split(/[,\n]/)) if (part.trim() !== '') out.push({ path: at, text: part.trim() });
  });
  if (out.length === 0 && value.length === 0) p.add(path, 'is an empty list');
  if (out.length > MAX_FIREWALL_LIST_ENTRIES) p.add(path, `has more than ${MAX_FIREWALL_LIST_ENTRIES} entries`);
  return out;
}

/** The entries of `<pre>Multiple`, required for type multiple. */
function readMultiple(p: Problems, input: Out, pre: string, numbersToo: boolean): { path: string; text: string }[] {
  const value = input[`${pre}Multiple`];
  if (given(value)) return readEntries(p, `${pre}Multiple`, value, numbersToo);
  p.add(`${pre}Multiple`, `is required for ${pre}Type multiple`);
  return [];
}

/** `<pre>ListID`, required for the list type: a list ID (0, Deep Security's "none", is not one). */
function readRequiredListId(p: Problems, input: Out, pre: string, type: string, what: string): number | undefined {
  const path = `${pre}ListID`;
  const before = p.list.length;
  const id = readInt(p, path, input[path], 0, Number.MAX_SAFE_INTEGER, 'a list ID');
  if ((id === undefined || id === 0) && p.list.length === before)
    p.add(path, `is required for ${pre}Type ${type} (${what})`);
  return id === 0 ? undefined : id;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

type Out = Record<string, unknown>;

/** Values the type does not use must be absent (a value for another type would be silently ignored). */
function refuseStrays(
  p: Problems,
  input: Out,
  prefix: string,
  type: string,
  all: readonly string[],
  used: readonly string[],
) {
  for (const m of all) {
    if (used.includes(m) || !given(input[`${prefix}${m}`])) continue;
    // 0 is Deep Security's "none" for list IDs, whatever the type.
    if (m === 'ListID' && input[`${prefix}${m}`] === 0) continue;
    p.add(`${prefix}${m}`, `does not apply to ${prefix}Type ${type}`);
  }
}

function readIpMatch(p: Problems, input: Out, side: Side, out: Out): void {
  const pre = `${side}IP`;
  const type = readEnum(p, `${pre}Type`, input[`${pre}Type`], FIREWALL_IP_TYPES, 'any') ?? 'any';
  out[`${pre}Type`] = type;
  refuseStrays(p, input, pre, type, IP_VALUE_MEMBERS, IP_TYPE_MEMBERS[type]);
  const need = (m: string): string | undefined => {
    const v = input[`${pre}${m}`];
    if (!given(v)) {
      p.add(`${pre}${m}`, `is required for ${pre}Type ${type}`);
      return undefined;
    }
    if (typeof v !== 'string') {
      p.add(`${pre}${m}`, `${describe(v)} is not text`);
      return undefined;
    }
    return v.trim();
  };
  const check = (path: string, f: () => unknown) => {
    try {
      f();
    } catch (e) {
      p.add(path, (e as Error).message);
    }
  };
  switch (type) {
    case 'single': {
      const v = need('Value');
      if (v !== undefined) check(`${pre}Value`, () => singleIpInterval(v));
      out[`${pre}Value`] = v;
      break;
    }
    case 'masked-ip': {
      const v = need('Value');
      const m = need('Mask');
      if (v !== undefined && m !== undefined) check(`${pre}Mask`, () => maskedInterval(v, m));
      out[`${pre}Value`] = v;
      out[`${pre}Mask`] = m;
      break;
    }
    case 'range': {
      const a = need('RangeFrom');
      const b = need('RangeTo');
      if (a !== undefined && b !== undefined) check(`${pre}RangeFrom`, () => rangeInterval(a, b));
      out[`${pre}RangeFrom`] = a;
      out[`${pre}RangeTo`] = b;
      break;
    }
    case 'multiple': {
      const entries = readMultiple(p, input, pre, false);
      for (const e of entries) check(e.path, () => parseIpEntry(e.text));
      out[`${pre}Multiple`] = entries.map((e) => e.text);
      break;
    }
    case 'ip-list': {
      out[`${pre}ListID`] = readRequiredListId(p, input, pre, 'ip-list', 'an IP list ID');
      break;
    }
    case 'any':
      break;
  }
  out[`${pre}Not`] = readBool(p, `${pre}Not`, input[`${pre}Not`], false);
}

function readMacMatch(p: Problems, input: Out, side: Side, out: Out): void {
  const pre = `${side}MAC`;
  const type = readEnum(p, `${pre}Type`, input[`${pre}Type`], FIREWALL_MAC_TYPES, 'any') ?? 'any';
  out[`${pre}Type`] = type;
  refuseStrays(p, input, pre, type, MAC_VALUE_MEMBERS, MAC_TYPE_MEMBERS[type]);
  const macProblem = (text: string) => `${describe(text)} is not a MAC address (six hex pairs separated by : or -)`;
  switch (type) {
    case 'single': {
      const v = input[`${pre}Value`];
      if (!given(v)) p.add(`${pre}Value`, `is required for ${pre}Type single`);
      else if (typeof v !== 'string' || normalizeMac(v) === null) p.add(`${pre}Value`, macProblem(String(v)));
      out[`${pre}Value`] = typeof v === 'string' ? v.trim() : undefined;
      break;
    }
    case 'multiple': {
      const entries = readMultiple(p, input, pre, false);
      for (const e of entries) if (normalizeMac(e.text) === null) p.add(e.path, macProblem(e.text));
      out[`${pre}Multiple`] = entries.map((e) => e.text);
      break;
    }
    case 'mac-list': {
      out[`${pre}ListID`] = readRequiredListId(p, input, pre, 'mac-list', 'a MAC list ID');
      break;
    }
    case 'any':
      break;
  }
  out[`${pre}Not`] = readBool(p, `${pre}Not`, input[`${pre}Not`], false);
}

function readPortMatch(p: Problems, input: Out, side: Side, out: Out): void {
  const pre = `${side}Port`;
  const type = readEnum(p, `${pre}Type`, input[`${pre}Type`], FIREWALL_PORT_TYPES, 'any') ?? 'any';
  out[`${pre}Type`] = type;
  refuseStrays(p, input, pre, type, PORT_VALUE_MEMBERS, PORT_TYPE_MEMBERS[type]);
  if (type === 'multiple') {
    const entries = readMultiple(p, input, pre, true);
    const texts: string[] = [];
    for (const e of entries) {
      try {
        const [a, b] = parsePortEntry(e.text);
        texts.push(a === b ? String(a) : `${a}-${b}`);
      } catch (err) {
        p.add(e.path, (err as Error).message);
      }
    }
    out[`${pre}Multiple`] = texts;
  } else if (type === 'port-list') {
    out[`${pre}ListID`] = readRequiredListId(p, input, pre, 'port-list', 'a port list ID');
  }
  out[`${pre}Not`] = readBool(p, `${pre}Not`, input[`${pre}Not`], false);
}

/**
 * Which IP families a rule's frame match admits. Non-IP frames (ARP, RARP, other EtherTypes) admit
 * none, and so can carry no protocol, address or port match.
 */
export function frameFamilies(rule: Pick<FirewallRule, 'frameType' | 'frameNumber' | 'frameNot'>): readonly (4 | 6)[] {
  let positive: (4 | 6)[];
  switch (rule.frameType) {
    case 'any':
      return rule.frameNot ? [] : [4, 6];
    case 'ip':
      positive = [4, 6];
      break;
    case 'ipv4':
      positive = [4];
      break;
    case 'ipv6':
      positive = [6];
      break;
    case 'other':
      positive =
        rule.frameNumber === FRAME_TYPE_NUMBERS.ipv4 ? [4] : rule.frameNumber === FRAME_TYPE_NUMBERS.ipv6 ? [6] : [];
      break;
    default:
      positive = [];
  }
  return rule.frameNot ? ([4, 6] as const).filter((f) => !positive.includes(f)) : positive;
}

/** A frame type and its number as shown in messages: `ip`, `not arp`, `0x88cc`. */
export function frameText(rule: Pick<FirewallRule, 'frameType' | 'frameNumber' | 'frameNot'>): string {
  const f =
    rule.frameType === 'other' && rule.frameNumber !== undefined
      ? `0x${rule.frameNumber.toString(16).padStart(4, '0')}`
      : rule.frameType;
  return `${rule.frameNot ? 'not ' : ''}${f}`;
}

function readFrame(p: Problems, input: Out, out: Out): void {
  const type = readEnum(p, 'frameType', input.frameType, FIREWALL_FRAME_TYPES, 'ip') ?? 'ip';
  out.frameType = type;
  // IEEE 802.3: values up to 1500 are lengths; EtherTypes start at 0x0600.
  const n = readInt(p, 'frameNumber', input.frameNumber, 0, 0xffff, 'an EtherType (0x0600–0xFFFF)');
  if (type === 'any') {
    if (n !== undefined && n !== 0) p.add('frameNumber', 'does not apply to frameType any');
  } else if (type === 'other') {
    if (n === undefined) {
      if (!p.list.some((x) => x.startsWith('frameNumber'))) p.add('frameNumber', 'is required for frameType other');
    } else if (n < 0x0600) {
      p.add('frameNumber', `${n} is not an EtherType (0x0600–0xFFFF; smaller values are 802.3 lengths)`);
    }
    out.frameNumber = n;
  } else {
    const own = FRAME_TYPE_NUMBERS[type];
    if (n !== undefined && n !== own)
      p.add(
        'frameNumber',
        `${n} is not frameType ${type}'s number (${own}); use frameType other for another EtherType`,
      );
    out.frameNumber = own;
  }
  out.frameNot = readBool(p, 'frameNot', input.frameNot, false);
  if (type === 'any' && out.frameNot) p.add('frameNot', '"not any" matches nothing; set frameType or clear the flag');
}

function readProtocol(p: Problems, input: Out, out: Out): void {
  const protocol = readEnum(p, 'protocol', input.protocol, FIREWALL_PROTOCOLS, 'any') ?? 'any';
  out.protocol = protocol;
  const n = readInt(p, 'protocolNumber', input.protocolNumber, 0, 255, 'an IP protocol number 0–255');
  if (protocol === 'other') {
    if (n === undefined && !p.list.some((x) => x.startsWith('protocolNumber')))
      p.add('protocolNumber', 'is required for protocol other');
    out.protocolNumber = n;
  } else if (n !== undefined) {
    const own = (PROTOCOL_NUMBERS as Partial<Record<FirewallProtocol, number>>)[protocol];
    // An echo of the named protocol's own number is fine; anything else contradicts it.
    if (own !== n && !(protocol === 'any' && n === 0))
      p.add('protocolNumber', `${n} is not protocol ${protocol}'s number; use protocol other for another protocol`);
  }
  out.protocolNot = readBool(p, 'protocolNot', input.protocolNot, false);
  if (protocol === 'any' && out.protocolNot)
    p.add('protocolNot', '"not any" matches nothing; set protocol or clear the flag');
}

function readTcpFlags(p: Problems, input: Out, out: Out): void {
  const flagsGiven = given(input.tcpflags) && !(Array.isArray(input.tcpflags) && input.tcpflags.length === 0);
  // Deep Security's own clients send `tcpflags` alone (Ansible's deepsec module does): flags given
  // without anyFlags mean "these flags".
  const anyFlags = readBool(p, 'anyFlags', input.anyFlags, !flagsGiven);
  out.anyFlags = anyFlags;
  if (anyFlags) {
    if (flagsGiven) p.add('tcpflags', 'is only tested with anyFlags false');
    if (input.TCPNot === true) p.add('TCPNot', 'only inverts a flags test (anyFlags false)');
    out.TCPNot = false;
    return;
  }
  if (!flagsGiven) {
    p.add('tcpflags', 'is required with anyFlags false (one or more of fin, syn, rst, psh, ack, urg)');
  } else if (!Array.isArray(input.tcpflags)) {
    p.add('tcpflags', `${describe(input.tcpflags)} is not a list`);
  } else {
    const flags = new Set<TcpFlag>();
    input.tcpflags.forEach((f, i) => {
      const hit = typeof f === 'string' ? TCP_FLAGS.find((x) => x === f.trim().toLowerCase()) : undefined;
      if (hit) flags.add(hit);
      else p.add(`tcpflags[${i}]`, `${describe(f)} is not one of ${TCP_FLAGS.join(', ')}`);
    });
    // Header order, so the same set always reads the same.
    out.tcpflags = TCP_FLAGS.filter((f) => flags.has(f));
  }
  out.TCPNot = readBool(p, 'TCPNot', input.TCPNot, false);
  if (out.protocol !== 'tcp' || out.protocolNot)
    p.add(
      'tcpflags',
      `TCP flags are only tested for protocol tcp (protocol is ${out.protocolNot ? 'not ' : ''}${String(out.protocol)})`,
    );
}

function readIcmp(p: Problems, input: Out, out: Out): void {
  const type = readInt(p, 'ICMPType', input.ICMPType, 0, 255, 'an ICMP type 0–255');
  const code = readInt(p, 'ICMPCode', input.ICMPCode, 0, 255, 'an ICMP code 0–255');
  out.ICMPNot = readBool(p, 'ICMPNot', input.ICMPNot, false);
  if (code !== undefined && type === undefined) p.add('ICMPCode', 'needs an ICMPType');
  if (type === undefined) {
    if (out.ICMPNot) p.add('ICMPNot', 'only inverts an ICMP type test (set ICMPType)');
    return;
  }
  out.ICMPType = type;
  if (code !== undefined) out.ICMPCode = code;
  if ((out.protocol !== 'icmp' && out.protocol !== 'icmpv6') || out.protocolNot)
    p.add(
      'ICMPType',
      `only applies to protocol icmp or icmpv6 (protocol is ${out.protocolNot ? 'not ' : ''}${String(out.protocol)})`,
    );
}

/**
 * Validates one rule as an operator (or the REST API) sent it — Deep Security's members plus the
 * `id` the agent will know it by — and normalizes it (see the module comment).
 *
 * Accepted spellings: enum values case-insensitively with spaces or underscores for hyphens
 * ("Force Allow"); priorities as the strings "0"–"4" or numbers; numbers as JSON numbers or
 * decimal/hex strings; `null` for "not set"; list IDs, `scheduleID` and `contextID` 0 for "none";
 * `TCPFlags` for `tcpflags`. Unknown members are problems (a misspelt `destinationPortMultiple`
 * must not silently widen a rule to any port), and so are values that do not belong to the type
 * chosen (`sourceIPValue` beside `sourceIPType` any).
 */
export function validateFirewallRule(input: unknown): FirewallRuleValidation {
  const p = new Problems();
  if (!isObject(input)) return { ok: false, problems: [`(rule): ${describe(input)} is not an object`] };
  const raw: Out = {};
  for (const [key, value] of Object.entries(input)) {
    const name = ALIASES[key] ?? key;
    if (!MEMBER_SET.has(name)) p.add(key, 'is not a firewall rule member');
    else raw[name] = value;
  }

  const out: Out = {};
  out.id = readId(p, raw.id);
  out.name = readText(p, 'name', raw.name, true, 255);
  out.description = readText(p, 'description', raw.description, false, 2000);
  out.action = readEnum(p, 'action', raw.action, FIREWALL_ACTIONS, undefined);
  out.priority = readPriority(p, raw.priority);
  out.direction = readEnum(p, 'direction', raw.direction, FIREWALL_DIRECTIONS, 'incoming');
  readFrame(p, raw, out);
  readProtocol(p, raw, out);
  for (const side of FIREWALL_SIDES) readIpMatch(p, raw, side, out);
  for (const side of FIREWALL_SIDES) readMacMatch(p, raw, side, out);
  for (const side of FIREWALL_SIDES) readPortMatch(p, raw, side, out);
  readTcpFlags(p, raw, out);
  readIcmp(p, raw, out);
  out.logDisabled = readBool(p, 'logDisabled', raw.logDisabled, false);
  out.includePacketData = readBool(p, 'includePacketData', raw.includePacketData, false);
  out.alertEnabled = readBool(p, 'alertEnabled', raw.alertEnabled, false);
  for (const m of UNSUPPORTED_FIREWALL_RULE_MEMBERS) {
    const v = readInt(p, m, raw[m], 0, Number.MAX_SAFE_INTEGER, 'an ID');
    if (v !== undefined && v !== 0)
      p.add(
        m,
        `Palisade has no ${m === 'scheduleID' ? 'schedules' : 'rule contexts'}: rules are always in force (send 0 or leave it out)`,
      );
  }

  // "not any" matches no packet at all: almost certainly a mistake, never a useful rule.
  for (const side of FIREWALL_SIDES) {
    for (const kind of ['IP', 'MAC', 'Port'] as const) {
      if (out[`${side}${kind}Not`] === true && out[`${side}${kind}Type`] === 'any')
        p.add(`${side}${kind}Not`, `"not any" matches nothing; set ${side}${kind}Type or clear the flag`);
    }
  }
  const frame = out as unknown as Pick<FirewallRule, 'frameType' | 'frameNumber' | 'frameNot'>;
  const families = frameFamilies(frame);
  // Protocols, IP addresses and ports live in the IP header and above: a rule for frames that
  // cannot be IP (ARP, another EtherType, "not IP") cannot test them.
  if (families.length === 0 && !(out.frameType === 'any' && out.frameNot)) {
    const f = frameText(frame);
    if (out.protocol !== 'any') p.add('protocol', `only IP frames carry a protocol (frame type is ${f})`);
    for (const side of FIREWALL_SIDES)
      if (out[`${side}IPType`] !== 'any')
        p.add(`${side}IPType`, `only IP frames carry IP addresses (frame type is ${f})`);
  }
  // A positive inline address match with no entry of a family the frame admits never matches.
  for (const side of FIREWALL_SIDES) {
    if (out[`${side}IPNot`] === true || families.length === 0) continue;
    const present = inlineIpFamilies(out, side);
    if (present.size > 0 && !families.some((f) => present.has(f)))
      p.add(
        `${side}IPType`,
        `has no IPv${families.join('/IPv')} address, so it never matches frame type ${frameText(frame)}`,
      );
  }
  // Ports exist only in TCP and UDP headers (Deep Security greys the port fields out otherwise).
  const portProtocol =
    (out.protocol === 'tcp' || out.protocol === 'udp' || out.protocol === 'tcp-udp') && out.protocolNot !== true;
  for (const side of FIREWALL_SIDES) {
    if (out[`${side}PortType`] !== 'any' && !portProtocol) {
      const proto = `${out.protocolNot ? 'not ' : ''}${String(out.protocol)}`;
      p.add(`${side}PortType`, `ports are only meaningful for protocol tcp, udp or tcp-udp (protocol is ${proto})`);
    }
  }

  if (p.list.length > 0) return { ok: false, problems: p.list };
  const rule: Out = {};
  // Deep Security's member order; absent optional members left out.
  for (const key of ['id', ...FIREWALL_RULE_MEMBERS]) {
    const v = out[key];
    if (v === undefined) continue;
    rule[key] = Array.isArray(v) ? Object.freeze(v) : v;
  }
  return { ok: true, rule: Object.freeze(rule) as unknown as FirewallRule };
}

/** The families of the addresses an inline (non-list) IP match names; empty for any and lists. */
function inlineIpFamilies(out: Out, side: Side): Set<4 | 6> {
  const texts: unknown[] = [
    out[`${side}IPValue`],
    out[`${side}IPRangeFrom`],
    ...((out[`${side}IPMultiple`] as unknown[] | undefined) ?? []),
  ];
  const families = new Set<4 | 6>();
  for (const t of texts) if (typeof t === 'string') families.add(withoutComment(t).includes(':') ? 6 : 4);
  return families;
}

/**
 * Validates a list of rules (e.g. a security configuration's `firewall.rules`). Problems are
 * prefixed with the rule's index (`[2].destinationPortMultiple[1]: …`); two different rules with
 * one id are a problem, the same rule listed twice is not (policy inheritance can assign it twice)
 * and is kept once.
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

/** True when both rules have the same value in every member (normalized rules compare as JSON). */
export function sameFirewallRule(a: FirewallRule, b: FirewallRule): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
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
    const { hidden: _a, ...x } = prior as R & { hidden?: boolean };
    const { hidden: _b, ...y } = rule as R & { hidden?: boolean };
    if (JSON.stringify(x) !== JSON.stringify(y)) throw new RangeError(`two different rules have id "${rule.id}"`);
  }
  return out;
}
