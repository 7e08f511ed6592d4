import type { Migration } from 'kysely';
import type { MigrationDb } from './migration-dialect.js';

/**
 * Issue 12 (items 3 and 8): indexes for retention and for the API's filters. Retention finds
 * old rows by time (events' `received_at`, audit and outbox `time`, alerts' `cleared_at`) and
 * keeps an alert while a notification of it is in the outbox (`alert_id`). `/api/events` filters
 * on computer, type and severity and pages by id; `/api/alerts` on type: (column, id) pairs let
 * either engine walk one filter in id order instead of scanning the table. Portable DDL only.
 */
export const m0016RetentionIndexes = (): Migration => ({
  async up(db: MigrationDb) {
    const index = (name: string, table: string, columns: string[]) =>
      db.schema.createIndex(name).ifNotExists().on(table).columns(columns).execute();
    await index('events_received_at', 'events', ['received_at']);
    await index('events_computer_id', 'events', ['computer_id', 'id']);
    await index('events_type_id', 'events', ['type', 'id']);
    await index('events_severity_id', 'events', ['severity', 'id']);
    await index('alerts_type_id', 'alerts', ['type', 'id']);
    await index('alerts_cleared_at', 'alerts', ['cleared_at']);
    await index('alert_notifications_alert', 'alert_notifications', ['alert_id']);
    await index('alert_notifications_time', 'alert_notifications', ['time']);
    await index('audit_events_time', 'audit_events', ['time']);
  },
});
