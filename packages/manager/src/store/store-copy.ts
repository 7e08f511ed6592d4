import { existsSync } from 'node:fs';
import { type Kysely, sql } from 'kysely';
import type { KyselyStore } from './kysely-store.js';
import { isPostgresUrl, openKyselyStore, type StoreConnectOptions, sqliteFile } from './open-store.js';
import { redact } from './postgres/postgres-store.js';

/** The columns that hold a transaction of the engine (store/feed-position.ts), by table. */
const FEED_TX_COLUMNS: Readonly<Record<string, readonly string[]>> = {
  events: ['tx'],
  alert_notifications: ['tx'],
  notifiers: ['alert_cursor_tx', 'event_cursor_tx'],
};

/**
 * Every table of the manager, in an order that inserts a row after the rows its foreign keys
 * name, with the column that pages it (null: small enough to read at once) and whether its id
 * is generated. A migration that adds a table adds it here: {@link copyStore} refuses a source
 * with a table it does not know, rather than leave it behind.
 */
export const COPIED_TABLES: ReadonlyArray<{ name: string; key: string | null; identity: boolean }> = [
  { name: 'system_settings', key: 'key', identity: false },
  { name: 'certificate_authority', key: 'id', identity: false },
  { name: 'versions', key: 'name', identity: false },
  { name: 'policies', key: 'id', identity: true },
  { name: 'policy_settings', key: null, identity: false },
  { name: 'api_keys', key: 'id', identity: true },
  { name: 'activation_tokens', key: 'id', identity: true },
  { name: 'computers', key: 'id', identity: true },
  { name: 'computer_settings', key: null, identity: false },
  { name: 'computer_identities', key: 'computer_id', identity: false },
  { name: 'revoked_certificates', key: 'serial', identity: false },
  { name: 'agent_upgrades', key: 'id', identity: true },
  { name: 'events', key: 'id', identity: true },
  { name: 'operations', key: 'id', identity: true },
  { name: 'audit_events', key: 'id', identity: true },
  { name: 'alerts', key: 'id', identity: true },
  { name: 'alert_notifications', key: 'id', identity: true },
  { name: 'notifiers', key: 'id', identity: true },
  { name: 'dial_targets', key: 'computer_id', identity: false },
  { name: 'firewall_lists', key: 'id', identity: true },
  { name: 'firewall_rules', key: 'id', identity: true },
  { name: 'policy_firewall_rules', key: null, identity: false },
  { name: 'computer_firewall_rules', key: null, identity: false },
  { name: 'console_users', key: 'id', identity: true },
  { name: 'console_sessions', key: 'id_hash', identity: false },
];

/**
 * Tables that belong to the nodes of one database, not to the fleet: not copied. (Kysely's own
 * migration bookkeeping is written by the target's migrations.)
 */
const NOT_COPIED = new Set(['kysely_migration', 'kysely_migration_lock', 'manager_nodes']);

/** Rows read per page of the source. */
const PAGE = 5_000;
/** Bound parameters per INSERT: below PostgreSQL's 65,535 and SQLite's 32,766. */
const MAX_PARAMETERS = 30_000;

export interface CopyReport {
  tables: Array<{ name: string; rows: number }>;
}

// biome-ignore lint/suspicious/noExplicitAny: the copy moves every table by name, whatever its columns
type AnyDb = Kysely<any>;

async function count(db: AnyDb, table: string): Promise<number> {
  const r = await db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(r.n);
}

/**
 * Copies a whole manager store into an empty one (both migrated to the same schema): every
 * table, ids kept, in one transaction on the target, read from one consistent snapshot of the
 * source; then moves the target's id sequences past the copied ids and checks that every table
 * holds as many rows as the source. An agent's certificate, the CA that signed it and its
 * computer's row arrive together, so the fleet heartbeats to the new store without
 * reactivating. Refuses a target that holds anything (but the rows its migrations wrote).
 */
