import { type Migration, sql } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Heartbeat monitoring (issue 4): what the offline sweep, the alerts and the notifiers keep.
 * Portable DDL only; partial indexes exist in SQLite (3.8+) and PostgreSQL alike.
 */
export const m0003Monitoring = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    const id = dialect.idColumn;
    // SQLite takes one ADD COLUMN per ALTER TABLE.
    for (const [name, type] of [
      // Set by the sweep that found the deadline passed; cleared by the next heartbeat. The
      // sweep's "not already offline" condition, so one node wins each transition.
      ['offline_since', 'bigint'],
      // null (never reported), 'running' or 'stopped': from the agent's shutdown notice or the
      // vmstate API; a heartbeat proves the machine runs.
      ['vm_state', 'text'],
      ['vm_state_source', 'text'],
      ['vm_state_changed_at', 'bigint'],
      // Clock offset change since the previous heartbeat, ms (the offset is clock_offset_ms).
      ['clock_offset_change_ms', 'bigint'],
    ] as const) {
      await db.schema.alterTable('computers').addColumn(name, type).execute();
    }
    // The sweep reads only computers that are due and not yet offline: a partial index keeps
    // computers already offline (or deactivated) out of the range it scans, so a sweep costs
    // what its transitions cost however many computers stay offline. It replaces 0001's index
    // on the bare deadline, which nothing else reads. The literal (not a bound parameter) in
    // the predicate is what lets SQLite match the sweep's `state = 'active'` to it.
    await db.schema.dropIndex('computers_offline_deadline').execute();
    await db.schema
      .createIndex('computers_offline_due')
      .on('computers')
      .column('offline_deadline')
      .where(sql.ref('offline_since'), 'is', null)
      .where(sql<boolean>`state = 'active'`)
      .execute();

    await db.schema
      .createTable('alerts')
      .addColumn('id', 'integer', id)
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('computer_id', 'integer', (c) => c.references('computers.id'))
      // Tells apart alerts of one type on one computer (a driver's name); '' when there is one.
      .addColumn('subject', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('data', 'text')
      .addColumn('raised_at', 'bigint', (c) => c.notNull())
      .addColumn('cleared_at', 'bigint')
      .addColumn('dismissed_at', 'bigint')
      .addColumn('dismissed_by', 'text')
      .execute();
    // "Raised once": at most one open (uncleared) alert per computer, type and subject, so a
    // second node's insert, or a repeated one, is a conflict that inserts nothing.
    await db.schema
      .createIndex('alerts_open_unique')
      .on('alerts')
      .columns(['computer_id', 'type', 'subject'])
      .unique()
      .where(sql.ref('cleared_at'), 'is', null)
      .execute();
    await db.schema.createIndex('alerts_computer').on('alerts').columns(['computer_id', 'id']).execute();

    // The alert outbox: one row per raise, clear and dismissal, written in the transaction that
    // made the change, so a notifier can never miss one. Events need no outbox: the events
    // table, in id order, is one already.
    await db.schema
      .createTable('alert_notifications')
      .addColumn('id', 'integer', id)
      .addColumn('alert_id', 'integer', (c) => c.notNull().references('alerts.id'))
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('time', 'bigint', (c) => c.notNull())
      .execute();

    await db.schema
      .createTable('notifiers')
      .addColumn('id', 'integer', id)
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('config', 'text', (c) => c.notNull())
      .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      // Delivered through these ids of alert_notifications and events.
      .addColumn('alert_cursor', 'bigint', (c) => c.notNull())
      .addColumn('event_cursor', 'bigint', (c) => c.notNull())
      .addColumn('delivered_count', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('last_delivered_at', 'bigint')
      .addColumn('failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('last_error', 'text')
      .addColumn('last_error_at', 'bigint')
      .addColumn('next_attempt_at', 'bigint', (c) => c.notNull().defaultTo(0))
      // One node drains a notifier at a time: a lease taken with a conditional update.
      .addColumn('lease_owner', 'text')
      .addColumn('lease_until', 'bigint')
      .execute();
  },
});
