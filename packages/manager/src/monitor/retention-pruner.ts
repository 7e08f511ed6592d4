import { RETENTION_SETTINGS, type RetentionSettings, type RetentionTable, retentionSettings } from '@palisade/core';
import type { Logger } from 'pino';
import type { Store } from '../store/store.js';

/** What one pass removed, by table, and how many undelivered notifier items a row cap dropped. */
export interface RetentionReport {
  pruned: Record<RetentionTable, number>;
  /** Agent events and alert notifications removed before every notifier delivered them (row caps only). */
  undelivered: { events: number; alerts: number };
}

export interface RetentionPrunerOptions {
  store: Store;
  logger: Logger;
  /** Time between passes; default 5 minutes (a pass continues where a capped one stopped). */
  intervalMs?: number;
  /** Rows per statement; default 1000 (a few ms of the connection on SQLite). */
  batchSize?: number;
  /** Statements per table per pass; default 1000, so one pass ends even on a huge backlog. */
  maxBatches?: number;
  now?: () => number;
  /** Told each pass's removals (metrics). */
  onPruned?: (report: RetentionReport) => void;
}

/** The settings in force, read from where the system settings registry stores them. */
export async function retentionSettingsOf(store: Pick<Store, 'systemSettings'>): Promise<RetentionSettings> {
  const stored: Record<string, string | null> = {};
  for (const s of RETENTION_SETTINGS) stored[s.name] = await store.systemSettings.get(s.name);
  return retentionSettings(stored);
}

/** Lets queued work (heartbeats) have the store's connection between two statements. */
const yieldTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Retention (docs/api.md "Retention"): in the background, removes agent events, alerts, audit
 * rows and alert notifications beyond their age and row caps, in bounded batches, yielding
 * between them. Every node runs it; the statements are safe when two run at once. An age limit
 * never removes an item a notifier has not delivered; a row cap does, and each such removal is
 * logged as a warning and counted (`palisade_notifier_items_dropped_total`): never silent.
 */
export class RetentionPruner {
  private readonly intervalMs: number;
  private readonly batch: number;
  private readonly maxBatches: number;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RetentionReport> | null = null;
  private closed = false;

  constructor(private readonly o: RetentionPrunerOptions) {
    this.intervalMs = o.intervalMs ?? 300_000;
    this.batch = o.batchSize ?? 1000;
    this.maxBatches = o.maxBatches ?? 1000;
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.schedule(Math.min(this.intervalMs, 10_000));
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.runOnce()
        .catch((e) => {
          if (!this.closed) this.o.logger.error({ err: e }, 'retention: pruning failed; tried again next pass');
        })
        .finally(() => this.schedule(this.intervalMs));
    }, ms);
    this.timer.unref();
  }

  /** One pass now (or the one running); resolves with what it removed. */
  runOnce(): Promise<RetentionReport> {
    this.running ??= this.pass().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Repeats `step` (one bounded statement) until it removes less than a batch, or the pass's bound. */
  private async drain(step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (let i = 0; i < this.maxBatches && !this.closed; i++) {
      const n = await step();
      total += n;
      if (n < this.batch) break;
      await yieldTurn();
    }
    return total;
  }

  private async pass(): Promise<RetentionReport> {
    const { store, logger } = this.o;
    const settings = await retentionSettingsOf(store);
    const now = this.now();
    const bounds = (t: RetentionTable) => ({
      before: now - settings[t].maxAgeMs,
      maxRows: settings[t].maxRows,
      batch: this.batch,
    });
    const report: RetentionReport = {
      pruned: { events: 0, alerts: 0, audit: 0, outbox: 0 },
      undelivered: { events: 0, alerts: 0 },
    };
    const source = async (s: 'alerts' | 'events', table: RetentionTable) => {
      report.pruned[table] = await this.drain(async () => {
        const r = await store.retention.pruneOutboxSource(s, bounds(table));
        report.undelivered[s] += r.undelivered;
        return r.deleted;
      });
    };
    // The outbox before the alerts: an alert waits for its notifications to leave it.
    await source('alerts', 'outbox');
    report.pruned.alerts = await this.drain(() => store.retention.pruneAlerts(bounds('alerts')));
    await source('events', 'events');
    report.pruned.audit = await this.drain(() => store.retention.pruneAudit(bounds('audit')));

    const { pruned, undelivered } = report;
    if (Object.values(pruned).some((n) => n > 0)) logger.info({ pruned }, 'retention: old rows pruned');
    if (undelivered.events > 0 || undelivered.alerts > 0)
      logger.warn(
        { undelivered, eventMax: settings.events.maxRows, outboxMax: settings.outbox.maxRows },
        'retention: row caps dropped items a notifier had not delivered yet (a receiver is down or slower than the fleet); raise the caps or fix the receiver',
      );
    this.o.onPruned?.(report);
    return report;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }
}
