import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * The web console (issue 15): console users and their sessions, and indexes for the computers
 * page, which sorts and filters a fleet of 100,000 server-side (docs/console.md). Portable DDL only.
 */
export const m0007Console = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createTable('console_users')
      .addColumn('id', 'integer', dialect.idColumn)
      .addColumn('name', 'text', (c) => c.notNull().unique())
      // `scrypt$N$r$p$salt$hash` (auth/passwords.ts): the parameters travel with the hash.
      .addColumn('password_hash', 'text', (c) => c.notNull())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addColumn('disabled_at', 'bigint')
      .addColumn('last_sign_in_at', 'bigint')
      // Lock-out with back-off: consecutive failures since the last success, and until when
      // sign-in is refused whatever the password.
      .addColumn('failed_sign_ins', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('locked_until', 'bigint')
      .execute();
    await db.schema
      .createTable('console_sessions')
      // SHA-256 of the cookie's secret: the database never holds a usable session.
      .addColumn('id_hash', 'text', (c) => c.primaryKey())
      .addColumn('user_id', 'integer', (c) => c.notNull().references('console_users.id').onDelete('cascade'))
      .addColumn('csrf_token', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen_at', 'bigint', (c) => c.notNull())
      .addColumn('expires_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('console_sessions_user').on('console_sessions').column('user_id').execute();
    await db.schema.createIndex('console_sessions_expiry').on('console_sessions').column('expires_at').execute();
    // The computers page sorts by these (then id, so pages are stable) and filters by policy.
    for (const col of ['host_name', 'last_communication', 'platform', 'agent_version', 'policy_id']) {
      await db.schema.createIndex(`computers_${col}`).ifNotExists().on('computers').columns([col, 'id']).execute();
    }
  },
});
