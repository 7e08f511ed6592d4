import { type IpInterval, parseIpAddress, parseIpEntry } from './firewall-addresses.js';

/**
 * Where the manager may send to on an operator's or an agent's word: notifier destinations
 * (webhook and syslog) and agent-announced listener addresses. Special-use addresses (loopback,
 * private, link-local, …: RFC 6890's registries) reach the manager's own host and network, so a
 * key or an agent able to name one would turn the manager into a scanner of what it can reach;
 * they are refused unless the operator lists them. Pure: the manager resolves names and hands
 * the addresses here.
 */

/** One allow-list entry: an address, masked address or range (or a host name), and an optional port. */
export interface DestinationEntry {
  readonly interval: IpInterval | null;
  /** A host name entry (lower case): matches a destination configured by that name. */
  readonly host: string | null;
  /** Null: any port. */
  readonly port: number | null;
  readonly text: string;
}

const HOST_NAME = /^[a-z0-9]([a-z0-9-]{0,62})(\.[a-z0-9]([a-z0-9-]{0,62}))*\.?$/;

function parsePort(text: string, entry: string): number {
  if (!/^[1-9][0-9]{0,4}$/.test(text) || Number(text) > 65535)
    throw new RangeError(`"${entry}": the port "${text}" is not 1-65535`);
  return Number(text);
}

/**
 * One entry: `192.0.2.10`, `10.0.0.0/8`, `10.0.0.1-10.0.0.9`, `siem.example.com`, `2001:db8::/32`,
 * each with an optional port: `10.0.0.0/8:514`, `siem.example.com:6514`, `[fd00::/8]:443`.
 * @throws RangeError naming what is wrong.
 */
export function parseDestinationEntry(raw: string): DestinationEntry {
  const text = raw.trim();
  let body = text;
  let port: number | null = null;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    body = bracketed[1]!;
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2], text);
  } else if (text.split(':').length === 2) {
    // One colon: HOST:PORT (an IPv6 entry has several, and takes a port only in brackets).
    const [h, p] = text.split(':') as [string, string];
    body = h;
    port = parsePort(p, text);
  }
  if (body === '') throw new RangeError(`"${text}" names no address`);
  if (/^[0-9.:/a-fA-F-]+$/.test(body) && (body.includes(':') || /^[0-9./-]+$/.test(body))) {
    try {
      return { interval: parseIpEntry(body), host: null, port, text };
    } catch (e) {
      throw new RangeError(`"${text}": ${(e as Error).message}`);
    }
  }
  const host = body.toLowerCase();
  if (!HOST_NAME.test(host)) throw new RangeError(`"${text}" is not an address, masked address, range or host name`);
  return { interval: null, host: host.replace(/\.$/, ''), port, text };
}

/** A list as the setting holds it: entries separated by commas, spaces or line breaks; empty for none. */
export function parseDestinationAllowList(value: string): DestinationEntry[] {
  return value
    .split(/[\s,]+/)
    .filter((t) => t !== '')
    .map(parseDestinationEntry);
}

/** Why the setting's value is refused; null when it is fine. */
export function checkDestinationAllowList(value: string): string | null {
  try {
    const entries = parseDestinationAllowList(value);
    return entries.length > 256 ? 'at most 256 entries' : null;
  } catch (e) {
    return (e as Error).message;
  }
}

