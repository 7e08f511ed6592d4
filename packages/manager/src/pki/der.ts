/**
 * The little of DER (ITU-T X.690) the CA needs to read a PKCS#10 request and write an agent's
 * certificate on the activation path without a general ASN.1 library: tag-length-value
 * encoding, reading one element, and the few universal types a certificate uses.
 */

/** One element read from DER: its tag, and where its header and content lie in the input. */
export interface DerElement {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  contentStart: number;
  /** Offset just past the content. */
  end: number;
}

/** DER input that is not what it should be; the message says what. */
export class DerError extends Error {
  override readonly name = 'DerError';
}

function lengthBytes(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** One element: `tag`, the definite length (X.690 §8.1.3, short or long form), `content`. */
export function tlv(tag: number, ...content: Uint8Array[]): Buffer {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), lengthBytes(body.length), body]);
}

/** Reads the element at `offset`; single-byte tags only (all a certificate or a CSR uses). */
export function readElement(der: Uint8Array, offset: number, limit = der.length): DerElement {
  if (offset + 2 > limit) throw new DerError('truncated element');
  const tag = der[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError('multi-byte tags are not expected here');
  let length = der[offset + 1]!;
  let at = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    // Indefinite lengths are BER, not DER; four bytes already exceed any size accepted here.
    if (count === 0 || count > 4) throw new DerError('unsupported length form');
    if (at + count > limit) throw new DerError('truncated length');
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[at + i]!;
    at += count;
  }
  if (at + length > limit) throw new DerError('element longer than its container');
  return { tag, start: offset, contentStart: at, end: at + length };
}

/** The elements directly inside a constructed element (a SEQUENCE or SET). */
export function childrenOf(der: Uint8Array, parent: DerElement): DerElement[] {
  const out: DerElement[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const e = readElement(der, at, parent.end);
    out.push(e);
    at = e.end;
  }
  return out;
}

/** The whole encoding of an element (header and content), as a view of `der`. */
export const rawOf = (der: Uint8Array, e: DerElement): Buffer =>
  Buffer.from(der.buffer, der.byteOffset + e.start, e.end - e.start);

/** Its content only, as a view of `der`. */
export const contentOf = (der: Uint8Array, e: DerElement): Buffer =>
  Buffer.from(der.buffer, der.byteOffset + e.contentStart, e.end - e.contentStart);

export const SEQUENCE = 0x30;
export const SET = 0x31;
export const INTEGER = 0x02;
export const BIT_STRING = 0x03;
export const OBJECT_IDENTIFIER = 0x06;
export const UTF8_STRING = 0x0c;
export const PRINTABLE_STRING = 0x13;
export const UTC_TIME = 0x17;
export const GENERALIZED_TIME = 0x18;

/** An X.509 Time (RFC 5280 §4.1.2.5): UTCTime through 2049, GeneralizedTime from 2050, to the second. */
export function derTime(d: Date): Buffer {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  return y < 2050
    ? tlv(UTC_TIME, Buffer.from(`${p(y % 100)}${rest}`, 'ascii'))
    : tlv(GENERALIZED_TIME, Buffer.from(`${p(y, 4)}${rest}`, 'ascii'));
}

/** A directory string: PrintableString when every character allows it (X.680 §41.4), else UTF8String. */
export function directoryString(value: string): Buffer {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(value)
    ? tlv(PRINTABLE_STRING, Buffer.from(value, 'ascii'))
    : tlv(UTF8_STRING, Buffer.from(value, 'utf8'));
}

/** The DER content of an OBJECT IDENTIFIER in dotted form (X.690 §8.19). */
export function oidContent(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const bytes = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) bytes.unshift(0x80 | (v & 0x7f));
    out.push(...bytes);
  }
  return Buffer.from(out);
}
