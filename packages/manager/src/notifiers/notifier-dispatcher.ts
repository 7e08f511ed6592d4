import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { SecretBox } from '../keys/secret-box.js';
import { FEED_START, type FeedPosition, laterPosition } from '../store/feed-position.js';
import type { NotifierRecord, Store } from '../store/store.js';
import { DestinationGuard, notifierDestinationPolicy } from './destination-guard.js';
import { alertNotification, eventNotification, type Notification } from './notification.js';
import { openWebhook, severityRank } from './notifier-config.js';
import { DeliveryError, type NotifierTransport } from './notifier-transport.js';
import { SyslogSender } from './syslog-sender.js';
import { WebhookSender } from './webhook-sender.js';

export interface NotifierDispatcherOptions {
  store: Store;
  /** Opens the webhooks' sealed URLs and headers. */
  secrets: SecretBox;
  logger: Logger;
  /** This manager's host name, named in every message. */
  manager: string;
  productVersion?: string;
  /** Lease owner name; default a random id per process. */
  nodeId?: string;
  /** First retry after a failure; doubles per failure up to `retryMaxMs`. Default 1 s. */
  retryBaseMs?: number;
  /** Default 5 minutes. */
  retryMaxMs?: number;
  /** How often due notifiers are looked for when nothing wakes the dispatcher. Default 1 s. */
  pollMs?: number;
  /** Alerts and events read per delivery. Default 100. */
  batchSize?: number;
  /** How long a node holds a notifier between renewals. Default 2 minutes. */
  leaseMs?: number;
  now?: () => number;
  /** Tests: replace the transports. */
  transportFor?: (n: NotifierRecord) => NotifierTransport;
  /** Where receivers may be; default the store's notifier destination settings (docs/security.md). */
  guard?: DestinationGuard;
}

/** Exponential backoff with ±20 % jitter (so receivers coming back are not hit in lockstep). */
export function retryDelayMs(
  failures: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  const raw = Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
  return Math.max(1, Math.round(raw * (0.8 + random() * 0.4)));
}

/**
 * Drains the outbox (alert notifications and agent events, in the order they were stored) to
 * every enabled notifier, each on its own: a slow or dead receiver delays only itself. Runs on
 * timers and `wake()`; nothing on the heartbeat path ever waits for it. A notifier's cursors
 * move only after its receiver took the items, so a receiver that is down loses nothing: the
 * backlog waits in the store and drains, in order, when it returns (retried with exponential
 * backoff meanwhile). Delivery is at least once: a crash between sending and recording the
 * cursor sends those items again, with the same ids.
 */
export class NotifierDispatcher {
  private readonly nodeId: string;
  private readonly retryBaseMs: number;
  private readonly retryMaxMs: number;
  private readonly pollMs: number;
  private readonly batchSize: number;
  private readonly leaseMs: number;
  private readonly now: () => number;
  private readonly draining = new Map<number, Promise<void>>();
  private readonly transports = new Map<number, { updatedAt: number; transport: NotifierTransport }>();
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | null = null;
  private again = false;
  private closed = false;
  /** The destination policy the transports were made under; another one drops them (kept-alive connections too). */
  private policyKey = '';
  /** Checks every receiver's address, where the connection is made. */
  readonly guard: DestinationGuard;

  constructor(private readonly o: NotifierDispatcherOptions) {
    this.nodeId = o.nodeId ?? randomUUID();
    this.retryBaseMs = o.retryBaseMs ?? 1_000;
    this.retryMaxMs = o.retryMaxMs ?? 300_000;
    this.pollMs = o.pollMs ?? 1_000;
    this.batchSize = o.batchSize ?? 100;
    this.leaseMs = o.leaseMs ?? 120_000;
    this.now = o.now ?? Date.now;
    this.guard = o.guard ?? new DestinationGuard(() => notifierDestinationPolicy(o.store));
  }

  start(): void {
    this.wake();
  }