const v4 = (a: number, b: number, c: number, d: number) => BigInt(((a * 256 + b) * 256 + c) * 256 + d);
const V4_SPECIAL: ReadonlyArray<readonly [bigint, number, string]> = [
  [v4(0, 0, 0, 0), 8, '"this network" (RFC 1122)'],
  [v4(10, 0, 0, 0), 8, 'private (RFC 1918)'],
  [v4(100, 64, 0, 0), 10, 'shared address space (RFC 6598)'],
  [v4(127, 0, 0, 0), 8, 'loopback'],
  [v4(169, 254, 0, 0), 16, 'link-local (cloud metadata lives here)'],
  [v4(172, 16, 0, 0), 12, 'private (RFC 1918)'],
  [v4(192, 0, 0, 0), 24, 'IETF protocol assignments (RFC 6890)'],
  [v4(192, 168, 0, 0), 16, 'private (RFC 1918)'],
  [v4(198, 18, 0, 0), 15, 'benchmarking (RFC 2544)'],
  [v4(224, 0, 0, 0), 4, 'multicast'],
  [v4(240, 0, 0, 0), 4, 'reserved (RFC 1112)'],
];
const V6_SPECIAL: ReadonlyArray<readonly [bigint, number, string]> = [
  [0n, 128, 'unspecified'],
  [1n, 128, 'loopback'],
  [0xfc00n << 112n, 7, 'unique local (RFC 4193)'],
  [0xfe80n << 112n, 10, 'link-local'],
  [0xff00n << 112n, 8, 'multicast'],
];
const inPrefix = (value: bigint, base: bigint, len: number, bits: number) =>
  value >> BigInt(bits - len) === base >> BigInt(bits - len);

/**
 * What kind of special-use address this is (loopback, private, link-local, …), or null for a
 * public one. An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`) is judged as its IPv4 address.
 */
export function specialUseKind(address: string): string | null {
  const a = parseIpAddress(address);
  if (!a) return 'not an IP address';
  if (a.family === 6 && a.value >> 32n === 0xffffn) return specialUseKind(formatMapped(a.value));
  const table = a.family === 4 ? V4_SPECIAL : V6_SPECIAL;
  const bits = a.family === 4 ? 32 : 128;
  for (const [base, len, kind] of table) if (inPrefix(a.value, base, len, bits)) return kind;
  return null;
}

function formatMapped(value: bigint): string {
  const n = Number(value & 0xffffffffn);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/**
 * Whether an entry allows `address` (resolved for the destination configured as `host`) on
 * `port`: its interval holds the address, or it names the host; and its port, if it has one, is
 * `port`. An IPv4-mapped IPv6 address matches IPv4 entries.
 */
export function allowListMatches(
  entries: readonly DestinationEntry[],
  d: { host: string; address: string; port: number },
): boolean {
  let ip = parseIpAddress(d.address);
  if (ip?.family === 6 && ip.value >> 32n === 0xffffn) ip = { family: 4, value: ip.value & 0xffffffffn };
  const host = d.host.toLowerCase().replace(/\.$/, '');
  return entries.some(
    (e) =>
      (e.port === null || e.port === d.port) &&
      ((e.host !== null && e.host === host) ||
        (ip !== null &&
          e.interval !== null &&
          e.interval.family === ip.family &&
          e.interval.low <= ip.value &&
          ip.value <= e.interval.high)),
  );
}

/** A destination policy in force. */
export interface DestinationPolicy {
  /** What the operator allows beyond the default. */
  readonly entries: readonly DestinationEntry[];
  /** Whether public (not special-use) addresses are allowed without being listed. */
  readonly publicAllowed: boolean;
}

/**
 * Why the manager must not connect to `address` (a resolved IP) on `port` for a destination
 * configured as `host`; null when it may. Allowed: an entry matching the address (or the
 * configured host name) and the port, else, when `publicAllowed`, any public address.
 */
export function destinationRefusal(
  policy: DestinationPolicy,
  d: { host: string; address: string; port: number },
): string | null {
  if (!parseIpAddress(d.address)) return `"${d.address}" is not an IP address`;
  if (allowListMatches(policy.entries, d)) return null;
  const kind = specialUseKind(d.address);
  const where = d.host === d.address ? `${d.address}:${d.port}` : `${d.host} (${d.address}) port ${d.port}`;
  if (kind) return `${where} is a ${kind} address, not in the allow-list`;
  if (!policy.publicAllowed) return `${where} is not in the allow-list (public addresses are allowed only when listed)`;
  return null;
}
