import { Repository } from './repository.js';

/** The manager CA's certificate and private key, PEM. */
export interface StoredCertificateAuthority {
  certificate: string;
  privateKey: string;
}

/** The one manager CA every node shares. */
export class CertificateAuthorityRepository extends Repository {
  /** Null before the first start. */
  async get(): Promise<StoredCertificateAuthority | null> {
    const r = await this.db.selectFrom('certificate_authority').selectAll().where('id', '=', 1).executeTakeFirst();
    return r ? { certificate: r.certificate, privateKey: r.private_key } : null;
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
}
