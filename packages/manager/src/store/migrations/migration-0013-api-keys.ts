import type { Migration } from 'kysely';
import type { MigrationDb } from './migration-dialect.js';

/**
 * API keys managed through Deep Security's `/api/apikeys` (issue 13): its `description`,
 * `locale` and `timeZone` (kept and shown; Palisade's times are epoch ms either way), an expiry
 * (`expiryDate`), and `locked` for its `active: false` (the key is kept, and refused until it is
 * made active again; a revoked key is gone for good). Portable DDL only.
 */
export const m0013ApiKeys = (): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .alterTable('api_keys')
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .alterTable('api_keys')
      .addColumn('locale', 'text', (c) => c.notNull().defaultTo('en-US'))
      .execute();
    await db.schema
      .alterTable('api_keys')
      .addColumn('time_zone', 'text', (c) => c.notNull().defaultTo('UTC'))
      .execute();
    await db.schema.alterTable('api_keys').addColumn('expires_at', 'bigint').execute();
    await db.schema
      .alterTable('api_keys')
      .addColumn('locked', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
  },
});
