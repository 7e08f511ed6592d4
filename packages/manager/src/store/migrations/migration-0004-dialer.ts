import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Manager-initiated communication (issue 5; numbered after 0003 so databases that already ran it migrate in order): one row per computer the dialer may have to call,
 * holding what the dialer needs and nothing the heartbeat path reads. Due work is the index
 * range `next_dial_at <= now`, so the dialer never holds a timer per computer and a node's
 * poll costs what is due, not the fleet. Portable DDL only.
 */
export const m0004Dialer = (_dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    await db.schema
      .createTable('dial_targets')
      .addColumn('computer_id', 'integer', (c) => c.primaryKey().references('computers.id').onDelete('cascade'))
      // What the manager wants (the effective setting) and what the agent last said it does;
      // core's managerDialMode turns the pair into scheduled / on-demand / none.
      .addColumn('expected_direction', 'text', (c) => c.notNull())
      .addColumn('applied_direction', 'text')
      // The agent's listener as it reported it (null: not listening, or never said) ...
      .addColumn('listen_port', 'integer')
      .addColumn('listen_address', 'text')
      // ... and the configuration's listening port, dialled when the agent never reported one.
      .addColumn('default_port', 'integer', (c) => c.notNull())
      // Due when <= now; null = nothing scheduled (Agent Initiated, Bidirectional).
      .addColumn('next_dial_at', 'bigint')
      // A node's claim: a conditional update sets both; a crashed node's claim lapses.
      .addColumn('claim_token', 'text')
      .addColumn('claimed_until', 'bigint')
      .addColumn('last_dial_at', 'bigint')
      .addColumn('last_dial_ok_at', 'bigint')
      .addColumn('last_dial_error', 'text')
      .addColumn('dial_failures', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('dial_targets_due').on('dial_targets').column('next_dial_at').execute();
  },
});
