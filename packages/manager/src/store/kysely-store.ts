import { CompiledQuery, type Kysely, type KyselyPlugin, Migrator, type PluginTransformQueryArgs } from 'kysely';
import { migrationProvider } from './migrations/migration-provider.js';
import { ActivationTokenRepository } from './repositories/activation-token-repository.js';
import { AlertRepository } from './repositories/alert-repository.js';
import { ApiKeyRepository } from './repositories/api-key-repository.js';
import { AuditRepository } from './repositories/audit-repository.js';
import { CertificateAuthorityRepository } from './repositories/certificate-authority-repository.js';
import { ComputerRepository } from './repositories/computer-repository.js';
import { ConsoleUserRepository } from './repositories/console-user-repository.js';
import { DialTargetRepository } from './repositories/dial-target-repository.js';
import { EventRepository } from './repositories/event-repository.js';
import { FirewallListRepository } from './repositories/firewall-list-repository.js';
import { FirewallRepository } from './repositories/firewall-repository.js';
import { ManagerNodeRepository } from './repositories/manager-node-repository.js';
import { NotifierRepository } from './repositories/notifier-repository.js';
import { OperationRepository } from './repositories/operation-repository.js';
import { PolicyRepository } from './repositories/policy-repository.js';
import { RetentionRepository } from './repositories/retention-repository.js';
import { SystemSettingRepository } from './repositories/system-setting-repository.js';
import type { Database } from './schema.js';
import type { Repositories, Store, StoreCounters, StoreTransaction, TransactionOptions } from './store.js';
import type { StoreDialect } from './store-dialect.js';
import { type DirectConnection, type DirectStatements, StoreSession } from './store-session.js';
import { StoreWriteHealth, storageFault, TransactionLostError } from './store-write-health.js';

/**
 * The repositories over one session, each made the first time it is asked for: a transaction
 * hands out a set, and a heartbeat's uses a third of them (making all seventeen was a few
 * percent of a heartbeat's CPU where each commits alone).
 */
class RepositorySet implements Repositories {
  private readonly made: { -readonly [K in keyof Repositories]?: Repositories[K] } = {};

  constructor(private readonly over: StoreSession) {}

  private repository<K extends keyof Repositories>(
    name: K,
    Make: new (session: StoreSession) => Repositories[K],
  ): Repositories[K] {
    let made = this.made[name];
    if (made === undefined) {
      made = new Make(this.over);
      this.made[name] = made;
    }
    return made as Repositories[K];
  }

  get computers(): ComputerRepository {
    return this.repository('computers', ComputerRepository);
  }

  get policies(): PolicyRepository {
    return this.repository('policies', PolicyRepository);
  }

  get firewall(): FirewallRepository {
    return this.repository('firewall', FirewallRepository);
  }

  get firewallLists(): FirewallListRepository {
    return this.repository('firewallLists', FirewallListRepository);
  }

  get operations(): OperationRepository {
    return this.repository('operations', OperationRepository);
  }

  get events(): EventRepository {
    return this.repository('events', EventRepository);
  }

  get alerts(): AlertRepository {
    return this.repository('alerts', AlertRepository);
  }

  get notifiers(): NotifierRepository {
    return this.repository('notifiers', NotifierRepository);
  }

  get dialTargets(): DialTargetRepository {
    return this.repository('dialTargets', DialTargetRepository);
  }

  get audit(): AuditRepository {
    return this.repository('audit', AuditRepository);
  }

  get apiKeys(): ApiKeyRepository {
    return this.repository('apiKeys', ApiKeyRepository);
  }

  get activationTokens(): ActivationTokenRepository {
    return this.repository('activationTokens', ActivationTokenRepository);
  }

  get systemSettings(): SystemSettingRepository {
    return this.repository('systemSettings', SystemSettingRepository);
  }

  get certificateAuthority(): CertificateAuthorityRepository {
    return this.repository('certificateAuthority', CertificateAuthorityRepository);
  }

  get consoleUsers(): ConsoleUserRepository {
    return this.repository('consoleUsers', ConsoleUserRepository);
  }

  get managerNodes(): ManagerNodeRepository {
    return this.repository('managerNodes', ManagerNodeRepository);
  }

