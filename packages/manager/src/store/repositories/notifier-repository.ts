import { type Kysely, type Selectable, sql } from 'kysely';
import type { SealedSecret } from '../../keys/secret-box.js';
import { num, numOrNull } from '../column-values.js';
import { type FeedPosition, feedRowsAfter } from '../feed-position.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

/** Severities of alerts (`warning`, `critical`) and agent events (all four). */
export type Severity = 'info' | 'warning' | 'error' | 'critical';

/** A webhook's URL and extra header values: what its sender uses, never stored in plaintext. */
export interface WebhookTarget {
  url: string;
  headers: Record<string, string>;
}

/** A webhook as stored: its URL and header values only sealed, with a masked URL to show. */
export interface WebhookSettings {
  /** The URL as the API shows it: its password and query values masked. */
  url: string;
  /** Names of the extra request headers (their values are in `secret`). */
  headerNames: string[];
  /** The {@link WebhookTarget} as JSON, sealed with the master key. */
  secret: SealedSecret;
  ca: string | null;
  timeoutSeconds: number;
}

export interface SyslogSettings {
  host: string;
  port: number;
  transport: 'udp' | 'tcp' | 'tls';
  format: 'plain' | 'cef';
  facility: number;
  ca: string | null;
}

/**
 * A notifier's configuration as stored (the `config` column), defaults filled in; the API
 * checks it before it is stored (notifiers/notifier-config.ts).
 */
export type NotifierSettings = {
  sources: Array<'alerts' | 'events'>;
  minSeverity: Severity;
} & ({ kind: 'webhook'; webhook: WebhookSettings } | { kind: 'syslog'; syslog: SyslogSettings });

export interface NotifierRecord {
  id: number;
  name: string;
  settings: NotifierSettings;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  /** Delivered through here in the alert outbox (feed-position.ts). */
  alertCursor: FeedPosition;
  /** Delivered through here in the events. */
  eventCursor: FeedPosition;
  deliveredCount: number;
  lastDeliveredAt: number | null;
  failures: number;
  lastError: string | null;
  lastErrorAt: number | null;
  nextAttemptAt: number;
}

function toNotifier(r: Selectable<Database['notifiers']>): NotifierRecord {
  return {
    id: num(r.id),
    name: r.name,
    settings: JSON.parse(r.config) as NotifierSettings,
    enabled: num(r.enabled) === 1,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    alertCursor: { tx: num(r.alert_cursor_tx), id: num(r.alert_cursor) },
    eventCursor: { tx: num(r.event_cursor_tx), id: num(r.event_cursor) },
    deliveredCount: num(r.delivered_count),
    lastDeliveredAt: numOrNull(r.last_delivered_at),
    failures: num(r.failures),
    lastError: r.last_error,
    lastErrorAt: numOrNull(r.last_error_at),
    nextAttemptAt: num(r.next_attempt_at),
  };
}

/**
 * Notifiers and their delivery state: cursors into the alert outbox and the events, leases
 * (one node drains a notifier at a time), failures and the next retry.
 */
export class NotifierRepository extends Repository {
  /**
   * Creates a notifier that delivers what is stored from now on (its cursors start at the
   * newest alert notification and event), so adding a receiver does not replay history.
   * Returns 'name-taken' when the name is in use.
   */
  create(n: {
    name: string;
    settings: NotifierSettings;
    enabled: boolean;
    now: number;
  }): Promise<NotifierRecord | 'name-taken'> {
    return this.session.atomically(async (db) => {
      const [a, e] = await Promise.all([this.newest(db, 'alert_notifications'), this.newest(db, 'events')]);
      const r = await db
        .insertInto('notifiers')
        .values({
          name: n.name,
          kind: n.settings.kind,
          config: JSON.stringify(n.settings),
          enabled: n.enabled ? 1 : 0,
          created_at: n.now,
          updated_at: n.now,
          alert_cursor: a.id,
          alert_cursor_tx: a.tx,
          event_cursor: e.id,
          event_cursor_tx: e.tx,
          last_delivered_at: null,
          last_error: null,
          last_error_at: null,
          lease_owner: null,
          lease_until: null,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      return r ? toNotifier(r) : 'name-taken';
    });
  }

  /**
   * Where "from now on" starts in a feed: past its newest row; where ids commit out of order,
   * at the oldest running transaction (rows of running transactions are delivered when they
   * commit, a few already committed ones too: nothing is missed, little is replayed).
   */
  private async newest(db: Kysely<Database>, table: 'alert_notifications' | 'events'): Promise<FeedPosition> {
    const horizon = this.session.dialect.feedHorizon;
    if (horizon) {
      const r = await sql<{ h: number }>`select ${horizon()} as h`.execute(db);
      return { tx: num(r.rows[0]!.h), id: 0 };
    }
    const r = await db
      .selectFrom(table)
      .select((eb) => eb.fn.max('id').as('m'))
      .executeTakeFirst();
    return { tx: 0, id: numOrNull(r?.m) ?? 0 };
  }

  async list(): Promise<NotifierRecord[]> {
    return (await this.db.selectFrom('notifiers').selectAll().orderBy('id').execute()).map(toNotifier);
  }

  async get(id: number): Promise<NotifierRecord | null> {
    const r = await this.db.selectFrom('notifiers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toNotifier(r) : null;
  }

  async delete(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('notifiers').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** How much waits for a notifier, counted up to `cap` per source (a long outage stays cheap to show). */
  async backlog(n: NotifierRecord, cap = 10_000): Promise<{ alerts: number; events: number; capped: boolean }> {
    const count = async (table: 'alert_notifications' | 'events', after: FeedPosition) => {
      const r = await this.db
        .selectFrom((eb) =>
          eb
            .selectFrom(table)
            .select('id')
            .where((w) => feedRowsAfter(w, table, after, this.session.dialect))
            .limit(cap + 1)
            .as('t'),
        )
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return num(r.n);
    };
    const alerts = n.settings.sources.includes('alerts') ? await count('alert_notifications', n.alertCursor) : 0;
    const events = n.settings.sources.includes('events') ? await count('events', n.eventCursor) : 0;
    return { alerts: Math.min(alerts, cap), events: Math.min(events, cap), capped: alerts > cap || events > cap };
  }

  /** Enabled notifiers whose retry time has come. */
  async due(now: number): Promise<NotifierRecord[]> {
    return (
      await this.db
        .selectFrom('notifiers')
        .selectAll()
        .where('enabled', '=', 1)
        .where('next_attempt_at', '<=', now)
        .orderBy('id')
        .execute()
    ).map(toNotifier);
  }

  /**
   * Takes (or renews) the right to drain a notifier until `until`: a conditional update, so of
   * several nodes one holds it at a time. Returns the notifier as stored, or null when another
   * node holds it (or it was deleted or disabled).
   */
  async lease(id: number, owner: string, now: number, until: number): Promise<NotifierRecord | null> {
    const r = await this.db
      .updateTable('notifiers')
      .set({ lease_owner: owner, lease_until: until })
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now)]))
      .returningAll()
      .executeTakeFirst();
    return r ? toNotifier(r) : null;
  }

