import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Feeds that never skip a row (issue 17; store/feed-position.ts): the events and the alert
 * outbox carry the transaction that inserted each row, and a notifier's cursors become
 * `(tx, id)` positions. Every row stored so far is final (its transaction ended): tx 0, so
 * existing cursors `(0, id)` go on from where they were. Where ids can commit out of order
 * (PostgreSQL), new rows take their transaction's id by default and the feeds read in
 * `(tx, id)` order through an index; on SQLite tx stays 0 and the feeds keep reading by id.
 */
export const m0019FeedPositions = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    for (const table of ['events', 'alert_notifications']) {
      await db.schema
        .alterTable(table)
        .addColumn('tx', 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
      if (dialect.transactionIdDefault) {
        await db.schema
          .alterTable(table)
          .alterColumn('tx', (c) => c.setDefault(dialect.transactionIdDefault!()))
          .execute();
        await db.schema.createIndex(`${table}_tx_id`).on(table).columns(['tx', 'id']).execute();
      }
    }
    for (const col of ['alert_cursor_tx', 'event_cursor_tx'])
      await db.schema
        .alterTable('notifiers')
        .addColumn(col, 'bigint', (c) => c.notNull().defaultTo(0))
        .execute();
  },
});
