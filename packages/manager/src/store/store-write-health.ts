/**
 * Engine error codes that mean the storage under the database refuses writes, not that a
 * statement was wrong: SQLite's result codes (https://www.sqlite.org/rescode.html: `SQLITE_FULL`,
 * every extended `SQLITE_IOERR_…`, `SQLITE_READONLY_…`, `SQLITE_CANTOPEN`) and PostgreSQL's
 * SQLSTATE classes 53 (insufficient resources, `53100` disk full) and 58 (system error, `58030`
 * I/O error), Appendix A of its manual.
 */
function isStorageCode(code: string): boolean {
  return (
    code === 'SQLITE_FULL' ||
    code === 'SQLITE_CANTOPEN' ||
    code.startsWith('SQLITE_IOERR') ||
    code.startsWith('SQLITE_READONLY') ||
    /^5[38][0-9A-Z]{3}$/.test(code)
  );
}

/**
 * The storage fault behind `e` (it, or an error in its `cause` chain), as "CODE: message"; null
 * when `e` is no storage fault (a constraint, a bug, a bad statement).
 */
export function storageFault(e: unknown): string | null {
  for (let cur = e, hops = 0; cur instanceof Error && hops < 8; cur = cur.cause, hops++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string' && isStorageCode(code)) return `${code}: ${cur.message}`;
  }
  return null;
}

/**
 * A savepoint could not be rolled back because the engine had already ended the transaction
 * (storage fault): every unit in it is lost, not only the one that failed. `cause` is the
 * unit's error, the one that says why.
 */
export class TransactionLostError extends Error {
  override readonly name = 'TransactionLostError';
  constructor(cause: unknown, rollback: unknown) {
    super(`the transaction was ended by the database: ${(cause as Error)?.message ?? cause}`, { cause });
    this.rollback = rollback;
  }
  readonly rollback: unknown;
}

/** Whether writes to the store work, as the last transaction found out. */
export type StoreWriteState = { ok: true } | { ok: false; reason: string; since: number };

/**
 * Whether the store's writes currently fail for a storage fault (disk full, I/O error, read-only
 * file system), learnt from the outcome of every transaction: the first failure and the recovery
 * are each reported once to `onChange` (the manager logs them), and `/healthz` says degraded
 * meanwhile. Nothing here retries: recovery is the next write that commits.
 */
export class StoreWriteHealth {
  #state: StoreWriteState = { ok: true };
  #listeners: Array<(state: StoreWriteState, cause?: unknown) => void> = [];

  constructor(private readonly now: () => number = Date.now) {}

  get state(): StoreWriteState {
    return this.#state;
  }

  /** Called on each change of state, with the error that caused a failure. */
  onChange(listener: (state: StoreWriteState, cause?: unknown) => void): void {
    this.#listeners.push(listener);
  }

  /** A transaction committed. */
  succeeded(): void {
    if (this.#state.ok) return;
    this.#state = { ok: true };
    for (const l of this.#listeners) l(this.#state);
  }

  /** A transaction failed with `e`; returns the storage fault it was, or null for any other failure. */
  failed(e: unknown): string | null {
    const reason = storageFault(e);
    if (reason === null || !this.#state.ok) return reason;
    this.#state = { ok: false, reason, since: this.now() };
    for (const l of this.#listeners) l(this.#state, e);
    return reason;
  }
}