  async release(id: number, owner: string): Promise<void> {
    await this.db
      .updateTable('notifiers')
      .set({ lease_owner: null, lease_until: null })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /**
   * Moves a notifier's cursors forward after a delivery (never back), as long as `owner` still
   * holds the lease. False when the lease was lost: the caller stops, the new holder goes on.
   */
  async recordDelivery(
    id: number,
    owner: string,
    d: { alertCursor: FeedPosition; eventCursor: FeedPosition; delivered: number; now: number },
  ): Promise<boolean> {
    // Each position moves only forward, in (tx, id) order; every CASE sees the row as it was.
    const ahead = (txCol: string, idCol: string, p: FeedPosition) =>
      sql<boolean>`(${sql.ref(txCol)} < ${p.tx} or (${sql.ref(txCol)} = ${p.tx} and ${sql.ref(idCol)} < ${p.id}))`;
    const forward = (txCol: string, idCol: string, p: FeedPosition, take: 'tx' | 'id') =>
      sql<number>`case when ${ahead(txCol, idCol, p)} then ${p[take]} else ${sql.ref(take === 'tx' ? txCol : idCol)} end`;
    const r = await this.db
      .updateTable('notifiers')
      .set((eb) => ({
        alert_cursor: forward('alert_cursor_tx', 'alert_cursor', d.alertCursor, 'id'),
        alert_cursor_tx: forward('alert_cursor_tx', 'alert_cursor', d.alertCursor, 'tx'),
        event_cursor: forward('event_cursor_tx', 'event_cursor', d.eventCursor, 'id'),
        event_cursor_tx: forward('event_cursor_tx', 'event_cursor', d.eventCursor, 'tx'),
        delivered_count: eb('delivered_count', '+', d.delivered),
        last_delivered_at: d.now,
        failures: 0,
        next_attempt_at: 0,
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Rewrites webhooks stored with a plaintext URL and headers (by a manager from before secrets
   * were sealed) into the sealed form `seal` makes; returns how many were rewritten.
   */
  sealPlaintext(
    seal: (target: WebhookTarget) => Pick<WebhookSettings, 'url' | 'headerNames' | 'secret'>,
  ): Promise<number> {
    return this.session.atomically(async (db) => {
      const rows = await db.selectFrom('notifiers').select(['id', 'config']).where('kind', '=', 'webhook').execute();
      let sealed = 0;
      for (const r of rows) {
        const config = JSON.parse(r.config) as { webhook: Record<string, unknown> };
        const w = config.webhook;
        if (typeof w.secret === 'string') continue;
        const target: WebhookTarget = { url: String(w.url), headers: (w.headers ?? {}) as Record<string, string> };
        const { headers: _plaintext, ...rest } = w;
        config.webhook = { ...rest, ...seal(target) };
        await db
          .updateTable('notifiers')
          .set({ config: JSON.stringify(config) })
          .where('id', '=', r.id)
          .where('config', '=', r.config)
          .execute();
        sealed += 1;
      }
      return sealed;
    });
  }

  async recordFailure(
    id: number,
    owner: string,
    f: { error: string; now: number; nextAttemptAt: number },
  ): Promise<void> {
    await this.db
      .updateTable('notifiers')
      .set((eb) => ({
        failures: eb('failures', '+', 1),
        last_error: f.error.slice(0, 1000),
        last_error_at: f.now,
        next_attempt_at: f.nextAttemptAt,
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }
}
