import type { ColumnDefinitionBuilder, Kysely } from 'kysely';

/**
 * What differs between engines in DDL, as capabilities rather than `if (postgres)` branches.
 * Only the surrogate key does: SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` (never reuses an
 * id, unlike a bare rowid) versus PostgreSQL's identity column.
 */
export interface MigrationDialect {
  readonly idColumn: (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}

/**
 * The database a migration runs against: untyped, because a migration must work against the
 * schema as it was when it was written, not today's typed one (Kysely's migration guide).
 */
// biome-ignore lint/suspicious/noExplicitAny: the one untyped handle, for the reason above
export type MigrationDb = Kysely<any>;
