import type { Kysely } from 'kysely';
import type { Database } from './schema.js';
import type { StoreDialect } from './store-dialect.js';

/** Starts a transaction on the store's connection and runs `fn` in it (KyselyStore counts it). */
export type BeginTransaction = <T>(fn: (trx: Kysely<Database>) => Promise<T>) => Promise<T>;

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
  ) {}

  /** The session of statements outside any transaction (each its own, on the store's connection). */
  static outside(db: Kysely<Database>, dialect: StoreDialect, begin: BeginTransaction): StoreSession {
    return new StoreSession(db, dialect, begin, false);
  }

  /** The session of one transaction, `trx` being its connection. */
  within(trx: Kysely<Database>): StoreSession {
    return new StoreSession(trx, this.dialect, this.begin, true);
  }

  /**
   * Runs statements that must commit together: in the enclosing transaction when there is one
   * (no savepoint: a throw aborts the whole of it), else in a transaction of their own.
   */
  atomically<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.inTransaction ? fn(this.db) : this.begin(fn);
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
