import { type FirewallRule, validateFirewallRule } from '@palisade/core';
import type { Selectable } from 'kysely';
import { chunks } from '../chunks.js';
import { num } from '../column-values.js';
import { HandSql } from '../hand-sql.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

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

/**
 * Firewall assignments as read: each owner's (policy's or computer's) own list of rule IDs in
 * assignment order, and the rules those lists name. Owners without a list are absent.
 */
export interface FirewallAssignmentRows {
  readonly lists: ReadonlyMap<number, readonly number[]>;
  readonly rules: ReadonlyMap<number, FirewallRule>;
}

/** Everything of a rule but its id, as the `rule` column holds it. */
function ruleJson(rule: FirewallRule): string {
  const { id: _id, ...rest } = rule;
  return JSON.stringify(rest);
}

function toRule(r: Selectable<Database['firewall_rules']>): FirewallRuleRecord {
  const id = num(r.id);
  // Stored rules were validated when saved; validating again on the way out keeps a
  // hand-edited or half-migrated row from reaching an agent.
  const v = validateFirewallRule({ ...(JSON.parse(r.rule) as object), id: String(id) });
  if (!v.ok) throw new Error(`stored firewall rule ${id} is invalid: ${v.problems.join('; ')}`);
  return { id, rule: v.rule, createdAt: num(r.created_at), updatedAt: num(r.updated_at) };
}

/** Rows of one assignment table joined to the rules, in owner then assignment order, grouped. */
function assignmentRows(rows: ReadonlyArray<Selectable<Database['firewall_rules']> & { owner: number }>) {
  const lists = new Map<number, number[]>();
  const rules = new Map<number, FirewallRule>();
  for (const r of rows) {
    const owner = num(r.owner);
    const id = num(r.id);
    const list = lists.get(owner);
    if (list) list.push(id);
    else lists.set(owner, [id]);
    if (!rules.has(id)) rules.set(id, toRule(r).rule);
  }
  return { lists, rules };
}

/**
 * Firewall rules and their assignments to policies and computers. Changes to rules and to
 * policies' assignments bump the policy-tree version (they are part of what the policy-tree
 * cache holds); computers' own assignments are read per computer and do not.
 */
const ONE_COMPUTER_RULES = new HandSql(
  'select "firewall_rules".*, "a"."computer_id" as "owner" from "computer_firewall_rules" as "a" inner join "firewall_rules" on "firewall_rules"."id" = "a"."rule_id" where "a"."computer_id" = ? order by "a"."position"',
  false,
);

export class FirewallRepository extends Repository {
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
    const found = new Set<number>();
    for (const part of chunks(ids)) {
      const rows = await this.db.selectFrom('firewall_rules').select('id').where('id', 'in', part).execute();
      for (const r of rows) found.add(num(r.id));
    }
    return ids.filter((id) => !found.has(id));
  }

  /**
   * Inserts a rule; `make` turns the new row id into the rule to store (the id is part of the
   * rule, so it is known only once the row exists). The caller checked the name is free.
   */
  createRule(name: string, make: (id: number) => FirewallRule, now: number): Promise<FirewallRuleRecord> {
    return this.session.atomically(async (db) => {
      const row = await db
        .insertInto('firewall_rules')
        .values({ name, rule: '{}', created_at: now, updated_at: now })
        .returning('id')
        .executeTakeFirstOrThrow();
      const id = num(row.id);
      const rule = make(id);
      await db
        .updateTable('firewall_rules')
        .set({ rule: ruleJson(rule) })
        .where('id', '=', id)
        .execute();
      await this.session.bumpPolicyTree(db);
      return { id, rule, createdAt: now, updatedAt: now };
    });
  }

  updateRule(id: number, rule: FirewallRule, now: number): Promise<void> {
    return this.session.atomically(async (db) => {
      await db
        .updateTable('firewall_rules')
        .set({ name: rule.name, rule: ruleJson(rule), updated_at: now })
        .where('id', '=', id)
        .execute();
      await this.session.bumpPolicyTree(db);
    });
  }

  deleteRule(id: number): Promise<boolean> {
    return this.session.atomically(async (db) => {
      const r = await db.deleteFrom('firewall_rules').where('id', '=', id).executeTakeFirst();
      await this.session.bumpPolicyTree(db);
      return Number(r.numDeletedRows) > 0;
    });
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
  setPolicyRules(policyId: number, ruleIds: readonly number[]): Promise<void> {
    return this.session.atomically(async (db) => {
      await db.deleteFrom('policy_firewall_rules').where('policy_id', '=', policyId).execute();
      if (ruleIds.length > 0) {
        await db
          .insertInto('policy_firewall_rules')
          .values(ruleIds.map((rule_id, position) => ({ policy_id: policyId, rule_id, position })))
          .execute();
      }
      await this.session.bumpPolicyTree(db);
    });
  }

  /** Replaces the computer's own list. The caller checked the rules exist and removed repeats. */
  setComputerRules(computerId: number, ruleIds: readonly number[]): Promise<void> {
    return this.session.atomically(async (db) => {
      await db.deleteFrom('computer_firewall_rules').where('computer_id', '=', computerId).execute();
      if (ruleIds.length > 0) {
        await db
          .insertInto('computer_firewall_rules')
          .values(ruleIds.map((rule_id, position) => ({ computer_id: computerId, rule_id, position })))
          .execute();
      }
    });
  }

  /** Every policy's own assignments and the rules they name, in one statement. */
  async policyAssignments(): Promise<FirewallAssignmentRows> {
    const rows = await this.db
      .selectFrom('policy_firewall_rules as a')
      .innerJoin('firewall_rules', 'firewall_rules.id', 'a.rule_id')
      .selectAll('firewall_rules')
      .select('a.policy_id as owner')
      .orderBy('a.policy_id')
      .orderBy('a.position')
      .execute();
    return assignmentRows(rows);
  }

  /** These computers' own assignments and the rules they name (none asked: empty). */
  async computerAssignments(computerIds: readonly number[]): Promise<FirewallAssignmentRows> {
    // One computer is every heartbeat's case: written by hand (hand-sql.ts).
    if (computerIds.length === 1)
      return assignmentRows(
        (
          await this.session.run<Selectable<Database['firewall_rules']> & { owner: number }>(ONE_COMPUTER_RULES, [
            computerIds[0],
          ])
        ).rows,
      );
    const rows = [];
    for (const part of chunks(computerIds)) {
      rows.push(
        ...(await this.db
          .selectFrom('computer_firewall_rules as a')
          .innerJoin('firewall_rules', 'firewall_rules.id', 'a.rule_id')
          .selectAll('firewall_rules')
          .select('a.computer_id as owner')
          .where('a.computer_id', 'in', part)
          .orderBy('a.computer_id')
          .orderBy('a.position')
          .execute()),
      );
    }
    return assignmentRows(rows);
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
