/** How `Store.transaction` makes its commit durable. */
export interface TransactionOptions {
  /**
   * `now` (the default): it returns only once the commit is on stable storage. `soon`: once
   * committed, the commit synced within {@link SOON_SYNC_MS} — for writes whose loss with the
   * host's power the caller tolerates (a heartbeat without events: docs/architecture.md "The
   * heartbeat"). Engines whose commit is durable by itself (PostgreSQL) treat both alike.
   */
  sync?: 'now' | 'soon';
}

/** The most a `soon` commit waits for its sync (SQLite). */
export const SOON_SYNC_MS = 200;
