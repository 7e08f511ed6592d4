import { ALERT_TYPES, type AlertType, isAlertType } from '@palisade/core';
import type { Kysely, Selectable } from 'kysely';
import { chunks } from '../chunks.js';
import { num, numOrNull } from '../column-values.js';
import { type FeedPosition, feedRowsAfter } from '../feed-position.js';
import { HandSql } from '../hand-sql.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

export type AlertAction = 'raised' | 'cleared' | 'dismissed';

export interface AlertRecord {
  id: number;
  type: AlertType;
  severity: string;
  computerId: number | null;
  /** The computer's host name, joined for display; null for manager-level alerts. */
  hostName: string | null;
  subject: string;
  message: string;
  data: Record<string, unknown> | null;
  raisedAt: number;
  clearedAt: number | null;
  dismissedAt: number | null;
  dismissedBy: string | null;
}

/** One raise, clear or dismissal, as written to the alert outbox. */
export interface AlertChange {
  alertId: number;
  action: AlertAction;
  type: AlertType;
  computerId: number | null;
}

/** An alert to raise; its severity is its type's (core's ALERT_TYPES). */
export interface NewAlert {
  type: AlertType;
  /** Null for an alert about the manager itself (`manager-offline`: `subject` names the node). */
  computerId: number | null;
  /** What the alert is about within the computer (the driver's name); default empty. */
  subject?: string;
  message: string;
  data?: Record<string, unknown>;
}

/** An alert not cleared yet (dismissed or not), as the monitor's rules need it. */
export interface OpenAlert {
  id: number;
  type: AlertType;
  subject: string;
  data: Record<string, unknown> | null;
}

export interface PendingAlertNotification {
  /** The outbox row's id: with `tx`, its place in the notifiers' feed (feed-position.ts). */
  cursor: number;
  tx: number;
  action: AlertAction;
  time: number;
  alert: AlertRecord;
}

const alertType = (t: string): AlertType => (isAlertType(t) ? t : 'computer-offline');

function toAlert(r: Selectable<Database['alerts']> & { host_name?: string | null }): AlertRecord {
  return {
    id: num(r.id),
    type: alertType(r.type),
    severity: r.severity,
    computerId: numOrNull(r.computer_id),
    hostName: r.host_name ?? null,
    subject: r.subject,
    message: r.message,
    data: r.data === null ? null : JSON.parse(r.data),
    raisedAt: num(r.raised_at),
    clearedAt: numOrNull(r.cleared_at),
    dismissedAt: numOrNull(r.dismissed_at),
    dismissedBy: r.dismissed_by,
  };
}

const toChange =
  (action: AlertAction) =>
  (r: { id: number; type: string; computer_id: number | null }): AlertChange => ({
    alertId: num(r.id),
    action,
    type: alertType(r.type),
    computerId: numOrNull(r.computer_id),
  });

/**
 * Alerts and their outbox (`alert_notifications`). Every raise, clear and dismissal writes its
 * outbox row with it (in the caller's transaction, or one of its own), so a notifier never
 * misses one. Alerts are recorded cleared, never deleted.
 */
const OPEN_ALERTS = new HandSql(
  'select "id", "type", "subject", "data" from "alerts" where "computer_id" = ? and "cleared_at" is null',
  false,
);

function toOpenAlert(r: Pick<Selectable<Database['alerts']>, 'id' | 'type' | 'subject' | 'data'>): OpenAlert {
  return {
    id: num(r.id),
    type: alertType(r.type),
    subject: r.subject,
    data: r.data === null ? null : JSON.parse(r.data),
  };
}