  /** Something was stored: look now rather than at the next poll. Never waits. */
  wake(): void {
    if (this.closed) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.ticking = this.tick().finally(() => {
      this.ticking = null;
      if (this.closed) return;
      if (this.again) {
        this.again = false;
        this.wake();
      } else {
        this.timer = setTimeout(() => this.wake(), this.pollMs);
      }
    });
  }

  private async tick(): Promise<void> {
    try {
      await this.refreshPolicy();
      const due = await this.o.store.notifiers.due(this.now());
      for (const n of due) {
        if (this.draining.has(n.id)) continue;
        this.draining.set(
          n.id,
          this.drain(n.id)
            .catch((e) => this.o.logger.error({ err: e, notifier: n.name }, 'notifier dispatch failed'))
            .finally(() => this.draining.delete(n.id)),
        );
      }
    } catch (e) {
      if (!this.closed) this.o.logger.error({ err: e }, 'notifier dispatch: could not read the notifiers');
    }
  }

  /**
   * Reads the destination policy again; when it changed, drops every transport so that no
   * connection opened under the old policy (a kept-alive socket) is used under the new one.
   */
  private async refreshPolicy(): Promise<void> {
    const policy = await this.guard.refresh();
    const key = JSON.stringify([policy.publicAllowed, policy.entries.map((e) => e.text)]);
    if (key !== this.policyKey) {
      this.policyKey = key;
      for (const { transport } of this.transports.values()) transport.close();
      this.transports.clear();
    }
  }

  /** The notifier's stream transport, kept (with its connection) until the notifier or the policy changes. */
  private transport(n: NotifierRecord): NotifierTransport {
    const cached = this.transports.get(n.id);
    if (cached && cached.updatedAt === n.updatedAt) return cached.transport;
    cached?.transport.close();
    const transport = this.newTransport(n);
    this.transports.set(n.id, { updatedAt: n.updatedAt, transport });
    return transport;
  }

  private newTransport(n: NotifierRecord): NotifierTransport {
    const version = this.o.productVersion ?? '0.1.0';
    return (
      this.o.transportFor?.(n) ??
      (n.settings.kind === 'webhook'
        ? new WebhookSender(
            n.settings.webhook,
            openWebhook(this.o.secrets, n.settings.webhook),
            this.o.manager,
            `palisade-manager/${version}`,
            this.guard,
          )
        : new SyslogSender(n.settings.syslog, this.o.manager, version, this.guard))
    );
  }

  /**
   * The next items after the notifier's cursors, both sources merged by time. On a tie the event
   * goes first: a heartbeat's events are stored before the alerts that heartbeat raises.
   */
  private async nextBatch(n: NotifierRecord): Promise<Notification[]> {
    const [alerts, events] = await Promise.all([
      n.settings.sources.includes('alerts')
        ? this.o.store.alerts.notificationsAfter(n.alertCursor, this.batchSize)
        : [],
      n.settings.sources.includes('events') ? this.o.store.events.after(n.eventCursor, this.batchSize) : [],
    ]);
    const a = alerts.map(alertNotification);
    const e = events.map(eventNotification);
    const out: Notification[] = [];
    let i = 0;
    let j = 0;
    while (out.length < this.batchSize && (i < a.length || j < e.length)) {
      if (j >= e.length || (i < a.length && a[i]!.time < e[j]!.time)) out.push(a[i++]!);
      else out.push(e[j++]!);
    }
    return out;
  }