export async function copyStore(
  from: KyselyStore,
  to: KyselyStore,
  progress: (table: string, rows: number) => void = () => {},
): Promise<CopyReport> {
  const known = new Set(COPIED_TABLES.map((t) => t.name));
  const sourceTables = (await from.db.introspection.getTables()).map((t) => t.name);
  const unknown = sourceTables.filter((t) => !known.has(t) && !NOT_COPIED.has(t));
  if (unknown.length > 0) throw new Error(`the source has tables db copy does not know: ${unknown.join(', ')}`);
  const targetTables = new Set((await to.db.introspection.getTables()).map((t) => t.name));
  const missing = COPIED_TABLES.filter((t) => !targetTables.has(t.name)).map((t) => t.name);
  if (missing.length > 0) throw new Error(`the target lacks tables (not migrated?): ${missing.join(', ')}`);
  for (const t of COPIED_TABLES) {
    // The migrations seed `versions`; anything else means the target is in use.
    if (t.name === 'versions') continue;
    const n = await count(to.db, t.name);
    if (n > 0) throw new Error(`the target is not empty: ${t.name} has ${n} rows; db copy only fills an empty store`);
  }
  const present = COPIED_TABLES.filter((t) => sourceTables.includes(t.name));

  // One read transaction on the source: a snapshot, whatever writes arrive meanwhile.
  const expected = new Map<string, number>();
  await from.db.transaction().execute(async (srcTrx) => {
    await to.db.transaction().execute(async (dstTrx) => {
      const src: AnyDb = srcTrx;
      const dst: AnyDb = dstTrx;
      await dst.deleteFrom('versions').execute();
      for (const t of present) {
        let rows = 0;
        const deferredParents: Array<{ id: unknown; parent_id: unknown }> = [];
        const write = async (batch: Record<string, unknown>[]) => {
          if (batch.length === 0) return;
          // A policy may have been moved under one created after it: parents are set once all exist.
          if (t.name === 'policies') {
            for (const r of batch) if (r.parent_id !== null) deferredParents.push({ id: r.id, parent_id: r.parent_id });
            batch = batch.map((r) => ({ ...r, parent_id: null }));
          }
          // Feed positions (feed-position.ts) name transactions of the source's engine, which
          // mean nothing on the target: every copied row is final, so it is ordered by id
          // (tx 0), and so are the notifiers' cursors; new rows on the target follow them.
          const feedTx = FEED_TX_COLUMNS[t.name];
          if (feedTx) batch = batch.map((r) => ({ ...r, ...Object.fromEntries(feedTx.map((c) => [c, 0])) }));
          const per = Math.max(1, Math.floor(MAX_PARAMETERS / Object.keys(batch[0]!).length));
          for (let i = 0; i < batch.length; i += per)
            await dst
              .insertInto(t.name)
              .values(batch.slice(i, i + per))
              .execute();
          rows += batch.length;
          progress(t.name, rows);
        };
        if (t.key === null) {
          await write(await src.selectFrom(t.name).selectAll().execute());
        } else {
          let last: unknown;
          for (;;) {
            let q = src.selectFrom(t.name).selectAll().orderBy(t.key).limit(PAGE);
            if (last !== undefined) q = q.where(t.key, '>', last);
            const page = await q.execute();
            await write(page);
            if (page.length < PAGE) break;
            last = page[page.length - 1]![t.key];
          }
        }
        for (const p of deferredParents)
          await dst.updateTable('policies').set({ parent_id: p.parent_id }).where('id', '=', p.id).execute();
        if (t.identity) await to.dialect.syncIdentity(dst, t.name);
        expected.set(t.name, await count(src, t.name));
      }
    });
  });

  const tables: CopyReport['tables'] = [];
  const wrong: string[] = [];
  for (const t of present) {
    const n = await count(to.db, t.name);
    tables.push({ name: t.name, rows: n });
    if (n !== expected.get(t.name)) wrong.push(`${t.name}: ${expected.get(t.name)} in the source, ${n} copied`);
  }
  if (wrong.length > 0) throw new Error(`the copy does not match the source: ${wrong.join('; ')}`);
  // The planner's statistics for what was just bulk-loaded: without them PostgreSQL plans the
  // first heartbeats against tables it believes empty until autovacuum analyzes them (its
  // threshold counts inserted rows, so it comes, but a minute or more later). SQLite's
  // ANALYZE likewise. Both engines spell it the same.
  await sql`analyze`.execute(to.db);
  return { tables };
}

/**
 * `palisade-manager db copy`: opens both stores, brings both to the current schema, copies
 * (copyStore) and closes them. The source should be stopped: what it writes after the copy's
 * snapshot stays behind.
 */
export async function copyDatabase(
  o: { from: string; to: string; fromConnect?: StoreConnectOptions; toConnect?: StoreConnectOptions },
  progress?: (table: string, rows: number) => void,
): Promise<CopyReport> {
  if (o.from === o.to) throw new Error('--from and --to name the same store');
  // Opening a SQLite file that is not there would make an empty one, and copy nothing.
  if (!isPostgresUrl(o.from) && !existsSync(sqliteFile(o.from))) throw new Error(`--from ${o.from}: no such file`);
  const from = openKyselyStore(o.from, o.fromConnect);
  try {
    const to = openKyselyStore(o.to, o.toConnect);
    try {
      for (const [s, url] of [
        [from, o.from],
        [to, o.to],
      ] as const) {
        try {
          await s.migrate();
        } catch (e) {
          throw new Error(`store ${redact(url)}: ${(e as Error).message}`);
        }
      }
      return await copyStore(from, to, progress);
    } finally {
      await to.close();
    }
  } finally {
    await from.close();
  }
}
