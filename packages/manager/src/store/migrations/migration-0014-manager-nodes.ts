import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Manager nodes (issue 17): every manager process sharing the database registers itself here
 * and refreshes `last_seen`; another node that finds it stale marks it offline (a conditional
 * update, so one node wins the transition and raises the one alert). `agent_addresses` are the
 * `dsm://` URLs agents are told, in their configuration, to try in order. Portable DDL only.
 */
export const m0014ManagerNodes = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createTable('manager_nodes')
      .addColumn('id', 'integer', dialect.idColumn)
      .addColumn('name', 'text', (c) => c.notNull().unique())
      // JSON arrays: the names the node's certificate carries, and the URLs agents use.
      .addColumn('hostnames', 'text', (c) => c.notNull())
      .addColumn('agent_addresses', 'text', (c) => c.notNull())
      .addColumn('version', 'text', (c) => c.notNull())
      .addColumn('started_at', 'bigint', (c) => c.notNull())
      .addColumn('last_seen', 'bigint', (c) => c.notNull())
      // Set by the node that found `last_seen` stale; cleared by the node's next beat.
      .addColumn('offline_since', 'bigint')
      .execute();
  },
});
