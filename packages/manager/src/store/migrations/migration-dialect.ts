import type { ColumnDefinitionBuilder } from 'kysely';

/**
 * What differs between engines in DDL, as capabilities rather than `if (postgres)` branches.
 * Only the surrogate key does: SQLite's `INTEGER PRIMARY KEY AUTOINCREMENT` (never reuses an
 * id, unlike a bare rowid) versus PostgreSQL's identity column.
 */
export interface MigrationDialect {
  readonly idColumn: (col: ColumnDefinitionBuilder) => ColumnDefinitionBuilder;
}
