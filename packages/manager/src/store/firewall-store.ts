import { type FirewallRule, validateFirewallRule } from '@palisade/core';
import type { Generated, Kysely, Selectable } from 'kysely';
import { FirewallAssignments } from '../services/firewall-assignments.js';
import { num } from './column-values.js';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** Tables of 0005_firewall beside the shared ones (see migration-0005-firewall.ts). */
export interface FirewallTables {
  firewall_rules: { id: Generated<number>; name: string; rule: string; created_at: number; updated_at: number };
  policy_firewall_rules: { policy_id: number; rule_id: number; position: number };
  computer_firewall_rules: { computer_id: number; rule_id: number; position: number };
}
export type FirewallDatabase = Database & FirewallTables;

/** A stored rule: core's normalized rule, whose `id` is the row id as text. */
export interface FirewallRuleRecord {
  id: number;
  rule: FirewallRule;
  createdAt: number;
  updatedAt: number;
}

/** Where a rule is assigned; both lists empty when it is not. */
export interface FirewallRuleUsage {
  policies: Array<{ id: number; name: string }>;
  computers: Array<{ id: number; hostName: string; state: string }>;
}

/** Everything of a rule but its id, as the `rule` column holds it. */
function ruleJson(rule: FirewallRule): string {
  const { id: _id, ...rest } = rule;
  return JSON.stringify(rest);
}

function toRule(r: Selectable<FirewallTables['firewall_rules']>): FirewallRuleRecord {
  const id = num(r.id);
  // Stored rules were validated when saved; validating again on the way out keeps a
  // hand-edited or half-migrated row from reaching an agent.
  const v = validateFirewallRule({ ...(JSON.parse(r.rule) as object), id: String(id) });
  if (!v.ok) throw new Error(`stored firewall rule ${id} is invalid: ${v.problems.join('; ')}`);
  return { id, rule: v.rule, createdAt: num(r.created_at), updatedAt: num(r.updated_at) };
}

/**
 * Firewall rules and their assignments, over the same Kysely instance (and so the same
 * transaction, when built over a transaction-bound store) as the main store.
 */
export class FirewallStore {
  constructor(readonly db: Kysely<FirewallDatabase>) {}

  /** The firewall store beside `store`, inside its transaction when it is bound to one. */
  static over(store: Store): FirewallStore {
    if (!(store instanceof KyselyStore)) throw new Error('firewall rules need the Kysely store (SQLite or PostgreSQL)');
    return new FirewallStore(store.db as unknown as Kysely<FirewallDatabase>);
  }

  async listRules(): Promise<FirewallRuleRecord[]> {
    return (await this.db.selectFrom('firewall_rules').selectAll().orderBy('id').execute()).map(toRule);
  }

  async getRule(id: number): Promise<FirewallRuleRecord | null> {
    const r = await this.db.selectFrom('firewall_rules').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toRule(r) : null;
  }

  async findRuleIdByName(name: string): Promise<number | null> {
    const r = await this.db.selectFrom('firewall_rules').select('id').where('name', '=', name).executeTakeFirst();
    return r ? num(r.id) : null;
  }

