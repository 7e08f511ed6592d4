import { chmodSync, closeSync, existsSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  SqliteDialect,
  type SqliteDialectConfig,
  SqliteDriver,
  sql,
} from 'kysely';
import { KyselyStore } from '../kysely-store.js';
import type { Database as Schema } from '../schema.js';
import type { StoreDialect } from '../store-dialect.js';
import { StoreNotFoundError } from '../store-not-found-error.js';
import { rowsOf } from './row-maker.js';
import { sqliteReadDialect } from './sqlite-read-connection.js';
import { StatementCache } from './statement-cache.js';
import { WalSync } from './wal-sync.js';

/** SQLite's capabilities (see StoreDialect). */
export const SQLITE_DIALECT: StoreDialect = {
  name: 'sqlite',
  // INTEGER PRIMARY KEY AUTOINCREMENT never reuses an id, unlike a bare rowid.
  idColumn: (c) => c.primaryKey().autoIncrement(),
  rowLocking: false,
  numberedPlaceholders: false,
  syncIdentity: async () => {},
  async reclaimSpace(db) {
    // VACUUM rebuilds the file from the live rows only; the checkpoint then empties the WAL,
    // which held the old pages and the rebuilt ones.
    await sql`vacuum`.execute(db);
    await sql`pragma wal_checkpoint(TRUNCATE)`.execute(db);
  },
};

/**
 * Kysely's SQLite dialect, with transactions that take the write lock when they begin
 * (`BEGIN IMMEDIATE`). A deferred BEGIN takes it at the first write, and in WAL mode a transaction
 * that read before another process committed cannot take it at all (SQLITE_BUSY_SNAPSHOT, which
 * `busy_timeout` does not wait out): a heartbeat's transaction reads its computer first, and the
 * CLI may write beside a running manager. Nearly every transaction on this connection writes;
 * API reads have a connection of their own (Store.reads).
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;

  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }

  override createDriver(): Driver {
    return new (class extends SqliteDriver {
      override async beginTransaction(connection: DatabaseConnection): Promise<void> {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      }
    })(this.#config);
  }
}

/**
 * The database file and its WAL and shared-memory files: 0600, the store holding what an
 * attacker wants (hashes, alerts, sealed secrets). SQLite gives the -wal and -shm files the
 * main file's mode (os_unix.c, findCreateFileMode), so creating the main file 0600 covers
 * them; files a release before this one left 0644 are tightened here.
 */
function prepareFile(file: string, create: boolean): void {
  if (!existsSync(file)) {
    if (!create)
      throw new StoreNotFoundError(
        `no store at ${file}: check --data-dir and --db (only "palisade-manager start" creates a store)`,
      );
    closeSync(openSync(file, 'a', 0o600));
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      if ((statSync(f).mode & 0o077) !== 0) chmodSync(f, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  }
}

/**
 * Log pages after which a commit checkpoints the write-ahead log into the database and the next
 * write starts it over (SQLite's default: 1,000). The checkpoint runs inside that commit, on the
 * event loop: it syncs the log, copies the newest version of each page the log holds, and syncs
 * the database. A sync costs about 5 ms here however little it writes, and the pages every
 * heartbeat writes again — the newest leaves of the `last_communication` and offline-deadline
 * indexes, the b-trees' inner pages, a small fleet's rows — are copied once per checkpoint, not
 * once per write: fewer, larger checkpoints block the loop for less in all. Under the capacity
 * benchmark's load (`strace` of the manager, resumed sessions), 4,000 pages took the loop's
 * checkpoint syncs from 14 to 3.5 per 1,000 heartbeats (19 ms of waiting to 6) and the pages
 * copied from 279 to 212. The price: a log file of up to about 16 MiB,
 * and a longest stall of one checkpoint copying and syncing up to 16 MiB (the database's sync
 * alone about 23 ms on this machine's disk, against 10 for 4 MiB). docs/architecture.md "Durability".
 */
export const WAL_CHECKPOINT_PAGES = 4000;

/**
 * The embedded store: one SQLite file, created when absent unless `create` is false (then
 * {@link StoreNotFoundError}). WAL lets API reads run while a heartbeat writes, and
 * `busy_timeout` makes a second process (the CLI beside a running manager) wait for the write
 * lock instead of failing with SQLITE_BUSY.
 */
export function openSqliteStore(file: string, o: { create?: boolean } = {}): KyselyStore {
  if (file !== ':memory:') prepareFile(file, o.create ?? true);
  const db = new Database(file);
  const wal = db.pragma('journal_mode = WAL', { simple: true }) === 'wal';
  // A heartbeat's events are acknowledged to the agent (which then deletes them) only after
  // COMMIT, so the commit must survive power loss, not only a process crash: FULL, or NORMAL
  // with the WAL synced after each commit off the event loop (wal-sync.ts), the same sync.
  const walSync = wal ? new WalSync(`${file}-wal`) : undefined;
  db.pragma(walSync ? 'synchronous = NORMAL' : 'synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  if (wal) db.pragma(`wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES}`);
  const statements = new StatementCache(db);
  return new KyselyStore(
    new Kysely<Schema>({ dialect: new ImmediateSqliteDialect({ database: statements }) }),
    SQLITE_DIALECT,
    // API reads on a connection of their own (Store.reads); an in-memory database has no file
    // for a second connection to open.
    file === ':memory:' ? undefined : new Kysely<Schema>({ dialect: sqliteReadDialect(file) }),
    walSync,
    {
      run: (text, parameters) => {
        const st = statements.prepare(text);
        // A reader (a SELECT, or a write with RETURNING) gives its rows; a write how many it changed.
        if (st.reader) return { rows: rowsOf(st, parameters), changed: 0 };
        return { rows: [], changed: st.run(...parameters).changes };
      },
      inTransaction: () => db.inTransaction,
    },
  );
}
