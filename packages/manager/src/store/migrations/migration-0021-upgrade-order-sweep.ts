import { type Migration, sql } from 'kysely';
import type { MigrationDb } from './migration-dialect.js';

/**
 * Issue 14: the background sweep that fails upgrade orders past their life (docs/deployment.md
 * "Upgrades") looks up the oldest order still `sent` at every pass; a partial index keeps that an
 * index lookup over the few orders in flight, not a scan of every upgrade ever requested.
 * Portable DDL (partial index: SQLite 3.8+, PostgreSQL).
 */
export const m0021UpgradeOrderSweep = (): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createIndex('agent_upgrades_sent')
      .on('agent_upgrades')
      .column('sent_at')
      .where(sql.ref('status'), '=', 'sent')
      .execute();
  },
});
