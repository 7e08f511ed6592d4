import type { Kysely, Migration } from 'kysely';
import type { MigrationDialect } from './migration-dialect.js';

/**
 * Which of the agent endpoint's two certificates (ECDSA P-256 or RSA-2048, served side by side
 * on 4120) each computer's last full TLS handshake used (issue 16): `ECDSA`, `RSA`, or null
 * before the first. A resumed session presents no certificate and leaves it as it was. Portable
 * DDL only.
 */
export const m0012TlsCertificateType = (_dialect: MigrationDialect): Migration => ({
  // biome-ignore lint/suspicious/noExplicitAny: a migration sees the schema of its own time, not today's Database type
  async up(db: Kysely<any>) {
    await db.schema.alterTable('computers').addColumn('tls_certificate_type', 'text').execute();
  },
});
