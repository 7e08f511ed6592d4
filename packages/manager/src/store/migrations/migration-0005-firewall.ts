import type { Migration } from 'kysely';
import type { MigrationDb, MigrationDialect } from './migration-dialect.js';

/**
 * Firewall rules (issue 6): the rules themselves, and their assignment to policies (inherited
 * down the tree) and to computers (added to what the policy chain gives). Portable DDL only.
 *
 * A rule is stored as core's normalized JSON (validateFirewallRule's output without `id`; the
 * row's id is the rule id, which also names its nftables counter `r_<id>`). The store never
 * queries inside it.
 */
export const m0005Firewall = (dialect: MigrationDialect): Migration => ({
  async up(db: MigrationDb) {
    const id = dialect.idColumn;
    await db.schema
      .createTable('firewall_rules')
      .addColumn('id', 'integer', id)
      // Unique, as in Deep Security's rule list: scripts find rules by name.
      .addColumn('name', 'text', (c) => c.notNull().unique())
      .addColumn('rule', 'text', (c) => c.notNull())
      .addColumn('created_at', 'bigint', (c) => c.notNull())
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    // No cascade from the rule: deleting a rule still assigned is refused (with where) by the
    // service, and the foreign key backs that up. A deleted policy takes its assignments along.
    await db.schema
      .createTable('policy_firewall_rules')
      .addColumn('policy_id', 'integer', (c) => c.notNull().references('policies.id').onDelete('cascade'))
      .addColumn('rule_id', 'integer', (c) => c.notNull().references('firewall_rules.id'))
      // Assignment order, kept so lists read back as written (evaluation order is core's).
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('policy_firewall_rules_pk', ['policy_id', 'rule_id'])
      .execute();
    await db.schema
      .createTable('computer_firewall_rules')
      .addColumn('computer_id', 'integer', (c) => c.notNull().references('computers.id').onDelete('cascade'))
      .addColumn('rule_id', 'integer', (c) => c.notNull().references('firewall_rules.id'))
      .addColumn('position', 'integer', (c) => c.notNull())
      .addPrimaryKeyConstraint('computer_firewall_rules_pk', ['computer_id', 'rule_id'])
      .execute();
    // "Where is this rule used?" (delete, and the computers a rule change reaches).
    await db.schema.createIndex('policy_firewall_rules_rule').on('policy_firewall_rules').column('rule_id').execute();
    await db.schema
      .createIndex('computer_firewall_rules_rule')
      .on('computer_firewall_rules')
      .column('rule_id')
      .execute();
  },
});
