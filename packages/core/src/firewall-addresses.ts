/**
 * The address grammar of firewall rules and of IP, MAC and port lists: single addresses, masked
 * addresses and ranges, MAC addresses, ports and port ranges. Parsed here, without node:net,
 * because core is pure (purity.test.ts); the evaluator parses packet addresses with the same code.
 *
 * Entry forms follow Deep Security's lists ("individual IPs, masked IPs (192.168.2.0/24 or
 * 192.168.2.0/255.255.255.0) or IP ranges (192.168.0.2 - 192.168.0.125)", IP list `items` in its
 * API reference); text after `#` in an entry is a comment, as its list editor allows.
 */

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

/** The text of an entry without its `#` comment, trimmed. */
export function withoutComment(entry: string): string {
  const hash = entry.indexOf('#');
  return (hash === -1 ? entry : entry.slice(0, hash)).trim();
}

/**
 * A prefix length (`24`) or, for IPv4, a dotted mask (`255.255.255.0`) → the prefix length.
 * @throws RangeError with a message fit for an operator.
 */
export function parseIpMask(family: 4 | 6, text: string): number {
  const t = text.trim();
  const bits = BITS[family];
  if (/^(0|[1-9][0-9]{0,2})$/.test(t) && Number(t) <= bits) return Number(t);
  if (family === 4) {
    const m = parseIpv4(t);
    if (m !== null) {
      // A mask is ones then zeros: inverted and plus one it is a power of two.
      const inverted = ~m >>> 0;
      if (((inverted + 1) & inverted) === 0) return 32 - Math.log2(inverted + 1);
      throw new RangeError(`"${text}" is not a contiguous network mask`);
    }
  }
  throw new RangeError(`"${text}" is not a ${family === 4 ? 'mask (0–32 or a dotted mask)' : 'prefix length 0–128'}`);
}

/**
 * The interval of an address and a prefix length. Host bits set are refused rather than
 * truncated: "10.0.0.1/8" is as likely a typo of the address as of the mask.
 * @throws RangeError with a message fit for an operator.
 */
export function maskedInterval(address: string, mask: string, shown = `${address}/${mask}`): IpInterval {
  const addr = parseIpAddress(address.trim());
  if (!addr) throw new RangeError(`"${address.trim()}" is not an IP address`);
  const len = parseIpMask(addr.family, mask);
  const bits = BITS[addr.family];
  const hostMask = (1n << BigInt(bits - len)) - 1n;
  if ((addr.value & hostMask) !== 0n) {
    const net = formatIpAddress(addr.family, addr.value & ~hostMask);
    throw new RangeError(`"${shown}" has host bits set (the block is ${net}/${len})`);
  }
  if (len === bits) return single(addr.family, addr.value);
  return {
    family: addr.family,
    low: addr.value,
    high: addr.value | hostMask,
    text: `${formatIpAddress(addr.family, addr.value)}/${len}`,
  };
}

/**
 * The interval from one address to another, both included.
 * @throws RangeError with a message fit for an operator.
 */
export function rangeInterval(from: string, to: string, shown = `${from}-${to}`): IpInterval {
  const a = parseIpAddress(from.trim());
  const b = parseIpAddress(to.trim());
  if (!a) throw new RangeError(`"${from.trim()}" is not an IP address`);
  if (!b) throw new RangeError(`"${to.trim()}" is not an IP address`);
  if (a.family !== b.family) throw new RangeError(`"${shown}" mixes IPv4 and IPv6`);
  if (a.value > b.value) throw new RangeError(`"${shown}": range starts after it ends`);
  if (a.value === b.value) return single(a.family, a.value);
  return {
    family: a.family,
    low: a.value,
    high: b.value,
    text: `${formatIpAddress(a.family, a.value)}-${formatIpAddress(b.family, b.value)}`,
  };
}

/**
 * Parses one IP entry — `a`, `a/len`, `a/mask` or `a-b`, optionally followed by a `#` comment —
 * into the interval it covers.
 * @throws RangeError with a message fit for an operator.
 */
export function parseIpEntry(raw: string): IpInterval {
  const text = withoutComment(raw);
  const slash = text.indexOf('/');
  if (slash !== -1) return maskedInterval(text.slice(0, slash), text.slice(slash + 1), text);
  const dash = text.indexOf('-');
  if (dash !== -1) return rangeInterval(text.slice(0, dash), text.slice(dash + 1), text);
  const addr = parseIpAddress(text);
  if (!addr) throw new RangeError(`"${text}" is not an IP address, masked IP or range`);
  return single(addr.family, addr.value);
}

/** The interval of one address. */
export function singleIpInterval(text: string): IpInterval {
  const addr = parseIpAddress(text.trim());
  if (!addr) throw new RangeError(`"${text.trim()}" is not an IP address`);
  return single(addr.family, addr.value);
}

function single(family: 4 | 6, value: bigint): IpInterval {
  return { family, low: value, high: value, text: formatIpAddress(family, value) };
}

const MAC = /^[0-9a-fA-F]{2}([:-])[0-9a-fA-F]{2}(\1[0-9a-fA-F]{2}){4}$/;

/** `00-1A-2b-…` or `00:1a:…` (a `#` comment allowed after it) → `00:1a:2b:…`, or null. */
export function normalizeMac(text: string): string | null {
  const t = withoutComment(text);
  return MAC.test(t) ? t.toLowerCase().replaceAll('-', ':') : null;
}

function readPortNumber(text: string): number | null {
  const t = text.trim();
  return /^(0|[1-9][0-9]{0,4})$/.test(t) && Number(t) <= 65535 ? Number(t) : null;
}

/**
 * A port entry — `80` or `8000-8080`, optionally followed by a `#` comment — → inclusive
 * [from, to].
 * @throws RangeError with a message fit for an operator.
 */
export function parsePortEntry(raw: string): readonly [number, number] {
  const text = withoutComment(raw);
  const dash = text.indexOf('-');
  if (dash === -1) {
    const p = readPortNumber(text);
    if (p === null) throw new RangeError(`"${text}" is not a port (0–65535) or range (from-to)`);
    return [p, p];
  }
  const from = readPortNumber(text.slice(0, dash));
  const to = readPortNumber(text.slice(dash + 1));
  if (from === null || to === null) throw new RangeError(`"${text}" is not a port range (from-to, 0–65535)`);
  if (from > to) throw new RangeError(`"${text}": range starts after it ends`);
  return [from, to];
}

/** The canonical text of a port entry: `80` or `8000-8080` (no spaces, no comment). */
export function formatPortEntry([from, to]: readonly [number, number]): string {
  return from === to ? String(from) : `${from}-${to}`;
}
