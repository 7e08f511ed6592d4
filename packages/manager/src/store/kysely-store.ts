import { type Kysely, type KyselyPlugin, Migrator, type PluginTransformQueryArgs, sql } from 'kysely';
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
import { SystemSettingRepository } from './repositories/system-setting-repository.js';
import type { Database } from './schema.js';
import type { Repositories, Store, StoreCounters, StoreTransaction } from './store.js';
import type { StoreDialect } from './store-dialect.js';
import { StoreSession } from './store-session.js';

/** The repositories over one session. */
class RepositorySet implements Repositories {
  readonly computers: ComputerRepository;
  readonly policies: PolicyRepository;
  readonly firewall: FirewallRepository;
  readonly firewallLists: FirewallListRepository;
  readonly operations: OperationRepository;
  readonly events: EventRepository;
  readonly alerts: AlertRepository;
  readonly notifiers: NotifierRepository;
  readonly dialTargets: DialTargetRepository;
  readonly audit: AuditRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly activationTokens: ActivationTokenRepository;
  readonly systemSettings: SystemSettingRepository;
  readonly certificateAuthority: CertificateAuthorityRepository;
  readonly consoleUsers: ConsoleUserRepository;
  readonly managerNodes: ManagerNodeRepository;

  constructor(session: StoreSession) {
    this.computers = new ComputerRepository(session);
    this.policies = new PolicyRepository(session);
    this.firewall = new FirewallRepository(session);
    this.firewallLists = new FirewallListRepository(session);
    this.operations = new OperationRepository(session);
    this.events = new EventRepository(session);
    this.alerts = new AlertRepository(session);
    this.notifiers = new NotifierRepository(session);
    this.dialTargets = new DialTargetRepository(session);
    this.audit = new AuditRepository(session);
    this.apiKeys = new ApiKeyRepository(session);
    this.activationTokens = new ActivationTokenRepository(session);
    this.systemSettings = new SystemSettingRepository(session);
    this.certificateAuthority = new CertificateAuthorityRepository(session);
    this.consoleUsers = new ConsoleUserRepository(session);
    this.managerNodes = new ManagerNodeRepository(session);
  }
}

class KyselyTransaction extends RepositorySet implements StoreTransaction {
  private depth = 0;

  constructor(
    private readonly trx: Kysely<Database>,
    session: StoreSession,
  ) {
    super(session);
  }

  async savepoint<T>(fn: () => Promise<T>): Promise<T> {
    // SAVEPOINT, ROLLBACK TO and RELEASE are the same in SQLite and PostgreSQL.
    const name = sql.id(`palisade_sp${++this.depth}`);
    try {
      await sql`savepoint ${name}`.execute(this.trx);
      try {
        const out = await fn();
        await sql`release savepoint ${name}`.execute(this.trx);
        return out;
      } catch (e) {
        await sql`rollback to savepoint ${name}`.execute(this.trx);
        await sql`release savepoint ${name}`.execute(this.trx);
        throw e;
      }
    } finally {
      this.depth -= 1;
    }
  }
}

/** Counts statements that run outside any transaction: installed on the store's own connection only. */
class AutocommitCounter implements KyselyPlugin {
  constructor(private readonly counts: { autocommitReads: number; autocommitWrites: number }) {}

  transformQuery(args: PluginTransformQueryArgs) {
    if (args.node.kind === 'SelectQueryNode') this.counts.autocommitReads += 1;
    else this.counts.autocommitWrites += 1;
    return args.node;
  }

  async transformResult<R>(args: { result: R }): Promise<R> {
    return args.result;
  }
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

  constructor(
    /**
     * The engine's connection, typed by the schema. Repositories use it; so do the store's own
     * tests, to set up rows no repository writes. Transactions start here, so the autocommit
     * counter does not see their statements.
     */
    readonly db: Kysely<Database>,
    readonly dialect: StoreDialect,
  ) {
    const counts = { transactions: 0, autocommitReads: 0, autocommitWrites: 0 };
    const session = StoreSession.outside(db.withPlugin(new AutocommitCounter(counts)), dialect, (fn) => {
      counts.transactions += 1;
      return db.transaction().execute(fn);
    });
    super(session);
    this.session = session;
    this.counts = counts;
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

  close(): Promise<void> {
    return this.db.destroy();
  }

  reclaimSpace(): Promise<void> {
    return this.dialect.reclaimSpace(this.db);
  }

  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>): Promise<T> {
    return this.session.atomically((trx) => fn(new KyselyTransaction(trx, this.session.within(trx))));
  }

  counters(): StoreCounters {
    return { ...this.counts };
  }
}
