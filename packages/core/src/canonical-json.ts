/**
 * JSON Canonicalization Scheme (RFC 8785) for the values our configurations contain.
 *
 * Object members are sorted by their names' UTF-16 code units (RFC 8785 §3.2.3), which is what
 * the default `Array.prototype.sort` comparison does for strings. Primitives use ECMAScript's
 * `JSON.stringify`, which is the serialization RFC 8785 §3.2.2 prescribes (including numbers).
 * `undefined` members are dropped as JSON.stringify drops them; non-finite numbers are rejected
 * because JSON has no representation for them.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') {
    return JSON.stringify(value);
  }
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: non-finite number ${value}`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) {
    return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  throw new TypeError(`canonicalJson: unsupported type ${typeof value}`);
}

/** `sha256:` + lowercase hex SHA-256 of the canonical JSON of `value`. */
export async function sha256Fingerprint(value: unknown): Promise<string> {
  const bytes = new TextEncoder().encode(canonicalJson(value));
  const digest = new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', bytes));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return `sha256:${hex}`;
}