  /** Of these ids, the ones with no rule. */
  async missingRuleIds(ids: readonly number[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const found = new Set(
      (
        await this.db
          .selectFrom('firewall_rules')
          .select('id')
          .where('id', 'in', [...ids])
          .execute()
      ).map((r) => num(r.id)),
    );
    return ids.filter((id) => !found.has(id));
  }

  /**
   * Inserts a rule; `make` turns the new row id into the rule to store (the id is part of the
   * rule, so it is known only once the row exists). The caller checked the name is free.
   */
  async createRule(name: string, make: (id: number) => FirewallRule, now: number): Promise<FirewallRuleRecord> {
    const row = await this.db
      .insertInto('firewall_rules')
      .values({ name, rule: '{}', created_at: now, updated_at: now })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = num(row.id);
    const rule = make(id);
    await this.db
      .updateTable('firewall_rules')
      .set({ rule: ruleJson(rule) })
      .where('id', '=', id)
      .execute();
    return { id, rule, createdAt: now, updatedAt: now };
  }

  async updateRule(id: number, rule: FirewallRule, now: number): Promise<void> {
    await this.db
      .updateTable('firewall_rules')
      .set({ name: rule.name, rule: ruleJson(rule), updated_at: now })
      .where('id', '=', id)
      .execute();
  }

  async deleteRule(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('firewall_rules').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Policies and computers (deactivated ones too) that assign the rule themselves. */
  async ruleUsage(ruleId: number): Promise<FirewallRuleUsage> {
    const [policies, computers] = await Promise.all([
      this.db
        .selectFrom('policy_firewall_rules')
        .innerJoin('policies', 'policies.id', 'policy_firewall_rules.policy_id')
        .select(['policies.id', 'policies.name'])
        .where('policy_firewall_rules.rule_id', '=', ruleId)
        .orderBy('policies.id')
        .execute(),
      this.db
        .selectFrom('computer_firewall_rules')
        .innerJoin('computers', 'computers.id', 'computer_firewall_rules.computer_id')
        .select(['computers.id', 'computers.host_name', 'computers.state'])
        .where('computer_firewall_rules.rule_id', '=', ruleId)
        .orderBy('computers.id')
        .execute(),
    ]);
    return {
      policies: policies.map((p) => ({ id: num(p.id), name: p.name })),
      computers: computers.map((c) => ({ id: num(c.id), hostName: c.host_name, state: c.state })),
    };
  }

  async policyRuleIds(policyId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('policy_firewall_rules')
      .select('rule_id')
      .where('policy_id', '=', policyId)
      .orderBy('position')
      .execute();
    return rows.map((r) => num(r.rule_id));
  }

  async computerRuleIds(computerId: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('computer_firewall_rules')
      .select('rule_id')
      .where('computer_id', '=', computerId)
      .orderBy('position')
      .execute();
    return rows.map((r) => num(r.rule_id));
  }

  /** Replaces the policy's own list. The caller checked the rules exist and removed repeats. */
  async setPolicyRules(policyId: number, ruleIds: readonly number[]): Promise<void> {
    await this.db.deleteFrom('policy_firewall_rules').where('policy_id', '=', policyId).execute();
    if (ruleIds.length > 0) {
      await this.db
        .insertInto('policy_firewall_rules')
        .values(ruleIds.map((rule_id, position) => ({ policy_id: policyId, rule_id, position })))
        .execute();
    }
  }

  /** Replaces the computer's own list. The caller checked the rules exist and removed repeats. */
  async setComputerRules(computerId: number, ruleIds: readonly number[]): Promise<void> {
    await this.db.deleteFrom('computer_firewall_rules').where('computer_id', '=', computerId).execute();
    if (ruleIds.length > 0) {
      await this.db
        .insertInto('computer_firewall_rules')
        .values(ruleIds.map((rule_id, position) => ({ computer_id: computerId, rule_id, position })))
        .execute();
    }
  }

  /**
   * Every policy's assignments, the given computers' own ones (none when `computerIds` is empty),
   * and the rules they name — not the whole rule list, so a heartbeat reads what it uses.
   */
  async assignments(computerIds: readonly number[]): Promise<FirewallAssignments> {
    const policyRows = await this.db
      .selectFrom('policy_firewall_rules')
      .select(['policy_id', 'rule_id'])
      .orderBy('policy_id')
      .orderBy('position')
      .execute();
    const computerRows =
      computerIds.length === 0
        ? []
        : await this.db
            .selectFrom('computer_firewall_rules')
            .select(['computer_id', 'rule_id'])
            .where('computer_id', 'in', [...computerIds])
            .orderBy('computer_id')
            .orderBy('position')
            .execute();
    const byPolicy = new Map<number, number[]>();
    for (const r of policyRows) {
      const list = byPolicy.get(num(r.policy_id)) ?? [];
      list.push(num(r.rule_id));
      byPolicy.set(num(r.policy_id), list);
    }
    const byComputer = new Map<number, number[]>();
    for (const r of computerRows) {
      const list = byComputer.get(num(r.computer_id)) ?? [];
      list.push(num(r.rule_id));
      byComputer.set(num(r.computer_id), list);
    }
    const ids = [...new Set([...policyRows, ...computerRows].map((r) => num(r.rule_id)))];
    const rules = new Map<number, FirewallRule>();
    // Bounded IN lists (engines cap bound parameters per statement).
    for (let i = 0; i < ids.length; i += 500) {
      const rows = await this.db
        .selectFrom('firewall_rules')
        .selectAll()
        .where('id', 'in', ids.slice(i, i + 500))
        .execute();
      for (const r of rows) rules.set(num(r.id), toRule(r).rule);
    }
    return new FirewallAssignments(rules, byPolicy, byComputer);
  }

  /** Computers (active and deactivated) that assign any of these rules themselves. */
  async computerIdsWithRules(ruleIds: readonly number[]): Promise<number[]> {
    if (ruleIds.length === 0) return [];
    const rows = await this.db
      .selectFrom('computer_firewall_rules')
      .select('computer_id')
      .distinct()
      .where('rule_id', 'in', [...ruleIds])
      .execute();
    return rows.map((r) => num(r.computer_id));
  }
}
