import { sql } from 'kysely';
import { num, numOrNull } from '../column-values.js';
import type { FeedPosition } from '../feed-position.js';
import { Repository } from './repository.js';

/** What one pruning statement removed: rows, and how many of them a notifier had not delivered yet. */
export interface PruneBatch {
  deleted: number;
  undelivered: number;
}

/**
 * Retention's statements: each removes at most `batch` rows, oldest first, in one statement of
 * its own (so the pruner yields the connection between them and heartbeats are not held), and
 * is safe when two manager nodes prune at once (a row the other node removed first is simply
 * not counted again). Rows a notifier has not delivered yet are removed only by a row cap, and
 * counted apart so the caller reports them.
 */
export class RetentionRepository extends Repository {
  /**
   * The highest id every notifier taking `source` has delivered through (rows after it wait for
   * one); Infinity when no notifier takes it. Disabled notifiers count: enabled again, they go
   * on from their cursor. Where feeds are read in (transaction, id) order (feed-position.ts), a
   * row with a lower id than a cursor may still be ahead of it: the bound stops below the
   * lowest id of the rows still ahead.
   */
  async deliveredThrough(source: 'alerts' | 'events'): Promise<number> {
    const table = source === 'alerts' ? 'alert_notifications' : 'events';
    const rows = await this.db
      .selectFrom('notifiers')
      .select(['config', 'alert_cursor', 'alert_cursor_tx', 'event_cursor', 'event_cursor_tx'])
      .execute();
    let min = Number.POSITIVE_INFINITY;
    for (const r of rows) {
      const sources = (JSON.parse(r.config) as { sources?: string[] }).sources ?? [];
      if (!sources.includes(source)) continue;
      const at: FeedPosition =
        source === 'alerts'
          ? { tx: num(r.alert_cursor_tx), id: num(r.alert_cursor) }
          : { tx: num(r.event_cursor_tx), id: num(r.event_cursor) };
      if (!this.session.dialect.feedHorizon) {
        min = Math.min(min, at.id);
        continue;
      }
      // (tx, id) order: what is delivered is every row up to the first one still ahead.
      const ahead = await this.db
        .selectFrom(table)
        .select((eb) => eb.fn.min('id').as('m'))
        .where((eb) =>
          eb.or([
            eb(sql.ref(`${table}.tx`), '>', at.tx),
            eb.and([eb(sql.ref(`${table}.tx`), '=', at.tx), eb(sql.ref(`${table}.id`), '>', at.id)]),
          ]),
        )
        .executeTakeFirst();
      const first = numOrNull(ahead?.m);
      if (first !== null) min = Math.min(min, first - 1);
    }
    return min;
  }

  /** The highest id beyond the newest `keep` rows of the table (null: it has no more than `keep`). */
  private async beyondCap(
    table: 'events' | 'alert_notifications' | 'audit_events',
    keep: number,
  ): Promise<number | null> {
    const r = await this.db
      .selectFrom(table)
      .select('id')
      .orderBy('id', 'desc')
      .limit(1)
      .offset(keep)
      .executeTakeFirst();
    return r ? num(r.id) : null;
  }

  /** Deletes up to `batch` of the table's rows with ids in (after, through], oldest first, and older than `before` if given. */
  private async deleteRange(
    table: 'events' | 'alert_notifications' | 'audit_events',
    timeColumn: 'received_at' | 'time',
    r: { after?: number; through: number; before?: number; batch: number },
  ): Promise<number> {
    if (r.after !== undefined && r.after >= r.through) return 0;
    const through = Number.isFinite(r.through) ? r.through : null;
    const res = await this.db
      .deleteFrom(table)
      .where('id', 'in', (eb) => {
        let q = eb.selectFrom(table).select('id');
        if (through !== null) q = q.where('id', '<=', through);
        if (r.after !== undefined) q = q.where('id', '>', r.after);
        if (r.before !== undefined) q = q.where(sql.ref(timeColumn), '<', r.before);
        return q.orderBy('id').limit(r.batch);
      })
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /**
   * One batch of agent events or alert notifications (the two sources notifiers drain): first
   * those older than `before` that every notifier delivered, then, when the table holds more
   * than `maxRows`, the oldest beyond it, the delivered ones first.
   */
  async pruneOutboxSource(
    source: 'alerts' | 'events',
    o: { before: number; maxRows: number | null; batch: number },
  ): Promise<PruneBatch> {
    const table = source === 'events' ? 'events' : 'alert_notifications';
    const time = source === 'events' ? 'received_at' : 'time';
    const delivered = await this.deliveredThrough(source);
    let deleted = await this.deleteRange(table, time, { through: delivered, before: o.before, batch: o.batch });
    let undelivered = 0;
    if (deleted < o.batch && o.maxRows !== null) {
      const cap = await this.beyondCap(table, o.maxRows);
      if (cap !== null) {
        const left = o.batch - deleted;
        const d = await this.deleteRange(table, time, { through: Math.min(cap, delivered), batch: left });
        deleted += d;
        if (d < left && cap > delivered) {
          undelivered = await this.deleteRange(table, time, { after: delivered, through: cap, batch: left - d });
          deleted += undelivered;
        }
      }
    }
    return { deleted, undelivered };
  }

  /**
   * One batch of cleared alerts: those cleared before `before`, then the oldest cleared beyond
   * `maxRows` cleared alerts. Open alerts (dismissed or not) are never removed: the monitor
   * needs them to raise each once. An alert with a notification still in the outbox waits for it.
   */
  async pruneAlerts(o: { before: number; maxRows: number | null; batch: number }): Promise<number> {
    const cleared = () =>
      this.db
        .selectFrom('alerts')
        .select('id')
        .where('cleared_at', 'is not', null)
        .where((eb) =>
          eb.not(
            eb.exists(
              eb.selectFrom('alert_notifications as n').select('n.id').whereRef('n.alert_id', '=', 'alerts.id'),
            ),
          ),
        );
    const del = async (q: ReturnType<typeof cleared>, limit: number) =>
      Number(
        (await this.db.deleteFrom('alerts').where('id', 'in', q.orderBy('id').limit(limit)).executeTakeFirst())
          .numDeletedRows,
      );
    let deleted = await del(cleared().where('cleared_at', '<', o.before), o.batch);
    if (deleted < o.batch && o.maxRows !== null) {
      const r = await this.db
        .selectFrom('alerts')
        .select('id')
        .where('cleared_at', 'is not', null)
        .orderBy('id', 'desc')
        .limit(1)
        .offset(o.maxRows)
        .executeTakeFirst();
      const cap = numOrNull(r?.id);
      if (cap !== null) deleted += await del(cleared().where('id', '<=', cap), o.batch - deleted);
    }
    return deleted;
  }

  /** One batch of audit rows: older than `before`, then the oldest beyond `maxRows`. */
  async pruneAudit(o: { before: number; maxRows: number | null; batch: number }): Promise<number> {
    let deleted = await this.deleteRange('audit_events', 'time', {
      through: Number.POSITIVE_INFINITY,
      before: o.before,
      batch: o.batch,
    });
    if (deleted < o.batch && o.maxRows !== null) {
      const cap = await this.beyondCap('audit_events', o.maxRows);
      if (cap !== null)
        deleted += await this.deleteRange('audit_events', 'time', { through: cap, batch: o.batch - deleted });
    }
    return deleted;
  }
}
