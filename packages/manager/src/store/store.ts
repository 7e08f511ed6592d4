import type { ActivationTokenRepository } from './repositories/activation-token-repository.js';
import type { AlertRepository } from './repositories/alert-repository.js';
import type { ApiKeyRepository } from './repositories/api-key-repository.js';
import type { AuditRepository } from './repositories/audit-repository.js';
import type { CertificateAuthorityRepository } from './repositories/certificate-authority-repository.js';
import type { ComputerRepository } from './repositories/computer-repository.js';
import type { ConsoleUserRepository } from './repositories/console-user-repository.js';
import type { DialTargetRepository } from './repositories/dial-target-repository.js';
import type { EventRepository } from './repositories/event-repository.js';
import type { FirewallListRepository } from './repositories/firewall-list-repository.js';
import type { FirewallRepository } from './repositories/firewall-repository.js';
import type { ManagerNodeRepository } from './repositories/manager-node-repository.js';
import type { NotifierRepository } from './repositories/notifier-repository.js';
import type { OperationRepository } from './repositories/operation-repository.js';
import type { PolicyRepository } from './repositories/policy-repository.js';
import type { RetentionRepository } from './repositories/retention-repository.js';
import type { SystemSettingRepository } from './repositories/system-setting-repository.js';
import type { StoreWriteHealth } from './store-write-health.js';
import type { TransactionOptions } from './transaction-options.js';

// The records the repositories hand out, importable from the contract itself.
export type { ActivationTokenRecord, TokenCheck } from './repositories/activation-token-repository.js';
export type {
  AlertAction,
  AlertChange,
  AlertRecord,
  NewAlert,
  OpenAlert,
  PendingAlertNotification,
} from './repositories/alert-repository.js';
export type { ApiKeyRecord } from './repositories/api-key-repository.js';
export {
  AUDIT_TARGET_TYPES,
  type AuditAction,
  type AuditEventRecord,
  type AuditTargetType,
  type NewAuditEvent,
} from './repositories/audit-repository.js';
export type { StoredCertificateAuthority } from './repositories/certificate-authority-repository.js';
export {
  type AgentComputerRecord,
  COMPUTER_SORT_KEYS,
  type ComputerPageQuery,
  type ComputerRecord,
  type ComputerSortKey,
  type ComputerStatusGroup,
  type HeartbeatRecorded,
  type HeartbeatWrite,
  type NewComputer,
  type OfflineRow,
  type ReportingComputer,
  type TlsCertificateType,
} from './repositories/computer-repository.js';
export type {
  ConsoleRole,
  ConsoleSessionRecord,
  ConsoleUserRecord,
} from './repositories/console-user-repository.js';
export type {
  ClaimedDial,
  ContactNote,
  DialTargetRecord,
} from './repositories/dial-target-repository.js';
export type { EventQuery, EventRecord, PendingEvent, ReportedEvent } from './repositories/event-repository.js';
export type { FirewallListRecord, FirewallListWrite } from './repositories/firewall-list-repository.js';
export type {
  FirewallAssignmentRows,
  FirewallRuleRecord,
  FirewallRuleUsage,
} from './repositories/firewall-repository.js';
export type { ManagerNodeRecord, NodeRegistration } from './repositories/manager-node-repository.js';
export type {
  NotifierRecord,
  NotifierSettings,
  Severity,
  SyslogSettings,
  WebhookSettings,
  WebhookTarget,
} from './repositories/notifier-repository.js';
export type { OperationRecord } from './repositories/operation-repository.js';
export type { PolicyRecord } from './repositories/policy-repository.js';
export type { PruneBatch } from './repositories/retention-repository.js';
export { SOON_SYNC_MS, type TransactionOptions } from './transaction-options.js';

/**
 * The repositories, one per aggregate. The same set is reachable on the store (each statement
 * on its own, or a multi-statement method in a transaction of its own) and on a transaction
 * (every statement in it). Times are epoch ms.
 */
