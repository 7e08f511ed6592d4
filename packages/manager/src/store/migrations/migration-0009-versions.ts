import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Version counters (issue 11): one row per cached shape, bumped in the same transaction as any
 * change to it, so every manager node sharing the database sees a change at its next read of
 * one small row. `policyTree` covers policies, their settings, their firewall assignments and
 * firewall rules: what the policy-tree cache (services/configuration-service.ts) holds. Its row
 * is also what a policy change locks first (PolicyRepository.lockTree). Portable DDL only.
 */
export const m0009Versions = (_dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createTable('versions')
      .addColumn('name', 'text', (c) => c.primaryKey())
      .addColumn('version', 'bigint', (c) => c.notNull())
      .execute();
    await db.insertInto('versions').values({ name: 'policyTree', version: 1 }).execute();
  },
});