export class AlertRepository extends Repository {
  /** Inserts alerts that are not open already (the partial unique index decides) and their outbox rows. */
  raise(alerts: readonly NewAlert[], now: number): Promise<AlertChange[]> {
    if (alerts.length === 0) return Promise.resolve([]);
    return this.session.atomically(async (db) => {
      const out: AlertChange[] = [];
      for (const part of chunks(alerts)) {
        const rows = await db
          .insertInto('alerts')
          .values(
            part.map((a) => ({
              type: a.type,
              severity: ALERT_TYPES[a.type].severity,
              computer_id: a.computerId,
              subject: a.subject ?? '',
              message: a.message,
              data: a.data ? JSON.stringify(a.data) : null,
              raised_at: now,
              cleared_at: null,
              dismissed_at: null,
              dismissed_by: null,
            })),
          )
          // Portable "raise once": the conflict is with alerts_open_unique; nothing is inserted.
          .onConflict((oc) => oc.doNothing())
          .returning(['id', 'type', 'computer_id'])
          .execute();
        out.push(...rows.map(toChange('raised')));
      }
      await this.notify(db, out, now);
      return out;
    });
  }

  /** Clears these alerts where still open and writes their outbox rows. */
  clear(alertIds: readonly number[], now: number): Promise<AlertChange[]> {
    if (alertIds.length === 0) return Promise.resolve([]);
    return this.session.atomically(async (db) => {
      const out: AlertChange[] = [];
      for (const part of chunks(alertIds)) {
        const rows = await db
          .updateTable('alerts')
          .set({ cleared_at: now })
          .where('id', 'in', part)
          .where('cleared_at', 'is', null)
          .returning(['id', 'type', 'computer_id'])
          .execute();
        out.push(...rows.map(toChange('cleared')));
      }
      await this.notify(db, out, now);
      return out;
    });
  }

  /**
   * Clears every open alert of a computer whose monitoring ended (it was deactivated): each is
   * recorded cleared with `reason` as `data.clearedReason`, with its outbox row.
   */
  clearAllOpen(computerId: number, now: number, reason: string): Promise<AlertChange[]> {
    return this.session.atomically(async (db) => {
      const out: AlertChange[] = [];
      for (const a of await this.openOn(db, computerId)) {
        const r = await db
          .updateTable('alerts')
          .set({ cleared_at: now, data: JSON.stringify({ ...(a.data ?? {}), clearedReason: reason }) })
          .where('id', '=', a.id)
          .where('cleared_at', 'is', null)
          .returning(['id', 'type', 'computer_id'])
          .executeTakeFirst();
        if (r) out.push(toChange('cleared')(r));
      }
      await this.notify(db, out, now);
      return out;
    });
  }

  /**
   * Clears the open alerts of `type` about no computer whose subject is `subject` (a manager
   * node's `manager-offline`), with their outbox rows.
   */
  clearOpenOf(type: AlertType, subject: string, now: number): Promise<AlertChange[]> {
    return this.session.atomically(async (db) => {
      const rows = await db
        .updateTable('alerts')
        .set({ cleared_at: now })
        .where('type', '=', type)
        .where('subject', '=', subject)
        .where('computer_id', 'is', null)
        .where('cleared_at', 'is', null)
        .returning(['id', 'type', 'computer_id'])
        .execute();
      const out = rows.map(toChange('cleared'));
      await this.notify(db, out, now);
      return out;
    });
  }

  /** The computer's open (not cleared) alerts. */
  async open(computerId: number): Promise<OpenAlert[]> {
    // Read at every heartbeat (the monitor's rules): written by hand (hand-sql.ts).
    const { rows } = await this.session.run<Pick<Selectable<Database['alerts']>, 'id' | 'type' | 'subject' | 'data'>>(
      OPEN_ALERTS,
      [computerId],
    );
    return rows.map(toOpenAlert);
  }

  private async openOn(db: Kysely<Database>, computerId: number): Promise<OpenAlert[]> {
    const rows = await db
      .selectFrom('alerts')
      .select(['id', 'type', 'subject', 'data'])
      .where('computer_id', '=', computerId)
      .where('cleared_at', 'is', null)
      .execute();
    return rows.map(toOpenAlert);
  }