export interface Repositories {
  readonly computers: ComputerRepository;
  readonly policies: PolicyRepository;
  readonly firewall: FirewallRepository;
  /** IP, MAC and port lists that firewall rules name. */
  readonly firewallLists: FirewallListRepository;
  readonly operations: OperationRepository;
  readonly events: EventRepository;
  /** Alerts and their outbox (the monitor's). */
  readonly alerts: AlertRepository;
  readonly notifiers: NotifierRepository;
  /** The dialer's schedule: how and when the manager calls each computer. */
  readonly dialTargets: DialTargetRepository;
  readonly audit: AuditRepository;
  readonly apiKeys: ApiKeyRepository;
  readonly activationTokens: ActivationTokenRepository;
  readonly systemSettings: SystemSettingRepository;
  readonly certificateAuthority: CertificateAuthorityRepository;
  /** Console users and their sessions. */
  readonly consoleUsers: ConsoleUserRepository;
  /** The manager nodes sharing the database, and the agent address list they advertise. */
  readonly managerNodes: ManagerNodeRepository;
  /** Retention's pruning: bounded batches, safe on several nodes at once. */
  readonly retention: RetentionRepository;
}

/**
 * One unit of work: the repositories bound to one transaction. Everything written through them
 * commits together when the function given to {@link Store.transaction} resolves, and nothing
 * does when it throws.
 */
export interface StoreTransaction extends Repositories {
  /**
   * Runs `fn` under a savepoint: if it throws, what it wrote is undone and the error rethrown,
   * and the transaction goes on (the caller decides whether to). For work that must not fail
   * the transaction it rides in (the monitor's and the dialer's share of a heartbeat).
   * Savepoints nest; run them one after the other, never concurrently.
   */
  savepoint<T>(fn: () => Promise<T>): Promise<T>;
}

/** Counters since the store was opened (metrics, and tests that count transactions). */
export interface StoreCounters {
  /** Transactions begun: by {@link Store.transaction}, and by multi-statement methods called outside one. */
  readonly transactions: number;
  /** Statements run outside any transaction that only read. */
  readonly autocommitReads: number;
  /** Statements run outside any transaction that write (each commits on its own). */
  readonly autocommitWrites: number;
  /**
   * Syncs of the write-ahead log the store made itself after commits (SQLite: wal-sync.ts, each
   * one `fdatasync` covering every commit before it); absent where the commit syncs (PostgreSQL).
   */
  readonly logSyncs?: number;
}

/**
 * The manager's datastore: the repositories, and the unit of work that hands them out bound to
 * one transaction. One implementation over Kysely serves every SQL engine; engines differ only
 * by the dialect (StoreDialect) handed to it, so a new one touches no caller.
 */
export interface Store extends Repositories {
  /** Applies pending migrations; safe to call on every start and from several nodes. */
  migrate(): Promise<void>;
  close(): Promise<void>;
  /**
   * Runs `fn` in one transaction. Inside `fn`, use only the repositories of `tx` — on SQLite
   * the transaction holds the one connection, so a statement through the store itself waits
   * for the transaction and never returns.
   */
  transaction<T>(fn: (tx: StoreTransaction) => Promise<T>, o?: TransactionOptions): Promise<T>;
  counters(): StoreCounters;
  /**
   * Resolves once every commit that returned before the call (a transaction, a write outside
   * one) is on stable storage: at once when they all are, else with the sync that `sync: 'soon'`
   * commits share (SQLite: within SOON_SYNC_MS, wal-sync.ts). Null where every commit is durable
   * when it returns (PostgreSQL). Tells the ingest when a continuity rotation
   * answered before its sync can no longer be lost (ingest.ts, `reportSync`).
   */
  whenDurable(): Promise<void> | null;
  /**
   * The repositories for reads that may take long and need not be in a transaction with
   * anything (the API's lists of events, alerts and audit rows): on a SQLite file, a second,
   * read-only connection in a worker thread, so a scan waits for neither the write connection
   * nor holds it, nor the event loop, while heartbeats commit (WAL lets both run); elsewhere
   * (PostgreSQL's pool, `:memory:`) the store itself. They see what committed before they
   * start; never write through them (SQLite refuses it).
   */
  readonly reads: Repositories;
  /** Whether writes work, as the last transaction found out (disk full, I/O errors): `/healthz` and the log. */
  readonly writeHealth: StoreWriteHealth;
  /**
   * Rewrites the database so that deleted and overwritten values (plaintext secrets sealed in
   * place on upgrade) linger in no free page or log. Slow on a big database: for one-off
   * maintenance, never on a request path.
   */
  reclaimSpace(): Promise<void>;
}
