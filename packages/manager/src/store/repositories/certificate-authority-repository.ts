import { isSealed, type SealedSecret } from '../../keys/secret-box.js';
import { Repository } from './repository.js';

/** The manager CA's certificate (PEM) and its private key, sealed with the master key. */
export interface StoredCertificateAuthority {
  certificate: string;
  privateKey: SealedSecret;
}

/** The one manager CA every node shares. */
export class CertificateAuthorityRepository extends Repository {
  /** Null before the first start. */
  async get(): Promise<StoredCertificateAuthority | null> {
    const r = await this.db.selectFrom('certificate_authority').selectAll().where('id', '=', 1).executeTakeFirst();
    if (!r) return null;
    if (!isSealed(r.private_key))
      throw new Error('the stored CA private key is not sealed yet; open the store through openInitializedStore');
    return { certificate: r.certificate, privateKey: r.private_key };
  }

  /** True when a CA is stored with its private key sealed (false: none yet, or a plaintext one to seal). */
  async keySealed(): Promise<boolean> {
    const r = await this.db
      .selectFrom('certificate_authority')
      .select('private_key')
      .where('id', '=', 1)
      .executeTakeFirst();
    return r !== undefined && isSealed(r.private_key);
  }

  /** Stores the CA unless one exists (another node may have won the race); returns the stored one. */
  async saveIfAbsent(ca: StoredCertificateAuthority, now: number): Promise<StoredCertificateAuthority> {
    await this.db
      .insertInto('certificate_authority')
      .values({ id: 1, certificate: ca.certificate, private_key: ca.privateKey, created_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const stored = await this.get();
    if (!stored) throw new Error('certificate authority vanished after insert');
    return stored;
  }

  /**
   * Seals a private key stored in plaintext (by a manager from before secrets were sealed) with
   * `seal`; true when there was one. The update is conditional on the plaintext, so two nodes
   * upgrading at once seal it once.
   */
  async sealPlaintext(seal: (plaintext: string) => SealedSecret): Promise<boolean> {
    const r = await this.db
      .selectFrom('certificate_authority')
      .select('private_key')
      .where('id', '=', 1)
      .executeTakeFirst();
    if (!r || isSealed(r.private_key)) return false;
    const u = await this.db
      .updateTable('certificate_authority')
      .set({ private_key: seal(r.private_key) })
      .where('id', '=', 1)
      .where('private_key', '=', r.private_key)
      .executeTakeFirst();
    return Number(u.numUpdatedRows) === 1;
  }
}
