import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

/**
 * A secret as the database keeps it: an envelope {@link SecretBox.seal} made. The brand makes
 * the type system refuse a plaintext string where a sealed one is stored (the CA key, notifier
 * credentials, the TLS ticket secret), so no caller can forget to seal.
 */
export type SealedSecret = string & { readonly __sealed: unique symbol };

/** Envelope format version 1: `psb1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. */
const PREFIX = 'psb1';
const ENVELOPE = /^psb1\.([0-9a-f]{16})\.([A-Za-z0-9_-]+)$/;
const KEY_BYTES = 32;
/** AES-GCM's recommended nonce size (NIST SP 800-38D §5.2.1.1); random per seal. */
const NONCE_BYTES = 12;
const TAG_BYTES = 16;

/** True when `v` is an envelope of this format (not whether it opens). */
export function isSealed(v: string): v is SealedSecret {
  return ENVELOPE.test(v);
}

/** Why a sealed secret could not be opened or a key not used; the message says what to do. */
export class SecretBoxError extends Error {}

/**
 * A key's id: the first 8 bytes of SHA-256 over a label and the key, hex. It names the key in
 * envelopes and messages without revealing it, so a node with the wrong master key file says
 * which key it has and which one the database needs.
 */
export function masterKeyId(key: Buffer): string {
  return createHash('sha256').update('palisade master key id\0').update(key).digest('hex').slice(0, 16);
}

/**
 * Seals and opens secrets with AES-256-GCM under a key-encryption key kept apart from the
 * database (the master key file, master-key-file.ts). Each envelope names its key's id, so the
 * box can hold older keys for opening while sealing with the newest (rotation), and carries a
 * version so the format can change. The purpose string (where the secret lives, e.g.
 * `certificate_authority.private_key`) is authenticated as additional data: a sealed value
 * copied into another column does not open there.
 */
export class SecretBox {
  private readonly keys = new Map<string, Buffer>();
  private readonly currentId: string;

  /** `keys[0]` seals; every key opens what it sealed. */
  constructor(keys: readonly Buffer[]) {
    if (keys.length === 0) throw new SecretBoxError('a secret box needs at least one master key');
    for (const k of keys) {
      if (k.length !== KEY_BYTES) throw new SecretBoxError(`a master key is ${KEY_BYTES} bytes, got ${k.length}`);
      this.keys.set(masterKeyId(k), Buffer.from(k));
    }
    this.currentId = masterKeyId(keys[0]!);
  }

  /** A new random master key. */
  static generateKey(): Buffer {
    return randomBytes(KEY_BYTES);
  }

  /** The id of the key that seals. */
  get keyId(): string {
    return this.currentId;
  }

  /** Every key id this box opens, the sealing one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  seal(plaintext: string | Buffer, purpose: string): SealedSecret {
    const key = this.keys.get(this.currentId)!;
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad(this.currentId, purpose));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const payload = Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64url');
    return `${PREFIX}.${this.currentId}.${payload}` as SealedSecret;
  }

  /** The plaintext of an envelope sealed for `purpose`; throws {@link SecretBoxError} otherwise. */
  open(sealed: SealedSecret, purpose: string): Buffer {
    const m = ENVELOPE.exec(sealed);
    if (!m) throw new SecretBoxError(`${purpose}: the stored value is not a sealed secret`);
    const id = m[1]!;
    const key = this.keys.get(id);
    if (!key)
      throw new SecretBoxError(
        `${purpose} is sealed with master key ${id}, but the master key file holds ${this.keyIds.join(', ')}: ` +
          'every manager of one database needs the same master key file (restore it, or pass --master-key-file)',
      );
    const raw = Buffer.from(m[2]!, 'base64url');
    if (raw.length < NONCE_BYTES + TAG_BYTES) throw new SecretBoxError(`${purpose}: the sealed value is truncated`);
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(aad(id, purpose));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    try {
      return Buffer.concat([decipher.update(raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new SecretBoxError(
        `${purpose}: the sealed value does not authenticate (altered, or sealed for another use)`,
      );
    }
  }

  /** {@link open} as UTF-8 text. */
  openText(sealed: SealedSecret, purpose: string): string {
    return this.open(sealed, purpose).toString('utf8');
  }

  /** True when `sealed` was sealed with an older key than the one that seals now. */
  isStale(sealed: SealedSecret): boolean {
    return ENVELOPE.exec(sealed)?.[1] !== this.currentId;
  }
}

/** Format, key and purpose bound into the tag. */
function aad(keyId: string, purpose: string): Buffer {
  return Buffer.from(`${PREFIX}\0${keyId}\0${purpose}`, 'utf8');
}
