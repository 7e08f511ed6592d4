import type { Selectable } from 'kysely';
import { num } from '../column-values.js';
import { type FeedPosition, feedRowsAfter } from '../feed-position.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

export interface EventRecord {
  id: number;
  computerId: number;
  /** The agent's numbering `seq` belongs to; '' for events from agents before epochs. */
  epoch: string;
  seq: number;
  agentTime: number;
  receivedAt: number;
  type: string;
  severity: string;
  message: string;
  data: Record<string, unknown> | null;
}

/** An event as an agent reports it in a heartbeat. */
export interface ReportedEvent {
  /** Absent: the agent predates epochs (stored as ''). */
  epoch?: string;
  seq: number;
  time: number;
  type: string;
  severity: string;
  message: string;
  data?: Record<string, unknown>;
}

/** An event with its computer's host name, for the events API and the notifiers. */
export interface PendingEvent {
  /** The event's id: its place in the order events were stored. */
  cursor: number;
  /** Its transaction (feed-position.ts): with `cursor`, its place in the notifiers' feed. */
  tx: number;
  computerId: number;
  hostName: string | null;
  epoch: string;
  seq: number;
  type: string;
  severity: string;
  message: string;
  agentTime: number;
  receivedAt: number;
  data: Record<string, unknown> | null;
}

export interface EventQuery {
  computerId?: number;
  type?: string;
  severity?: string;
  /** Received at or after, epoch ms. */
  since?: number;
  order: 'asc' | 'desc';
  /** Exclusive: rows after this id in `order`. */
  afterId?: number;
  limit: number;
}

function toPendingEvent(r: Selectable<Database['events']> & { host_name: string | null }): PendingEvent {
  return {
    cursor: num(r.id),
    tx: num(r.tx),
    computerId: num(r.computer_id),
    hostName: r.host_name,
    epoch: r.epoch,
    seq: num(r.seq),
    type: r.type,
    severity: r.severity,
    message: r.message,
    agentTime: num(r.agent_time),
    receivedAt: num(r.received_at),
    data: r.data === null ? null : JSON.parse(r.data),
  };
}

/** Agent events: stored idempotently by `(epoch, seq)`, read by the API and the notifiers. */
export class EventRepository extends Repository {
  /**
   * Stores reported events; one already stored (the same epoch and `seq`, re-sent after a lost
   * reply, or delivered by a clone of the host that spooled it: migration 0020) is recognised
   * and skipped. The same `seq` in another epoch is another event (an agent whose state went
   * back in time, docs/heartbeat.md); events without an epoch are told apart per computer.
   * Returns how many were new.
   */
  async insertReported(computerId: number, events: readonly ReportedEvent[], receivedAt: number): Promise<number> {
    if (events.length === 0) return 0;
    const res = await this.db
      .insertInto('events')
      .values(
        events.map((e) => ({
          computer_id: computerId,
          epoch: e.epoch ?? '',
          seq: e.seq,
          agent_time: e.time,
          received_at: receivedAt,
          type: e.type,
          severity: e.severity,
          message: e.message,
          data: e.data === undefined ? null : JSON.stringify(e.data),
        })),
      )
      // No conflict target: either key, (computer, epoch, seq) or the agent's (epoch, seq).
      .onConflict((oc) => oc.doNothing())
      .executeTakeFirst();
    return Number(res.numInsertedOrUpdatedRows ?? 0);
  }

  /** One computer's events in the order they were stored. */
  async listForComputer(computerId: number): Promise<EventRecord[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('computer_id', '=', computerId)
      .orderBy('id')
      .execute();
    return rows.map((r) => ({
      id: num(r.id),
      computerId: num(r.computer_id),
      epoch: r.epoch,
      seq: num(r.seq),
      agentTime: num(r.agent_time),
      receivedAt: num(r.received_at),
      type: r.type,
      severity: r.severity,
      message: r.message,
      data: r.data === null ? null : JSON.parse(r.data),
    }));
  }

  private withHost() {
    return this.db
      .selectFrom('events')
      .leftJoin('computers', 'computers.id', 'events.computer_id')
      .selectAll('events')
      .select('computers.host_name');
  }

  /** One page of events by id (the order they were stored), filtered. */
  async query(q: EventQuery): Promise<PendingEvent[]> {
    let s = this.withHost();
    if (q.computerId !== undefined) s = s.where('events.computer_id', '=', q.computerId);
    if (q.type !== undefined) s = s.where('events.type', '=', q.type);
    if (q.severity !== undefined) s = s.where('events.severity', '=', q.severity);
    if (q.since !== undefined) s = s.where('events.received_at', '>=', q.since);
    if (q.afterId !== undefined) s = s.where('events.id', q.order === 'asc' ? '>' : '<', q.afterId);
    const rows = await s.orderBy('events.id', q.order).limit(q.limit).execute();
    return rows.map(toPendingEvent);
  }

  /**
   * Events after `p` in the feed, as far as they are final (feed-position.ts): a notifier's next
   * batch. A position moved past them skips none, however their transactions commit.
   */
  async after(p: FeedPosition, limit: number): Promise<PendingEvent[]> {
    const rows = await this.withHost()
      .where((eb) => feedRowsAfter(eb, 'events', p, this.session.dialect))
      .orderBy('events.tx')
      .orderBy('events.id')
      .limit(limit)
      .execute();
    return rows.map(toPendingEvent);
  }
}
