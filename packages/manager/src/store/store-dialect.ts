import type { Kysely, RawBuilder } from 'kysely';
import type { MigrationDialect } from './migrations/migration-dialect.js';
import type { Database } from './schema.js';

/**
 * What differs between SQL engines, as capabilities rather than `if (postgres)` branches (the
 * way kysely's dialect adapters do it). Repositories read these flags; each engine's folder
 * (`sqlite/`, `postgres/`) hands its own to the one store implementation over Kysely, so
 * adding an engine touches no repository's caller.
 */
export interface StoreDialect extends MigrationDialect {
  /** Short name for logs and errors (`sqlite`). */
  readonly name: string;
  /**
   * The engine can lock candidate rows and skip rows other nodes locked
   * (`SELECT … FOR UPDATE SKIP LOCKED`, PostgreSQL). Without it (SQLite, one writer at a time)
   * a claim's conditional UPDATE alone decides: a row another node claimed first no longer
   * matches and is simply not returned.
   */
  readonly rowLocking: boolean;
  /** Placeholders are numbered (`$1`, PostgreSQL) rather than `?` (SQLite): see HandSql. */
  readonly numberedPlaceholders: boolean;
  /**
   * Present when ids can become visible out of the order they were taken (concurrent writers:
   * PostgreSQL): the id of the oldest transaction still running, as the statement sees it. Rows
   * of older transactions are final; feeds read only those (feed-position.ts). Absent (SQLite):
   * ids become visible in order.
   */
  readonly feedHorizon?: () => RawBuilder<number>;
  /**
   * Rewrites the storage so that deleted and overwritten values leave nothing behind in free
   * pages or a log (after plaintext secrets were sealed in place). Outside any transaction.
   */
  reclaimSpace(db: Kysely<Database>): Promise<void>;
}
