import { CompiledQuery, type Kysely } from 'kysely';
import type { HandSql } from './hand-sql.js';
import type { Database } from './schema.js';
import type { StoreDialect } from './store-dialect.js';
import type { TransactionOptions } from './transaction-options.js';

/** Starts a transaction on the store's connection and runs `fn` in it (KyselyStore counts it). */
export type BeginTransaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>, o?: TransactionOptions) => Promise<T>;

/**
 * Told of each statement {@link StoreSession.run} runs, as KyselyStore's plugins are of Kysely's
 * own: a read or a write outside a transaction is counted, and such a write made durable before
 * it returns; a write in a transaction marks it as having written (store health).
 */
export interface StatementObserver {
  read(): void;
  /** Just before a write runs, synchronously (a transaction begins its deferred savepoints). */
  beforeWrite?(): void;
  wrote(): Promise<void> | void;
}

const UNOBSERVED: StatementObserver = { read: () => {}, wrote: () => {} };

/**
 * Runs a statement as written on the engine's connection itself, synchronously, without Kysely's
 * query pipeline (SQLite: better-sqlite3 through the statement cache). Kysely serializes the
 * statements of its one SQLite connection with a lock held from BEGIN to COMMIT; this bypasses
 * that lock, so it is called only where nothing else can be on the connection: inside the
 * transaction that holds it, or outside any transaction while none is open ({@link DirectStatements.idle}).
 */
export interface DirectStatements {
  run(text: string, parameters: readonly unknown[]): { rows: unknown[]; changed: number };
  /** True while no transaction holds the connection: an autocommit read may then run directly. */
  idle(): boolean;
  /**
   * A read outside any transaction, asked while one holds the connection: runs directly as soon
   * as none does, which the store sees when its own transaction ends (then the read waits no
   * longer than it would in Kysely's queue for the connection, and skips that queue's cost).
   * Null when no transaction of the store's is open to wait for (another began on the
   * connection): the read then takes Kysely's path.
   */
  read(text: string, parameters: readonly unknown[]): Promise<{ rows: unknown[]; changed: number } | null>;
}

/** The engine's connection itself (SQLite: better-sqlite3), from which KyselyStore makes {@link DirectStatements}. */
export interface DirectConnection {
  run: DirectStatements['run'];
  /** Whether the connection is inside a transaction (between BEGIN and its end), whoever began it. */
  inTransaction(): boolean;
}

/**
 * What the repositories of one unit of work share: the connection their statements run on (the
 * store's, or one transaction's), the engine's capabilities, and what the transaction changed
 * so far. Repositories never start a transaction of their own inside one: {@link atomically}
 * joins it.
 */
export class StoreSession {
  /** A write in this transaction changed what the policy-tree version covers (see `versions`). */
  private treeChanged = false;

  private constructor(
    readonly db: Kysely<Database>,
    readonly dialect: StoreDialect,
    private readonly begin: BeginTransaction,
    readonly inTransaction: boolean,
    private readonly observer: StatementObserver,
    private readonly direct: DirectStatements | undefined,
  ) {}

  /** The session of statements outside any transaction (each its own, on the store's connection). */
  static outside(
    db: Kysely<Database>,
    dialect: StoreDialect,
    begin: BeginTransaction,
    observer: StatementObserver = UNOBSERVED,
    direct?: DirectStatements,
  ): StoreSession {
    return new StoreSession(db, dialect, begin, false, observer, direct);
  }

  /** The session of one transaction, `trx` being its connection. */
  within(trx: Kysely<Database>, observer: StatementObserver = UNOBSERVED): StoreSession {
    return new StoreSession(trx, this.dialect, this.begin, true, observer, this.direct);
  }

  /**
   * The engine's direct path when a statement may take it here (see {@link DirectStatements}):
   * always inside a transaction, outside one only for a read while no transaction is open.
   */
  directFor(writes: boolean): DirectStatements | undefined {
    const d = this.direct;
    if (!d) return undefined;
    if (this.inTransaction) return d;
    return !writes && d.idle() ? d : undefined;
  }

  /**
   * Runs a hand-written statement (hand-sql.ts) on this session's connection with `parameters`
   * in placeholder order: its rows (RETURNING ones for a write) and how many rows it changed.
   */
  run<R>(statement: HandSql, parameters: readonly unknown[]): Promise<{ rows: R[]; changed: number }> {
    // A heartbeat runs a dozen of these: Kysely's pipeline (its connection lock, plugins and
    // result transforms) cost more CPU than SQLite running them (docs/capacity.md). On the
    // direct path the statement runs at once and its result comes back as a settled promise,
    // without an async function's frame and awaits around it.
    type Result = { rows: R[]; changed: number };
    const direct = this.directFor(statement.writes);
    if (!direct) return this.runElsewhere<R>(statement, parameters);
    try {
      if (statement.writes) {
        this.observer.beforeWrite?.();
        const r = direct.run(statement.text, parameters) as Result;
        const wrote = this.observer.wrote();
        return wrote ? wrote.then(() => r) : Promise.resolve(r);
      }
      const r = direct.run(statement.text, parameters) as Result;
      this.observer.read();
      return Promise.resolve(r);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** {@link run} off the direct path: a read waiting for the store's transaction, or Kysely's pipeline. */
  private async runElsewhere<R>(
    statement: HandSql,
    parameters: readonly unknown[],
  ): Promise<{ rows: R[]; changed: number }> {
    type Result = { rows: R[]; changed: number };
    if (statement.writes) this.observer.beforeWrite?.();
    let r: Result | null = null;
    // Outside a transaction while one holds the connection: a read waits for it to end.
    if (this.direct && !statement.writes) r = (await this.direct.read(statement.text, parameters)) as Result | null;
    r ??= await this.viaKysely<R>(statement, parameters);
    if (statement.writes) await this.observer.wrote();
    else this.observer.read();
    return r;
  }

  private async viaKysely<R>(statement: HandSql, parameters: readonly unknown[]) {
    const r = await this.db.executeQuery<R>(
      CompiledQuery.raw(this.dialect.numberedPlaceholders ? statement.numbered : statement.text, [...parameters]),
    );
    return { rows: r.rows, changed: Number(r.numAffectedRows ?? 0n) };
  }

  /**
   * Runs statements that must commit together: in the enclosing transaction when there is one
   * (no savepoint: a throw aborts the whole of it), else in a transaction of their own.
   */
  atomically<T>(fn: (db: Kysely<Database>) => Promise<T>, o?: TransactionOptions): Promise<T> {
    return this.inTransaction ? fn(this.db) : this.begin(fn, o);
  }

  /** Throws unless in a transaction: for statements that mean nothing on their own (locks). */
  requireTransaction(what: string): void {
    if (!this.inTransaction) throw new Error(`${what} outside a transaction locks nothing`);
  }

  /**
   * Bumps the policy-tree version on `db` (this session's connection, or the transaction
   * {@link atomically} opened), marking this transaction as having changed the tree.
   */
  async bumpPolicyTree(db: Kysely<Database>): Promise<void> {
    await db
      .updateTable('versions')
      .set((eb) => ({ version: eb('version', '+', 1) }))
      .where('name', '=', 'policyTree')
      .execute();
    if (this.inTransaction) this.treeChanged = true;
  }

  /** Whether this transaction changed the policy tree (its writes are not yet anyone else's to cache). */
  get policyTreeChanged(): boolean {
    return this.treeChanged;
  }
}
