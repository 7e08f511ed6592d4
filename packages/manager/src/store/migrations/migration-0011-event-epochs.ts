import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Event epochs (issue 12): an agent numbers its events within an epoch it starts whenever its
 * state may have gone back in time (a reverted VM snapshot numbers again from where the snapshot
 * was), so events are identified by (computer, epoch, seq) instead of (computer, seq), which
 * dropped the new events after a revert as repeats of the old ones while acknowledging them.
 *
 * SQLite cannot drop a table's UNIQUE constraint, so the table is rebuilt under the new one and
 * renamed over the old: same columns plus `epoch` ('' for events from before epochs), same ids
 * (the events API's cursors and the notifiers' positions are ids). New ids continue after the
 * highest copied one, which is the highest ever issued: events are only ever deleted oldest
 * first. Portable DDL only; the ids are copied as given, so an engine whose identity column
 * does not follow them by itself (PostgreSQL's sequence) moves it past them (syncIdentity).
 */
export const m0011EventEpochs = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createTable('events_by_epoch')
      .addColumn('id', 'integer', dialect.idColumn)
      .addColumn('computer_id', 'integer', (c) => c.notNull().references('computers.id'))
      .addColumn('epoch', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('agent_time', 'bigint', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('data', 'text')
      // Events are stored idempotently (docs/architecture.md, "Events"): a re-sent event is recognised, not doubled.
      .addUniqueConstraint('events_computer_epoch_seq', ['computer_id', 'epoch', 'seq'])
      .execute();
    const columns = ['id', 'computer_id', 'seq', 'agent_time', 'received_at', 'type', 'severity', 'message', 'data'];
    await db
      .insertInto('events_by_epoch')
      .columns(columns)
      .expression(db.selectFrom('events').select(columns))
      .execute();
    await db.schema.dropTable('events').execute();
    await db.schema.alterTable('events_by_epoch').renameTo('events').execute();
    await dialect.syncIdentity(db, 'events');
  },
});
