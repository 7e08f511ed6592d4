import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KyselyStore } from '../store/kysely-store.js';
import { openPostgresStore } from '../store/postgres/postgres-store.js';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import { PostgresTestServer } from './postgres-test-server.js';

/** One empty, migrated database of a test, and more connections to it (other manager nodes). */
export interface TestDatabase {
  /** The first node's store. */
  readonly store: KyselyStore;
  /** The URL a manager (`--db`) would be given for it. */
  readonly url: string;
  /** Another store on the same database: a second manager node. Closed with the database. */
  connect(): KyselyStore;
  /** Closes every store opened on it and removes the database. */
  close(): Promise<void>;
}

/**
 * An SQL engine the store contract runs against (store-contract.test.ts: SQLite;
 * store-contract.pg.test.ts: a real PostgreSQL server the suite starts).
 */
export interface StoreEngine {
  readonly name: 'sqlite' | 'postgres';
  /** A new empty database, migrated (`migrate: false`: no tables at all, for migration tests). */
  database(o?: { migrate?: boolean }): Promise<TestDatabase>;
  /** Stops whatever the engine started (the PostgreSQL server). */
  close(): Promise<void>;
}

let counter = 0;

export function sqliteEngine(): StoreEngine {
  const dirs: string[] = [];
  return {
    name: 'sqlite',
    async database(o = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'palisade-store-'));
      dirs.push(dir);
      const file = join(dir, 'palisade.db');
      const stores: KyselyStore[] = [openSqliteStore(file)];
      if (o.migrate !== false) await stores[0]!.migrate();
      return {
        store: stores[0]!,
        url: `sqlite:${file}`,
        connect() {
          const s = openSqliteStore(file);
          stores.push(s);
          return s;
        },
        async close() {
          await Promise.all(stores.map((s) => s.close()));
          rmSync(dir, { recursive: true, force: true });
        },
      };
    },
    async close() {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

/** PostgreSQL: one server for the engine (started at the first database), a database for each test's use. */
export function postgresEngine(): StoreEngine {
  let server: Promise<PostgresTestServer> | undefined;
  return {
    name: 'postgres',
    async database(o = {}) {
      server ??= PostgresTestServer.start();
      const s = await server;
      const url = await s.createDatabase(`contract_${process.pid}_${++counter}`);
      const stores: KyselyStore[] = [openPostgresStore(url)];
      if (o.migrate !== false) await stores[0]!.migrate();
      return {
        store: stores[0]!,
        url,
        connect() {
          const st = openPostgresStore(url);
          stores.push(st);
          return st;
        },
        async close() {
          await Promise.all(stores.map((st) => st.close()));
        },
      };
    },
    async close() {
      if (server) await (await server).stop();
    },
  };
}
