import { createHash, randomBytes } from 'node:crypto';

/**
 * API keys and activation tokens are 256/192-bit random secrets shown once and stored as
 * SHA-256 hashes. A slow hash (scrypt) protects low-entropy passwords; for secrets this long a
 * fast hash is enough and keeps every API request cheap.
 */
export function newSecret(kind: 'apikey' | 'token'): string {
  return kind === 'apikey'
    ? `psk_${randomBytes(32).toString('base64url')}`
    : `pat_${randomBytes(24).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}