  private async notify(db: Kysely<Database>, changes: readonly AlertChange[], now: number): Promise<void> {
    for (const part of chunks(changes)) {
      await db
        .insertInto('alert_notifications')
        .values(part.map((c) => ({ alert_id: c.alertId, action: c.action, time: now })))
        .execute();
    }
  }

  private withHost() {
    return this.db
      .selectFrom('alerts')
      .leftJoin('computers', 'computers.id', 'alerts.computer_id')
      .selectAll('alerts')
      .select('computers.host_name');
  }

  /**
   * Alerts newest first. `active` true: neither cleared nor dismissed; false: cleared or
   * dismissed; absent: all.
   */
  async list(q: {
    active?: boolean;
    computerId?: number;
    type?: string;
    limit: number;
    offset: number;
  }): Promise<{ alerts: AlertRecord[]; total: number }> {
    let base = this.db.selectFrom('alerts');
    if (q.active === true) base = base.where('alerts.cleared_at', 'is', null).where('alerts.dismissed_at', 'is', null);
    if (q.active === false)
      base = base.where((eb) =>
        eb.or([eb('alerts.cleared_at', 'is not', null), eb('alerts.dismissed_at', 'is not', null)]),
      );
    if (q.computerId !== undefined) base = base.where('alerts.computer_id', '=', q.computerId);
    if (q.type !== undefined) base = base.where('alerts.type', '=', q.type);
    const [rows, count] = await Promise.all([
      base
        .leftJoin('computers', 'computers.id', 'alerts.computer_id')
        .selectAll('alerts')
        .select('computers.host_name')
        .orderBy('alerts.id', 'desc')
        .limit(q.limit)
        .offset(q.offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { alerts: rows.map(toAlert), total: num(count.n) };
  }

  async get(id: number): Promise<AlertRecord | null> {
    const r = await this.withHost().where('alerts.id', '=', id).executeTakeFirst();
    return r ? toAlert(r) : null;
  }

  /**
   * Dismisses an alert (an operator has seen it): it leaves the active list but stays open
   * until its condition clears, so it is not raised again meanwhile. Dismissing a dismissed
   * alert changes nothing. Null for an unknown id.
   */
  async dismiss(id: number, by: string, now: number): Promise<{ alert: AlertRecord; changes: AlertChange[] } | null> {
    const changes = await this.session.atomically(async (db) => {
      const rows = await db
        .updateTable('alerts')
        .set({ dismissed_at: now, dismissed_by: by })
        .where('id', '=', id)
        .where('dismissed_at', 'is', null)
        .returning(['id', 'type', 'computer_id'])
        .execute();
      const out = rows.map(toChange('dismissed'));
      await this.notify(db, out, now);
      return out;
    });
    const alert = await this.get(id);
    return alert ? { alert, changes } : null;
  }

  /** Outbox rows after `cursor`, oldest first, with the alert as it is now. */
  /** Outbox rows after `p` in the feed, as far as they are final (feed-position.ts), oldest first. */
  async notificationsAfter(p: FeedPosition, limit: number): Promise<PendingAlertNotification[]> {
    const rows = await this.db
      .selectFrom('alert_notifications as n')
      .innerJoin('alerts', 'alerts.id', 'n.alert_id')
      .leftJoin('computers', 'computers.id', 'alerts.computer_id')
      .selectAll('alerts')
      .select(['n.id as n_id', 'n.tx as n_tx', 'n.action as n_action', 'n.time as n_time', 'computers.host_name'])
      .where((eb) => feedRowsAfter(eb, 'n', p, this.session.dialect))
      .orderBy('n.tx')
      .orderBy('n.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      cursor: num(r.n_id),
      tx: num(r.n_tx),
      action: r.n_action as AlertAction,
      time: num(r.n_time),
      alert: toAlert(r),
    }));
  }
}
