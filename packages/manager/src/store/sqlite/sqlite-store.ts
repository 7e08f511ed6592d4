import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { KyselyStore } from '../kysely-store.js';
import type { Database as Schema } from '../schema.js';
import type { StoreDialect } from '../store-dialect.js';
import { StatementCache } from './statement-cache.js';

/** SQLite's capabilities (see StoreDialect). */
export const SQLITE_DIALECT: StoreDialect = {
  name: 'sqlite',
  // INTEGER PRIMARY KEY AUTOINCREMENT never reuses an id, unlike a bare rowid.
  idColumn: (c) => c.primaryKey().autoIncrement(),
  rowLocking: false,
  syncIdentity: async () => {},
};

/**
 * The embedded store: one SQLite file. WAL lets API reads run while a heartbeat writes, and
 * `busy_timeout` makes a second process (the CLI beside a running manager) wait for the write
 * lock instead of failing with SQLITE_BUSY.
 */
export function openSqliteStore(file: string): KyselyStore {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // FULL: a heartbeat's events are acknowledged to the agent (which then deletes them) only
  // after COMMIT, so the commit must survive power loss, not only a process crash.
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('foreign_keys = ON');
  return new KyselyStore(
    new Kysely<Schema>({ dialect: new SqliteDialect({ database: new StatementCache(db) }) }),
    SQLITE_DIALECT,
  );
}
