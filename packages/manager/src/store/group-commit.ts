import type { Store, StoreTransaction, TransactionOptions } from './store.js';
import { TransactionLostError } from './store-write-health.js';

export interface GroupCommitOptions {
  /** Most units one commit carries; more wait for the next. Default 64. */
  maxBatch?: number;
}

interface Unit {
  fn: (tx: StoreTransaction) => Promise<unknown>;
  sync: 'now' | 'soon';
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: units of work that arrive while a commit is being prepared share one transaction
 * and so one commit — one fsync on SQLite with `synchronous = FULL` — instead of one each.
 *
 * Each unit runs in a savepoint of the shared transaction, one after the other (the store has one
 * writer anyway), so a unit that throws rolls back its own writes only and the others carry on;
 * each sees the writes of those before it, as it would had they committed first. No unit's
 * promise settles before the commit it rode in has returned: a heartbeat's events are
 * acknowledged to the agent only once they are durable (docs/architecture.md "The heartbeat"). If the
 * commit itself fails, every unit of the batch fails with it and nothing of them is stored.
 *
 * Batches form without waiting: the first unit starts a batch on the next turn of the event loop,
 * taking whatever arrived by then; units arriving while it runs form the next one. Under light
 * load a batch is one unit and nothing changes; under load the commit cost is shared.
 */
export class GroupCommit {
  private queue: Unit[] = [];
  private running = false;
  private readonly maxBatch: number;
  private commits = 0;
  private units = 0;

  constructor(
    private readonly store: Pick<Store, 'transaction'>,
    o: GroupCommitOptions = {},
  ) {
    this.maxBatch = Math.max(1, o.maxBatch ?? 64);
  }

  /** Commits made and units they carried (units ÷ commits is the sharing achieved). */
  get stats(): { commits: number; units: number } {
    return { commits: this.commits, units: this.units };
  }

  /**
   * Runs `fn` in a savepoint of a shared transaction; resolves once that transaction committed
   * and, unless every unit it carried said `sync: 'soon'` (TransactionOptions), is durable.
   */
  run<T>(fn: (tx: StoreTransaction) => Promise<T>, o: TransactionOptions = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, sync: o.sync ?? 'now', resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) {
        this.running = true;
        setImmediate(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      const outcomes: Array<{ ok: true; value: unknown } | { ok: false; error: unknown }> = [];
      try {
        const sync = batch.every((u) => u.sync === 'soon') ? 'soon' : 'now';
        await this.store.transaction(
          async (tx) => {
            // Alone, a unit needs no savepoint: its failure is the transaction's.
            if (batch.length === 1) {
              outcomes.push({ ok: true, value: await batch[0]!.fn(tx) });
              return;
            }
            for (const unit of batch) {
              try {
                outcomes.push({ ok: true, value: await tx.savepoint(() => unit.fn(tx)) });
              } catch (error) {
                // The engine ended the transaction (disk full): the units before this one are
                // lost too, and those after would run outside any transaction. Fail the batch.
                if (error instanceof TransactionLostError) throw error;
                outcomes.push({ ok: false, error });
              }
            }
          },
          { sync },
        );
      } catch (error) {
        // The commit failed (or the lone unit threw): nothing of this batch is stored.
        for (const unit of batch) unit.reject(error);
        continue;
      }
      this.commits += 1;
      this.units += batch.length;
      batch.forEach((unit, i) => {
        const o = outcomes[i]!;
        if (o.ok) unit.resolve(o.value);
        else unit.reject(o.error);
      });
    }
    this.running = false;
  }
}
