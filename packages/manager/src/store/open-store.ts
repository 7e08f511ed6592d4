import type { KyselyStore } from './kysely-store.js';
import { openPostgresStore, type PostgresConnectOptions } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/** How the store named by a URL is reached beyond the URL itself. */
export type StoreConnectOptions = PostgresConnectOptions;

/** Whether a `--db` URL names a PostgreSQL database. */
export const isPostgresUrl = (url: string): boolean => /^postgres(ql)?:\/\//.test(url);

/**
 * Opens the store named by a URL: `sqlite:PATH` (or a bare path) for the embedded store,
 * `postgres://USER@HOST:PORT/DB` (or `postgresql://`) for a database several manager nodes
 * share (docs/scale-out.md). `create` (default true): make a SQLite store when there is none;
 * false throws StoreNotFoundError.
 */
export function openStore(url: string, o: StoreConnectOptions & { create?: boolean } = {}): Store {
  return openKyselyStore(url, o);
}

/** {@link openStore}, as the implementation: for what works below the repositories (db copy). */
export function openKyselyStore(url: string, o: StoreConnectOptions & { create?: boolean } = {}): KyselyStore {
  if (isPostgresUrl(url)) return openPostgresStore(url, { passwordFile: o.passwordFile, poolSize: o.poolSize });
  if (o.passwordFile) throw new Error('--db-password-file is for a postgres:// --db only');
  return openSqliteStore(sqliteFile(url), { create: o.create ?? true });
}

/** The file of a `sqlite:PATH` URL (or a bare path). */
export function sqliteFile(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url))
    throw new Error(`"${url}" is not a store URL; use sqlite:PATH or postgres://USER@HOST:PORT/DB`);
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (!path) throw new Error(`--db "${url}": give a file path, e.g. sqlite:./data/palisade.db`);
  return path;
}
