import type { ColumnDefinitionBuilder, Kysely, RawBuilder } from 'kysely';

/**
 * What differs between engines in DDL, as capabilities rather than `if (postgres)` branches:
 * the surrogate key, SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` (never reuses an id, unlike a
 * bare rowid) versus PostgreSQL's identity column, and so what must follow rows inserted with
 * their ids given.
 */
export interface MigrationDialect {
  readonly idColumn: (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
  /**
   * After rows were inserted with their ids given (a table rebuilt by a migration, `db copy`),
   * makes the next generated id of `table` follow the largest one. SQLite's AUTOINCREMENT does
   * so by itself; a PostgreSQL identity column's sequence does not move.
   */
  syncIdentity(db: MigrationDb, table: string): Promise<void>;
  /**
   * Where ids can commit out of the order they were taken (PostgreSQL): the inserting
   * transaction's id, as a column default, for the feeds' `tx` (store/feed-position.ts). Absent
   * (SQLite, one writer): feeds are read by id and `tx` stays 0.
   */
  readonly transactionIdDefault?: () => RawBuilder<number>;
}

/**
 * The database a migration runs against: untyped, because a migration must work against the
 * schema as it was when it was written, not today's typed one (Kysely's migration guide).
 */
// biome-ignore lint/suspicious/noExplicitAny: the one untyped handle, for the reason above
export type MigrationDb = Kysely<any>;