  get retention(): RetentionRepository {
    return this.repository('retention', RetentionRepository);
  }
}

class KyselyTransaction extends RepositorySet implements StoreTransaction {
  private depth = 0;
  /**
   * Savepoints opened on the direct connection and not begun yet, outermost first: each is begun
   * only before the first write inside it ({@link beginDeferred}), so one that only reads costs
   * no statement.
   */
  private readonly deferred: string[] = [];

  constructor(
    private readonly trx: Kysely<Database>,
    private readonly session: StoreSession,
  ) {
    super(session);
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    // SAVEPOINT, ROLLBACK TO and RELEASE are the same in SQLite and PostgreSQL; run as written
    // (a heartbeat takes several: hand-sql.ts on why not through Kysely's compiler), directly
    // on the connection where the engine allows it (StoreSession.directFor).
    const name = `"palisade_sp${++this.depth}"`;
    const direct = this.session.directFor(false);
    const run = direct
      ? async (text: string) => direct.run(text, [])
      : (text: string) => this.trx.executeQuery(CompiledQuery.raw(text));
    try {
      // On the direct connection (SQLite) a statement that fails changes nothing, and the
      // transaction goes on: until `fn` writes, there is nothing to roll back, and the savepoint
      // is begun only then (most of a heartbeat's contained shares only read). PostgreSQL aborts
      // the whole transaction on any failed statement, reads included: there it is begun first.
      if (direct) this.deferred.push(name);
      else await run(`savepoint ${name}`);
      try {
        const out = await fn();
        if (!this.dropDeferred(name)) await run(`release savepoint ${name}`);
        return out;
      } catch (e) {
        if (storageFault(e)) {
          const outcome = outcomes.get(this.trx);
          if (outcome) outcome.fault ??= e;
        }
        if (this.dropDeferred(name)) {
          // Nothing written inside it: nothing to undo, unless the engine ended the whole
          // transaction itself (below).
          if (direct?.idle()) throw new TransactionLostError(e, new Error('no transaction is active'));
          throw e;
        }
        try {
          await run(`rollback to savepoint ${name}`);
          await run(`release savepoint ${name}`);
        } catch (lost) {
          // On SQLITE_FULL and I/O errors SQLite may roll the whole transaction back by itself
          // (https://www.sqlite.org/lang_transaction.html, "Response To Errors Within A
          // Transaction"): then the savepoint is gone, and so is every write of the transaction.
          // The unit's own error says why; the enclosing transaction must fail with it.
          throw new TransactionLostError(e, lost);
        }
        throw e;
      }
    } finally {
      this.depth -= 1;
    }
  }

  /** Begins the deferred savepoints, outermost first: called before each write of this transaction. */
  beginDeferred(): void {
    if (this.deferred.length === 0) return;
    const direct = this.session.directFor(false)!;
    for (const name of this.deferred) direct.run(`savepoint ${name}`, []);
    this.deferred.length = 0;
  }

  /** Forgets `name` if it was never begun (nothing was written inside it); false if it was. */
  private dropDeferred(name: string): boolean {
    if (this.deferred.at(-1) !== name) return false;
    this.deferred.pop();
    return true;
  }
}

/**
 * What one transaction learnt about the storage: whether a write statement came back (only a
 * write that works shows writes work; savepoints and reads prove nothing), and the first
 * storage fault a unit met inside a savepoint (the transaction itself may still commit).
 */
class WriteOutcome implements KyselyPlugin {
  wrote = false;
  fault: unknown;
  /**
   * Told, just before it runs, of each statement that may write (anything but a SELECT): the
   * transaction begins its deferred savepoints (KyselyTransaction.beginDeferred).
   */
  beforeWrite: (() => void) | undefined;
  readonly #writes = new WeakSet<object>();

  transformQuery(args: PluginTransformQueryArgs) {
    const kind = args.node.kind;
    if (kind === 'InsertQueryNode' || kind === 'UpdateQueryNode' || kind === 'DeleteQueryNode')
      this.#writes.add(args.queryId);
    if (kind !== 'SelectQueryNode') this.beforeWrite?.();
    return args.node;
  }

