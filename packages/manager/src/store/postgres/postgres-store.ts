import { readFileSync } from 'node:fs';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { parse as parseConnectionString } from 'pg-connection-string';
import { KyselyStore } from '../kysely-store.js';
import type { Database as Schema } from '../schema.js';
import type { StoreDialect } from '../store-dialect.js';

/** PostgreSQL's capabilities (see StoreDialect). */
export const POSTGRES_DIALECT: StoreDialect = {
  name: 'postgres',
  // BY DEFAULT rather than ALWAYS: `db copy` inserts the source's ids as they are, then moves
  // the sequence past them (syncIdentity).
  idColumn: (c) => c.primaryKey().generatedByDefaultAsIdentity(),
  rowLocking: true,
  numberedPlaceholders: true,
  // xid8 has no cast to bigint; through text it is exact (values stay far below 2^53).
  // pg_current_xact_id() is the top-level transaction's id, also inside a savepoint.
  transactionIdDefault: () => sql<number>`(pg_current_xact_id()::text::bigint)`,
  feedHorizon: () => sql<number>`(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)`,
  async syncIdentity(db, table) {
    // setval(…, max, true): the next id is max + 1; on an empty table, 1 (is_called false).
    await sql`select setval(pg_get_serial_sequence(${table}, 'id'), coalesce((select max(id) from ${sql.table(table)}), 0) + 1, false)`.execute(
      db,
    );
  },
  async reclaimSpace(db) {
    // VACUUM FULL rewrites every table from its live rows, so values overwritten when plaintext
    // secrets were sealed in place are left in no dead tuple (PostgreSQL manual, VACUUM).
    await sql`vacuum full`.execute(db);
  },
};

/** Where the password comes from when the URL has none (`--db-password-file`). */
export interface PostgresConnectOptions {
  /** A file whose first line is the password (a trailing newline is not part of it). */
  passwordFile?: string | undefined;
  /** Connections in the pool; default 10. */
  poolSize?: number | undefined;
}

// node-postgres hands BIGINT (int8, oid 20) and NUMERIC (1700) back as strings, since they may
// exceed 2^53. Every BIGINT here is epoch ms, a count or an id, all far below it: read them as
// numbers, so both engines give the same records. Per pool, never the driver's global parsers.
const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8 || oid === NUMERIC
      ? (v: string) => Number(v)
      : pg.types.getTypeParser(oid, format as 'text')) as typeof pg.types.getTypeParser,
};

/**
 * The connection settings of a `postgres://USER[:PASSWORD]@HOST[:PORT]/DB[?sslmode=…]` URL. The
 * password is the URL's, else `passwordFile`'s first line, else `PGPASSWORD` (read by the
 * driver). `sslmode` means what it means to libpq (PostgreSQL docs, "SSL Support"): `require`
 * encrypts, `verify-ca` also checks the server's certificate against `sslrootcert`,
 * `verify-full` also its host name; absent or `disable`: no TLS.
 */
export function postgresConfig(url: string, o: PostgresConnectOptions = {}): pg.PoolConfig {
  let parsed: ReturnType<typeof parseConnectionString>;
  try {
    parsed = parseConnectionString(url, { useLibpqCompat: true });
  } catch (e) {
    throw new Error(`--db "${redact(url)}": ${(e as Error).message}`);
  }
  if (!parsed.database)
    throw new Error(`--db "${redact(url)}": name the database, e.g. postgres://palisade@db:5432/palisade`);
  const config: pg.PoolConfig = {
    ...(parsed.host ? { host: parsed.host } : {}),
    ...(parsed.port ? { port: Number(parsed.port) } : {}),
    ...(parsed.user ? { user: parsed.user } : {}),
    ...(parsed.password ? { password: parsed.password } : {}),
    database: parsed.database,
    ...(parsed.ssl !== undefined ? { ssl: parsed.ssl as pg.PoolConfig['ssl'] & {} } : {}),
    ...(parsed.options ? { options: parsed.options } : {}),
    max: o.poolSize ?? 10,
    types,
    application_name: 'palisade-manager',
  };
  if (parsed.password && o.passwordFile)
    throw new Error('--db-password-file given, but the --db URL carries a password already: use one of them');
  let password = parsed.password || undefined;
  if (!password && o.passwordFile) {
    let text: string;
    try {
      text = readFileSync(o.passwordFile, 'utf8');
    } catch (e) {
      throw new Error(
        `--db-password-file ${o.passwordFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      );
    }
    password = text.split(/\r?\n/)[0] ?? '';
    if (!password) throw new Error(`--db-password-file ${o.passwordFile}: the first line is empty`);
  }
  password ??= process.env.PGPASSWORD || undefined;
  // Asked for only when the server wants one (trust and peer authentication do not).
  config.password = async () => {
    if (password !== undefined) return password;
    throw new Error(
      'the database asks for a password and none was given: put it in the --db URL, --db-password-file or PGPASSWORD',
    );
  };
  return config;
}

/** The URL without its password, for messages. */
export function redact(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:/@]*):[^@]*@/, '$1:***@');
}

/**
 * A store on a PostgreSQL database that several manager nodes may share. Transactions run at
 * READ COMMITTED, PostgreSQL's default: the repositories' claims are conditional updates and
 * `FOR UPDATE SKIP LOCKED`, correct at that level.
 */
export function openPostgresStore(url: string, o: PostgresConnectOptions = {}): KyselyStore {
  const pool = new pg.Pool(postgresConfig(url, o));
  // An idle connection the server dropped (restart, failover) must not crash the process; the
  // pool replaces it, and the next query reports a real failure if there is one.
  pool.on('error', () => {});
  return new KyselyStore(new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) }), POSTGRES_DIALECT);
}
