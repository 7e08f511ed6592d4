import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/** The first schema: settings, CA, policies, computers, events, keys, tokens, audit. */
export const m0001Initial = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    const id = dialect.idColumn;
    await db.schema
      .createTable('system_settings')
      .addColumn('key', 'text', (c) => c.primaryKey())
      .addColumn('value', 'text', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('certificate_authority')
      .addColumn('id', 'integer', (c) => c.primaryKey())
      .addColumn('certificate', 'text', (c) => c.notNull())
      .addColumn('private_key', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('policies')
      .addColumn('id', 'integer', id)
      .addColumn('parent_id', 'integer', (c) => c.references('policies.id'))
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('description', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('policy_settings')
      .addColumn('policy_id', 'integer', (c) => c.notNull().references('policies.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('policy_settings_pk', ['policy_id', 'name'])
      .execute();
    await db.schema
      .createTable('api_keys')
      .addColumn('id', 'integer', id)
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('key_prefix', 'text', (c) => c.notNull())
      .addColumn('secret_hash', 'text', (c) => c.notNull().unique())
      .addColumn('role', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('last_used_at', 'bigint')
      .addColumn('revoked_at', 'bigint')
      .execute();
    await db.schema
      .createTable('activation_tokens')
      .addColumn('id', 'integer', id)
      .addColumn('token_hash', 'text', (c) => c.notNull().unique())
      .addColumn('policy_id', 'integer', (c) => c.notNull().references('policies.id'))
      .addColumn('max_uses', 'integer')
      .addColumn('uses', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('expires_at', 'bigint')
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema
      .createTable('computers')
      .addColumn('id', 'integer', id)
      .addColumn('host_name', 'text', (c) => c.notNull())
      .addColumn('platform', 'text', (c) => c.notNull())
      .addColumn('agent_version', 'text', (c) => c.notNull())
      .addColumn('policy_id', 'integer', (c) => c.notNull().references('policies.id'))
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('cert_serial', 'text', (c) => c.notNull().unique())
      .addColumn('activated_at', 'bigint', (c) => c.notNull())
      .addColumn('deactivated_at', 'bigint')
      .addColumn('last_communication', 'bigint')
      .addColumn('offline_deadline', 'bigint')
      .addColumn('last_ip', 'text')
      .addColumn('clock_offset_ms', 'bigint')
      .addColumn('uptime_seconds', 'bigint')
      .addColumn('drivers', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('counters', 'text', (c) => c.notNull().defaultTo('{}'))
      .addColumn('expected_fingerprint', 'text')
      .addColumn('applied_fingerprint', 'text')
      .addColumn('events_acked_through', 'bigint', (c) => c.notNull().defaultTo(0))
      .addColumn('tls_protocol', 'text')
      .addColumn('tls_cipher_suite', 'text')
      .execute();
    // The offline sweep reads only rows whose deadline passed: an index range scan.
    await db.schema.createIndex('computers_offline_deadline').on('computers').column('offline_deadline').execute();
    await db.schema
      .createTable('computer_settings')
      .addColumn('computer_id', 'integer', (c) => c.notNull().references('computers.id').onDelete('cascade'))
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('value', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('computer_settings_pk', ['computer_id', 'name'])
      .execute();
    await db.schema
      .createTable('events')
      .addColumn('id', 'integer', id)
      .addColumn('computer_id', 'integer', (c) => c.notNull().references('computers.id'))
      .addColumn('seq', 'bigint', (c) => c.notNull())
      .addColumn('agent_time', 'bigint', (c) => c.notNull())
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('severity', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addColumn('data', 'text')
      // Events are stored idempotently: a re-sent event is recognised, not doubled
      // (docs/architecture.md "The heartbeat").
      .addUniqueConstraint('events_computer_seq', ['computer_id', 'seq'])
      .execute();
    await db.schema
      .createTable('operations')
      .addColumn('id', 'integer', id)
      .addColumn('computer_id', 'integer', (c) => c.notNull().references('computers.id'))
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('fingerprint', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('sent_at', 'bigint')
      .addColumn('completed_at', 'bigint')
      .addColumn('reason', 'text')
      .execute();
    await db.schema
      .createIndex('operations_computer_status')
      .on('operations')
      .columns(['computer_id', 'status'])
      .execute();
    await db.schema
      .createTable('audit_events')
      .addColumn('id', 'integer', id)
      .addColumn('time', 'bigint', (c) => c.notNull())
      .addColumn('actor', 'text', (c) => c.notNull())
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('target_type', 'text', (c) => c.notNull())
      .addColumn('target_id', 'text', (c) => c.notNull())
      .addColumn('setting', 'text')
      .addColumn('old_value', 'text')
      .addColumn('new_value', 'text')
      .execute();
  },
});
