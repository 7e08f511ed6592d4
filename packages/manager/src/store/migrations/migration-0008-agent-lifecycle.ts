import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Agents as installed software (issue 14). Portable DDL only.
 *
 * - Activation tokens can be revoked and say what they were made for (a deployment script,
 *   the first run, the CLI), so a list of them means something to the operator.
 * - `computer_identities`: the agent's stable host identity (`hostGUID`, made once per install
 *   and kept across resets) and the continuity token the manager rotates at every heartbeat,
 *   which is how two live copies of one agent (a cloned VM) give themselves away. A table of
 *   its own rather than columns on `computers`, which the store rebuild owns.
 * - `revoked_certificates`: serials of computers that were deleted after deactivation, so that
 *   forgetting a computer never un-revokes its certificate ("reactivate unknown agents" applies
 *   to serials the manager never issued a record for, e.g. after restoring an old backup).
 * - `agent_upgrades`: the upgradeAgent action per computer and its outcome.
 */
export const m0008AgentLifecycle = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    await db.schema.alterTable('activation_tokens').addColumn('revoked_at', 'bigint').execute();
    await db.schema
      .alterTable('activation_tokens')
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .execute();
    await db.schema
      .createTable('computer_identities')
      .addColumn('computer_id', 'integer', (c) => c.primaryKey().references('computers.id').onDelete('cascade'))
      .addColumn('host_guid', 'text', (c) => c.notNull())
      // SHA-256 of the continuity tokens (never the tokens themselves): the one handed out last and the one before.
      .addColumn('continuity_current', 'text')
      .addColumn('continuity_previous', 'text')
      .addColumn('clone_detected_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('computer_identities_host_guid')
      .on('computer_identities')
      .column('host_guid')
      .execute();
    await db.schema
      .createTable('revoked_certificates')
      .addColumn('serial', 'text', (c) => c.primaryKey())
      .addColumn('computer_id', 'integer', (c) => c.notNull())
      .addColumn('revoked_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('agent_upgrades')
      .addColumn('id', 'integer', dialect.idColumn)
      .addColumn('computer_id', 'integer', (c) => c.notNull().references('computers.id').onDelete('cascade'))
      .addColumn('from_version', 'text', (c) => c.notNull())
      .addColumn('to_version', 'text', (c) => c.notNull())
      .addColumn('package_file', 'text', (c) => c.notNull())
      .addColumn('sha256', 'text', (c) => c.notNull())
      // pending → sent → succeeded | failed | rolled-back; superseded when a newer one replaces it.
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('reason', 'text')
      .addColumn('requested_by', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .addColumn('completed_at', 'bigint')
      .execute();
    await db.schema
      .createIndex('agent_upgrades_computer')
      .on('agent_upgrades')
      .columns(['computer_id', 'status'])
      .execute();
  },
});
