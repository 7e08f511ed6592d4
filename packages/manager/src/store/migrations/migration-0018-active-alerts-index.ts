import { type Migration, sql } from 'kysely';
import type { MigrationDb } from './migration-dialect.js';

/**
 * Issue 12 (item 8): the active alerts, which `/api/alerts?active=true` lists and the dashboard
 * counts at every poll, as a partial index in id order (the order alerts list in): the filter
 * and the count read only the open, undismissed alerts however many cleared ones are kept.
 * 0016 indexed the other filters. Portable DDL (partial indexes: SQLite 3.8+, PostgreSQL).
 */
export const m0018ActiveAlertsIndex = (): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createIndex('alerts_active_id')
      .ifNotExists()
      .on('alerts')
      .column('id')
      .where(sql.ref('cleared_at'), 'is', null)
      .where(sql.ref('dismissed_at'), 'is', null)
      .execute();
  },
});
