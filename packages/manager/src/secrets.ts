import * as crypto from 'node:crypto';
import { createHash, randomFillSync } from 'node:crypto';

/**
 * API keys and activation tokens are 256/192-bit random secrets shown once and stored as
 * SHA-256 hashes. A slow hash (scrypt) protects low-entropy passwords; for secrets this long a
 * fast hash is enough and keeps every API request cheap.
 */
export function newSecret(kind: 'apikey' | 'token'): string {
  return kind === 'apikey' ? `psk_${randomToken(32)}` : `pat_${randomToken(24)}`;
}

/**
 * Node's one-shot `crypto.hash` (Node 20.12 and later; absent before): about 0.4 µs for a
 * token against 0.9 µs through `createHash`, which makes a Hash object and its stream state
 * per call. A heartbeat hashes its continuity tokens two or three times.
 */
const oneShotHash: ((algorithm: string, data: string, encoding: 'hex') => string) | undefined = (
  crypto as { hash?: (algorithm: string, data: string, encoding: 'hex') => string }
).hash;

export function hashSecret(secret: string): string {
  return oneShotHash ? oneShotHash('sha256', secret, 'hex') : createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** Bytes fetched from the CSPRNG at a time for {@link randomToken}. */
const POOL_BYTES = 8192;
let pool = Buffer.alloc(0);
let drawn = 0;

/**
 * `bytes` random bytes as base64url: a secret token (continuity tokens, host identities, API
 * keys, session secrets). Drawn from the same CSPRNG as `randomBytes`, but fetched 8 KiB at a
 * time: `randomBytes(32)` costs about 7 µs per call on Node 20, and every heartbeat of a host
 * with an identity draws a new continuity token (measured: a twelfth of the ingest's CPU).
 * Node pools `randomUUID` the same way. Each byte is handed out once and zeroed as it is.
 */
export function randomToken(bytes: number): string {
  if (!Number.isInteger(bytes) || bytes <= 0 || bytes > POOL_BYTES) throw new RangeError(`randomToken: ${bytes} bytes`);
  if (drawn + bytes > pool.length) {
    pool.fill(0);
    pool = randomFillSync(Buffer.allocUnsafeSlow(POOL_BYTES));
    drawn = 0;
  }
  const token = pool.toString('base64url', drawn, drawn + bytes);
  pool.fill(0, drawn, drawn + bytes);
  drawn += bytes;
  return token;
}