  async transformResult<R>(args: { queryId: object; result: R }): Promise<R> {
    if (this.#writes.has(args.queryId)) this.wrote = true;
    return args.result;
  }
}

/** Each open transaction's connection → its outcome, for the savepoints run on it. */
const outcomes = new WeakMap<object, WriteOutcome>();

/**
 * Counts statements that run outside any transaction, and makes the writes among them durable
 * before they return (`durable`, see KyselyStore): installed on the store's own connection only.
 */
class AutocommitCounter implements KyselyPlugin {
  readonly #writes = new WeakSet<object>();

  constructor(
    private readonly counts: { autocommitReads: number; autocommitWrites: number },
    private readonly durable: (() => Promise<void>) | undefined,
  ) {}

  transformQuery(args: PluginTransformQueryArgs) {
    if (args.node.kind === 'SelectQueryNode') this.counts.autocommitReads += 1;
    else {
      this.counts.autocommitWrites += 1;
      if (this.durable) this.#writes.add(args.queryId);
    }
    return args.node;
  }

  async transformResult<R>(args: { queryId: object; result: R }): Promise<R> {
    if (this.durable && this.#writes.has(args.queryId)) await this.durable();
    return args.result;
  }
}

/** Makes commits durable after they returned (SQLite's WalSync). */
export interface CommitDurability {
  /** Resolves once every commit made before the call is on stable storage. */
  sync(): Promise<void>;
  /** The same, within SOON_SYNC_MS at most, sharing one sync with every other caller meanwhile. */
  soon(): Promise<void>;
  /** The same as {@link soon}, but at once when no commit reported so far is still waiting for a sync. */
  whenDurable(): Promise<void>;
  /** Syncs started so far. */
  readonly syncs: number;
  close(): Promise<void>;
}

/**
 * The one Store implementation, over Kysely: the unit of work hands out {@link RepositorySet}s
 * bound to a transaction, and the store itself is one bound to no transaction. The engine
 * comes in as a Kysely instance plus its {@link StoreDialect}; nothing here branches on which
 * engine it is.
 */
export class KyselyStore extends RepositorySet implements Store {
  private readonly session: StoreSession;
  private readonly counts: { transactions: number; autocommitReads: number; autocommitWrites: number };
  /** Whether writes work, from every transaction's outcome (`/healthz`, the log). */
  readonly writeHealth: StoreWriteHealth;
  /** See {@link Store.reads}: the repositories over `readDb`, or this store itself without one. */
  readonly reads: Repositories;