  private async drain(id: number): Promise<void> {
    const store = this.o.store.notifiers;
    let n = await store.lease(id, this.nodeId, this.now(), this.now() + this.leaseMs);
    if (!n) return;
    try {
      const hadFailures = n.failures > 0;
      let delivered = 0;
      while (n && !this.closed) {
        const batch = await this.nextBatch(n);
        if (batch.length === 0) break;
        // A drain can outlive the tick that started it. The policy is read after the batch, so an
        // item stored after an allow-list change is always judged by the changed list.
        await this.refreshPolicy();
        const min = severityRank(n.settings.minSeverity);
        const wanted = batch.filter((x) => severityRank(x.severity) >= min);
        let sent = wanted.length;
        let failure: Error | null = null;
        try {
          await this.transport(n).deliver(wanted);
        } catch (e) {
          sent = e instanceof DeliveryError ? e.delivered : 0;
          failure = e as Error;
        }
        // Everything before the first undelivered wanted item is done (sent or filtered out).
        const done = failure && sent < wanted.length ? batch.slice(0, batch.indexOf(wanted[sent]!)) : batch;
        if (done.length > 0) {
          const through = (kind: Notification['kind'], from: FeedPosition) =>
            done.filter((x) => x.kind === kind).reduce((p, x) => laterPosition(p, x.position), from);
          const alertCursor = through('alert', n.alertCursor);
          const eventCursor = through('event', n.eventCursor);
          if (
            !(await store.recordDelivery(id, this.nodeId, {
              alertCursor,
              eventCursor,
              delivered: sent,
              now: this.now(),
            }))
          )
            return;
          delivered += sent;
        }
        if (failure) {
          const failures = (done.length > 0 ? 0 : n.failures) + 1;
          const wait = retryDelayMs(failures, this.retryBaseMs, this.retryMaxMs);
          await store.recordFailure(id, this.nodeId, {
            error: failure.message,
            now: this.now(),
            nextAttemptAt: this.now() + wait,
          });
          this.o.logger.warn(
            { notifier: n.name, failures, retryInMs: wait, waiting: wanted.length - sent },
            `notifier delivery failed: ${failure.message}`,
          );
          return;
        }
        n = await store.lease(id, this.nodeId, this.now(), this.now() + this.leaseMs);
      }
      if (hadFailures && delivered > 0)
        this.o.logger.info({ notifier: n?.name, delivered }, 'notifier receiver is back; backlog delivered');
    } finally {
      await store.release(id, this.nodeId).catch(() => {});
    }
  }

  /**
   * Sends one test message to the notifier now, over a new connection of its kind, whatever its
   * sources and minimum severity, and says whether the receiver took it. Its cursors, backlog
   * and failure count are left alone: a test is not part of the stream. The message is an agent
   * event of type `notifier-test` (computerID 0) so receivers parse it as they parse the rest.
   */
  async sendTest(n: NotifierRecord, requestedBy: string): Promise<{ delivered: true } | { error: string }> {
    const time = this.now();
    const test: Notification = {
      kind: 'event',
      id: `notifier-test-${randomUUID()}`,
      position: FEED_START,
      time,
      severity: 'info',
      event: {
        ID: 0,
        computerID: 0,
        hostName: this.o.manager,
        epoch: null,
        seq: 0,
        type: 'notifier-test',
        severity: 'info',
        message: `Test message from the Palisade manager ${this.o.manager} to notifier "${n.name}", sent by ${requestedBy}`,
        agentTime: time,
        receivedAt: time,
        data: {},
      },
    };
    try {
      // Under the destination settings in force now (an allow-list changed a moment ago
      // applies), over a connection of its own: not queued behind the notifier's backlog on the
      // stream's connection, nor cut by the stream's next policy change.
      await this.refreshPolicy();
      const transport = this.newTransport(n);
      try {
        await transport.deliver([test]);
      } finally {
        transport.close();
      }
      return { delivered: true };
    } catch (e) {
      return { error: (e as Error).message };
    }
  }

  /** A notifier was deleted: drop its connection. */
  forget(id: number): void {
    this.transports.get(id)?.transport.close();
    this.transports.delete(id);
  }

  /** Stops: in-flight deliveries are cut (their items stay undelivered and go on the next start). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    for (const { transport } of this.transports.values()) transport.close();
    await this.ticking;
    await Promise.allSettled([...this.draining.values()]);
    for (const { transport } of this.transports.values()) transport.close();
    this.transports.clear();
  }
}
