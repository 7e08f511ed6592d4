/**
 * Reading a TLS ClientHello's offered protocol versions before any TLS context sees it, so one
 * port can hand a TLS 1.0/1.1 client to a separate context (the `legacy` policy's, at OpenSSL
 * security level 0) while every other client gets the modern one. Pure: bytes in, answer out.
 *
 * Layout (RFC 8446 §4.1.2 and §5.1; RFC 5246 §7.4.1.2): a handshake record (type 22, a 2-byte
 * version, a 2-byte length), then the handshake header (type 1 = ClientHello, 3-byte length),
 * `legacy_version` (2), random (32), session id (1 + n), cipher suites (2 + n), compression
 * methods (1 + n), extensions (2 + n). A TLS 1.3 client puts its versions in the
 * `supported_versions` extension (43) and 0x0303 in `legacy_version`; older clients offer
 * everything up to `legacy_version`.
 */

/** Wire codes: 0x0301 TLS 1.0, 0x0302 TLS 1.1, 0x0303 TLS 1.2, 0x0304 TLS 1.3. */
export const TLS_VERSION_CODES = { TLSv1: 0x0301, 'TLSv1.1': 0x0302, 'TLSv1.2': 0x0303, 'TLSv1.3': 0x0304 } as const;

/** Longest ClientHello we wait for: one TLS record (RFC 8446 §5.1: 2^14 bytes) plus its header. */
export const MAX_CLIENT_HELLO_BYTES = 5 + 16_384;

export type ClientHelloPeek =
  /** More bytes are needed to decide. */
  | { kind: 'incomplete' }
  /** Not a ClientHello we can read (not TLS, or malformed): let the modern context refuse it. */
  | { kind: 'unreadable' }
  /** The highest version offered (wire code; GREASE values ignored, RFC 8701). */
  | { kind: 'hello'; maxVersion: number };

const isGrease = (v: number) => (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);

/** Reads the highest protocol version a ClientHello offers from the bytes received so far. */
export function peekClientHello(buf: Uint8Array): ClientHelloPeek {
  if (buf.length < 1) return { kind: 'incomplete' };
  if (buf[0] !== 22) return { kind: 'unreadable' };
  if (buf.length < 5) return { kind: 'incomplete' };
  const recordLength = (buf[3]! << 8) | buf[4]!;
  if (recordLength < 4 || recordLength > 16_384) return { kind: 'unreadable' };
  if (buf.length < 5 + recordLength) return { kind: 'incomplete' };
  // A ClientHello that spans several records is legal but never sent by the clients we serve
  // (it must exceed 16 KB); only the first record is read, and what it lacks is "unreadable".
  const body = buf.subarray(5, 5 + recordLength);
  if (body[0] !== 1) return { kind: 'unreadable' };
  const helloLength = (body[1]! << 16) | (body[2]! << 8) | body[3]!;
  const end = Math.min(body.length, 4 + helloLength);
  let p = 4;
  const need = (n: number) => p + n <= end;
  if (!need(2 + 32)) return { kind: 'unreadable' };
  const legacyVersion = (body[p]! << 8) | body[p + 1]!;
  p += 2 + 32;
  if (!need(1)) return { kind: 'unreadable' };
  p += 1 + body[p]!;
  if (!need(2)) return { kind: 'unreadable' };
  p += 2 + ((body[p]! << 8) | body[p + 1]!);
  if (!need(1)) return { kind: 'unreadable' };
  p += 1 + body[p]!;
  // No extensions at all: a TLS 1.0-era client.
  if (p === end) return { kind: 'hello', maxVersion: legacyVersion };
  if (!need(2)) return { kind: 'unreadable' };
  const extensionsEnd = Math.min(end, p + 2 + ((body[p]! << 8) | body[p + 1]!));
  p += 2;
  while (p + 4 <= extensionsEnd) {
    const type = (body[p]! << 8) | body[p + 1]!;
    const length = (body[p + 2]! << 8) | body[p + 3]!;
    p += 4;
    if (p + length > extensionsEnd) return { kind: 'unreadable' };
    if (type === 43) {
      const listLength = body[p]!;
      let max = 0;
      for (let q = p + 1; q + 1 < p + 1 + listLength && q + 1 < p + length; q += 2) {
        const v = (body[q]! << 8) | body[q + 1]!;
        if (!isGrease(v) && v > max) max = v;
      }
      return max === 0 ? { kind: 'unreadable' } : { kind: 'hello', maxVersion: max };
    }
    p += length;
  }
  return { kind: 'hello', maxVersion: legacyVersion };
}