  constructor(
    /**
     * The engine's connection, typed by the schema. Repositories use it; so do the store's own
     * tests, to set up rows no repository writes. Transactions start here, so the autocommit
     * counter does not see their statements.
     */
    readonly db: Kysely<Database>,
    readonly dialect: StoreDialect,
    /**
     * A second connection for {@link reads} (SQLite: read-only, in a worker thread); absent: the
     * reads run on `db` (PostgreSQL's pool already runs them beside the writes).
     */
    private readonly readDb?: Kysely<Database>,
    /**
     * Present when a commit returns before it is on stable storage (SQLite, wal-sync.ts): resolves
     * once every commit made before the call is. Awaited after each transaction and each write
     * outside one, before either returns, so nothing is answered before it would survive power
     * loss. Absent: the commit itself is durable (PostgreSQL).
     */
    readonly durable?: CommitDurability,
    /**
     * `db`'s one connection itself (SQLite: better-sqlite3), on which the hand-written statements
     * (StoreSession.run) and savepoints run directly; absent: all go through Kysely.
     */
    connection?: DirectConnection,
  ) {
    const counts = { transactions: 0, autocommitReads: 0, autocommitWrites: 0 };
    // A read outside any transaction runs directly while the connection is in none. Asked while
    // one of the store's own is open (`open` counts them from their first statement until Kysely
    // returned from COMMIT), it waits in `waiting` and runs when that one ends (the group commit
    // begins its next batch only after that), unless another transaction has begun on the
    // connection by then: the read then takes Kysely's path, behind it.
    let open = 0;
    const waiting: Array<{ run: () => void; pass: () => void }> = [];
    const drain = () => {
      if (open > 0 || waiting.length === 0) return;
      const idle = connection !== undefined && !connection.inTransaction();
      // Another transaction already began (one queued in Kysely, or one begun on `db` itself):
      // the reads take Kysely's path, behind it.
      for (const w of waiting.splice(0)) (idle ? w.run : w.pass)();
    };
    const direct: DirectStatements | undefined = connection
      ? {
          run: connection.run,
          idle: () => !connection.inTransaction(),
          read: (text, parameters) =>
            new Promise((resolve, reject) => {
              const run = () => {
                try {
                  resolve(connection.run(text, parameters));
                } catch (e) {
                  reject(e);
                }
              };
              if (!connection.inTransaction()) run();
              else if (open > 0) waiting.push({ run, pass: () => resolve(null) });
              else resolve(null);
            }),
        }
      : undefined;
    const health = new StoreWriteHealth();
    const sync = durable ? () => durable.sync() : undefined;
    const autocommit = {
      read: () => {
        counts.autocommitReads += 1;
      },
      wrote: async () => {
        counts.autocommitWrites += 1;
        await sync?.();
      },
    };
    const session = StoreSession.outside(
      db.withPlugin(new AutocommitCounter(counts, sync)),
      dialect,
      async (fn, o) => {
        counts.transactions += 1;
        const outcome = new WriteOutcome();
        let thrown: { error: unknown } | undefined;
        let began = false;
        try {
          const out = await db
            .transaction()
            .execute(async (trx) => {
              began = true;
              open += 1;
              const watched = trx.withPlugin(outcome);
              outcomes.set(watched, outcome);
              try {
                return await fn(watched);
              } catch (error) {
                thrown = { error };
                throw error;
              }
            })
            .finally(() => {
              if (began) open -= 1;
              drain();
            });
          if (durable && o?.sync === 'soon')
            // Answered before the sync; a sync that fails still tells the store's health.
            void durable.soon().catch((e: unknown) => health.failed(e));
          else if (sync) await sync();
          if (outcome.fault) health.failed(outcome.fault);
          else if (outcome.wrote) health.succeeded();
          return out;
        } catch (e) {
          // When the engine ended the transaction itself (SQLite on SQLITE_FULL or an I/O error),
          // Kysely's ROLLBACK fails too ("cannot rollback - no transaction is active") and its
          // error would replace the one that says why: the caller gets the cause.
          const cause = thrown && e !== thrown.error ? thrown.error : e;
          health.failed(cause);
          throw cause;
        }
      },
      autocommit,
      direct,
    );
    super(session);
    this.session = session;
    this.counts = counts;
    this.writeHealth = health;
    this.reads = readDb
      ? new RepositorySet(StoreSession.outside(readDb, dialect, (fn) => readDb.transaction().execute(fn)))
      : this;
  }

  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({
      db: this.db,
      provider: migrationProvider(this.dialect),
    }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      const why = (error as Error).message ?? String(error);
      throw new Error(
        failed
          ? `database migration ${failed.migrationName} failed: ${why}`
          : `cannot open the ${this.dialect.name} store: ${why}`,
      );
    }
  }

  async close(): Promise<void> {
    await this.readDb?.destroy();
    await this.durable?.close();
    await this.db.destroy();
  }

  whenDurable(): Promise<void> | null {
    return this.durable ? this.durable.whenDurable() : null;
  }

  reclaimSpace(): Promise<void> {
    return this.dialect.reclaimSpace(this.db);
  }

  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, o?: TransactionOptions): Promise<T> {
    return this.session.atomically((trx) => {
      const outcome = outcomes.get(trx);
      let tx: KyselyTransaction | undefined;
      const written = {
        read: () => {},
        beforeWrite: () => tx?.beginDeferred(),
        wrote: () => {
          if (outcome) outcome.wrote = true;
        },
      };
      tx = new KyselyTransaction(trx, this.session.within(trx, written));
      if (outcome) outcome.beforeWrite = () => tx.beginDeferred();
      return fn(tx);
    }, o);
  }

  counters(): StoreCounters {
    return { ...this.counts, ...(this.durable ? { logSyncs: this.durable.syncs } : {}) };
  }
}
