import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * IP, MAC and port lists (issue 13): Deep Security's `/api/iplists`, `/maclists`, `/portlists`,
 * which firewall rules name by `…ListID`. One table, the kind in a column: the three resources
 * have the same members (`name`, `description`, `items`). Names are unique per kind, as scripts
 * find lists by name. `items` is the JSON list of entries as the operator wrote them; the store
 * never queries inside it. Portable DDL only.
 */
export const m0010FirewallLists = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createTable('firewall_lists')
      .addColumn('id', 'integer', dialect.idColumn)
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('description', 'text', (c) => c.notNull())
      .addColumn('items', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .addUniqueConstraint('firewall_lists_kind_name', ['kind', 'name'])
      .execute();
  },
});
