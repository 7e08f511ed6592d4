import {
  type EffectiveFirewall,
  effectiveFirewallRules,
  type FirewallRule,
  firewallRuleListReferences,
  listNoun,
  mergeFirewallRule,
  nftablesProblems,
  type PolicyId,
  type PolicyTree,
  type SecurityConfiguration,
  validateFirewallRule,
} from '@palisade/core';
import { PalisadeError } from '../errors.js';
import type {
  ComputerRecord,
  FirewallRuleRecord,
  FirewallRuleUsage,
  NewAuditEvent,
  Repositories,
} from '../store/store.js';
import { computersUsingRules } from './computers-using-rules.js';
import { ConfigurationChanges } from './configuration-changes.js';
import type { AssignedFirewallRule, FirewallAssignments } from './firewall-assignments.js';

/** A policy's firewall: its own rule IDs, and what it inherits (with the policy that assigns each). */
export interface PolicyFirewall {
  readonly policyId: PolicyId;
  readonly ruleIds: readonly number[];
  readonly inherited: ReadonlyArray<{ ruleId: number; policyId: PolicyId }>;
  /** Inherited then own, each once: what computers on the policy get before their own rules. */
  readonly effectiveRuleIds: readonly number[];
}

/** A computer's firewall assignments: its own rule IDs and what its policy chain gives. */
export interface ComputerFirewall {
  readonly computerId: number;
  readonly ruleIds: readonly number[];
  readonly inherited: ReadonlyArray<{ ruleId: number; policyId: PolicyId }>;
  readonly effectiveRuleIds: readonly number[];
}

/** What a computer enforces, as its agent computes it from the configuration. */
export interface EffectiveComputerFirewall {
  readonly computer: ComputerRecord;
  readonly configuration: SecurityConfiguration;
  readonly fingerprint: string;
  /** core's effective list: hidden rule (when present) first, then the assigned rules. */
  readonly effective: EffectiveFirewall;
  /** The assigned rules with where each comes from, by rule id (as text, the agent's id). */
  readonly sources: ReadonlyMap<string, AssignedFirewallRule['source']>;
}

/** Rule fields as an operator sends them (core validates and normalizes; the schema only shapes). */
export type FirewallRuleInput = Readonly<Record<string, unknown>>;

/** Any valid id: validation needs one, and the real one exists only once the row does. */
const PLACEHOLDER_ID = '1';

function describeUsage(u: FirewallRuleUsage): string {
  const parts: string[] = [];
  const more = (n: number) => (n > 10 ? ` and ${n - 10} more` : '');
  if (u.policies.length > 0) {
    parts.push(
      `polic${u.policies.length === 1 ? 'y' : 'ies'} ${u.policies
        .slice(0, 10)
        .map((p) => `${p.id} ("${p.name}")`)
        .join(', ')}${more(u.policies.length)}`,
    );
  }
  if (u.computers.length > 0) {
    const shown = u.computers
      .slice(0, 10)
      .map((c) => `${c.id} (${c.hostName}${c.state === 'deactivated' ? ', deactivated' : ''})`);
    parts.push(`computer${u.computers.length === 1 ? '' : 's'} ${shown.join(', ')}${more(u.computers.length)}`);
  }
  return parts.join(' and ');
}

/** Validates with core, then checks the agent's nftables backend can enforce it. */
function checkRule(input: FirewallRuleInput, id: string): FirewallRule {
  const v = validateFirewallRule({ ...input, id });
  if (!v.ok) throw new PalisadeError('FIREWALL_RULE_INVALID', v.problems.join('; '));
  // Compiled (as far as it depends on the rule alone) when saved, so a rule the agent could not
  // apply is refused here with the reason, never accepted and then failing on every agent.
  const problems = nftablesProblems(v.rule);
  if (problems.length > 0) throw new PalisadeError('FIREWALL_RULE_NOT_ENFORCEABLE', problems.join('; '));
  return v.rule;
}

/** An audit row of a rule change: the whole rule as JSON before and after (null: did not exist). */
function ruleAudit(
  action: 'firewallRule.create' | 'firewallRule.modify' | 'firewallRule.delete',
  id: number,
  before: FirewallRule | null,
  after: FirewallRule | null,
  actor: string,
  time: number,
): NewAuditEvent {
  const json = (r: FirewallRule | null) => (r === null ? null : JSON.stringify(r));
  return {
    time,
    actor,
    action,
    targetType: 'firewallRule',
    targetId: id,
    setting: null,
    oldValue: json(before),
    newValue: json(after),
  };
}

/** Every list the rule names must exist (and be of its kind), or the computers enforcing it could not get its items. */
async function requireLists(tx: Repositories, rule: FirewallRule): Promise<void> {
  const missing: string[] = [];
  for (const ref of firewallRuleListReferences(rule))
    if (!(await tx.firewallLists.get(ref.kind, ref.id)))
      missing.push(`${ref.member} ${ref.id} names no ${listNoun(ref.kind)}`);
  if (missing.length > 0) throw new PalisadeError('FIREWALL_LIST_REFERENCE_UNKNOWN', missing.join('; '));
}

function uniqueIds(ids: readonly number[]): number[] {
  return [...new Set(ids)];
}

/** How an assignment change treats the list it is given (Deep Security's POST, DELETE, PUT). */
export type AssignmentChange = 'add' | 'remove' | 'set';

function applyChange(before: readonly number[], mode: AssignmentChange, ids: readonly number[]): readonly number[] {
  if (mode === 'set') return ids;
  if (mode === 'add') return [...before, ...ids.filter((id) => !before.includes(id))];
  return before.filter((id) => !ids.includes(id));
}

/**
 * Firewall rules as a manager resource, their assignment to policies and computers, and the
 * effective list a computer enforces. Every change goes in one transaction with the recomputed
 * expected fingerprints of the computers it reaches, so they show `Update Pending (Heartbeat)`
 * at once; a refused change writes nothing.
 */
export class FirewallService extends ConfigurationChanges {
  // ----- rules ----------------------------------------------------------------------------

  listRules(): Promise<FirewallRuleRecord[]> {
    return this.store.firewall.listRules();
  }

  async getRule(id: number): Promise<FirewallRuleRecord> {
    const r = await this.store.firewall.getRule(id);
    if (!r) throw new PalisadeError('FIREWALL_RULE_NOT_FOUND', String(id));
    return r;
  }

  async createRule(input: FirewallRuleInput, actor: string): Promise<FirewallRuleRecord> {
    const checked = checkRule(input, PLACEHOLDER_ID);
    return this.store.transaction(async (tx) => {
      await this.requireFreeName(tx, checked.name, null);
      await requireLists(tx, checked);
      // A new rule is assigned nowhere: no fingerprint changes.
      const created = await tx.firewall.createRule(checked.name, (id) => ({ ...checked, id: String(id) }), this.now());
      await tx.audit.insert([
        ruleAudit('firewallRule.create', created.id, null, created.rule, actor, created.createdAt),
      ]);
      return created;
    });
  }

  /**
   * `merge`: absent fields keep their stored value (Deep Security's POST). `replace`: the body is
   * the whole rule; absent fields take their defaults (PUT).
   */
  async modifyRule(
    id: number,
    input: FirewallRuleInput,
    mode: 'merge' | 'replace',
    actor: string,
  ): Promise<FirewallRuleRecord> {
    return this.change(async (tx, refresh) => {
      await tx.policies.lockTree();
      const current = await tx.firewall.getRule(id);
      if (!current) throw new PalisadeError('FIREWALL_RULE_NOT_FOUND', String(id));
      const rule = checkRule(mode === 'merge' ? mergeFirewallRule(current.rule, input) : input, String(id));
      if (JSON.stringify(rule) === JSON.stringify(current.rule)) return current;
      await this.requireFreeName(tx, rule.name, id);
      await requireLists(tx, rule);
      const t = this.now();
      await tx.firewall.updateRule(id, rule, t);
      await tx.audit.insert([ruleAudit('firewallRule.modify', id, current.rule, rule, actor, t)]);
      await refresh(await computersUsingRules(tx, this.configurations, [id]));
      return { ...current, rule, updatedAt: t };
    });
  }

  /** Refused while a policy or computer assigns it, naming them. */
  async deleteRule(id: number, actor: string): Promise<void> {
    await this.store.transaction(async (tx) => {
      await tx.policies.lockTree();
      const current = await tx.firewall.getRule(id);
      if (!current) throw new PalisadeError('FIREWALL_RULE_NOT_FOUND', String(id));
      const usage = await tx.firewall.ruleUsage(id);
      if (usage.policies.length > 0 || usage.computers.length > 0) {
        throw new PalisadeError('FIREWALL_RULE_IN_USE', `rule ${id} is assigned to ${describeUsage(usage)}`);
      }
      await tx.firewall.deleteRule(id);
      await tx.audit.insert([ruleAudit('firewallRule.delete', id, current.rule, null, actor, this.now())]);
    });
  }

  // ----- assignments ----------------------------------------------------------------------

  async policyFirewall(policyId: PolicyId): Promise<PolicyFirewall> {
    const snapshot = await this.configurations.policies(this.store);
    if (!snapshot.tree.has(policyId)) throw new PalisadeError('POLICY_NOT_FOUND', String(policyId));
    return this.policyView(snapshot.tree, await this.configurations.firewall(this.store, [], snapshot), policyId);
  }

  /** Replaces the policy's own rule list; every computer on it or below it gets a new expected fingerprint. */
  setPolicyFirewall(policyId: PolicyId, ruleIds: readonly number[], actor: string): Promise<PolicyFirewall> {
    return this.changePolicyFirewall(policyId, () => ruleIds, ruleIds, actor);
  }

  /**
   * Changes the policy's own rule list (Deep Security's assignments): `add` appends the rules not
   * yet there, `remove` takes these out (a rule not assigned is no change), `set` replaces it.
   */
  assignPolicyRules(
    policyId: PolicyId,
    mode: AssignmentChange,
    ruleIds: readonly number[],
    actor: string,
  ): Promise<PolicyFirewall> {
    return this.changePolicyFirewall(
      policyId,
      (before) => applyChange(before, mode, ruleIds),
      mode === 'remove' ? [] : ruleIds,
      actor,
    );
  }

  private changePolicyFirewall(
    policyId: PolicyId,
    next: (before: readonly number[]) => readonly number[],
    mustExist: readonly number[],
    actor: string,
  ): Promise<PolicyFirewall> {
    return this.change(async (tx, refresh) => {
      await tx.policies.lockTree();
      const { tree } = await this.configurations.policies(tx);
      if (!tree.has(policyId)) throw new PalisadeError('POLICY_NOT_FOUND', String(policyId));
      await this.requireRules(tx, uniqueIds(mustExist));
      const before = await tx.firewall.policyRuleIds(policyId);
      const ids = uniqueIds(next(before));
      if (JSON.stringify(before) !== JSON.stringify(ids)) {
        await tx.firewall.setPolicyRules(policyId, ids);
        await tx.audit.insert([this.audit('policy.firewall', 'policy', policyId, before, ids, actor)]);
        const subtree = [policyId, ...tree.descendantsOf(policyId).map((p) => p.id)];
        await refresh(await tx.computers.listByPolicy(subtree));
      }
      return this.policyView(tree, await this.configurations.firewall(tx, []), policyId);
    });
  }

  async computerFirewall(computerId: number): Promise<ComputerFirewall> {
    return this.store.transaction(async (tx) => {
      const c = await tx.computers.get(computerId);
      if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(computerId));
      return this.computerView(tx, c);
    });
  }

  /** Replaces the computer's own rule list (added to what its policy chain gives). */
  setComputerFirewall(computerId: number, ruleIds: readonly number[], actor: string): Promise<ComputerFirewall> {
    return this.changeComputerFirewall(computerId, () => ruleIds, ruleIds, actor);
  }

  /** Changes the computer's own rule list: see {@link assignPolicyRules}. */
  assignComputerRules(
    computerId: number,
    mode: AssignmentChange,
    ruleIds: readonly number[],
    actor: string,
  ): Promise<ComputerFirewall> {
    return this.changeComputerFirewall(
      computerId,
      (before) => applyChange(before, mode, ruleIds),
      mode === 'remove' ? [] : ruleIds,
      actor,
    );
  }

  private changeComputerFirewall(
    computerId: number,
    next: (before: readonly number[]) => readonly number[],
    mustExist: readonly number[],
    actor: string,
  ): Promise<ComputerFirewall> {
    return this.change(async (tx, refresh) => {
      await tx.policies.lockTree();
      const c = await tx.computers.get(computerId);
      if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(computerId));
      await this.requireRules(tx, uniqueIds(mustExist));
      const before = await tx.firewall.computerRuleIds(computerId);
      const ids = uniqueIds(next(before));
      if (JSON.stringify(before) !== JSON.stringify(ids)) {
        await tx.firewall.setComputerRules(computerId, ids);
        await tx.audit.insert([this.audit('computer.firewall', 'computer', computerId, before, ids, actor)]);
        await refresh([c]);
      }
      return this.computerView(tx, c);
    });
  }

  /** The effective list the computer's agent enforces (hidden rule included), from its current configuration. */
  async effectiveForComputer(computerId: number): Promise<EffectiveComputerFirewall> {
    return this.store.transaction(async (tx) => {
      const c = await tx.computers.get(computerId);
      if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(computerId));
      const { tree } = await this.configurations.policies(tx);
      const [overrides, firewall] = await Promise.all([
        tx.computers.overrides(computerId),
        this.configurations.firewall(tx, [computerId]),
      ]);
      const assigned = firewall.effective(tree, c.policyId, c.id);
      const rules = assigned.map((a) => a.rule);
      const e = await this.configurations.fromTree(
        tree,
        { policyId: c.policyId, overrides, platform: c.platform },
        { rules, lists: firewall.lists },
      );
      const effective = effectiveFirewallRules({
        rules,
        lists: firewall.lists,
        listen: e.configuration.communication.listen,
        listeningPort: e.configuration.communication.listeningPort,
      });
      return {
        computer: c,
        configuration: e.configuration,
        fingerprint: e.fingerprint,
        effective,
        sources: new Map(assigned.map((a) => [a.rule.id, a.source])),
      };
    });
  }

  // ----- internals ------------------------------------------------------------------------

  private policyView(tree: PolicyTree, firewall: FirewallAssignments, policyId: PolicyId): PolicyFirewall {
    const effective = firewall.effective(tree, policyId, null);
    const inherited = effective.filter((a) => a.source !== `policy:${policyId}`);
    return {
      policyId,
      ruleIds: firewall.policyRuleIds(policyId),
      inherited: inherited.map((a) => ({ ruleId: a.ruleId, policyId: Number(a.source.slice('policy:'.length)) })),
      effectiveRuleIds: effective.map((a) => a.ruleId),
    };
  }

  private async computerView(tx: Repositories, c: ComputerRecord): Promise<ComputerFirewall> {
    const snapshot = await this.configurations.policies(tx);
    const firewall = await this.configurations.firewall(tx, [c.id], snapshot);
    const effective = firewall.effective(snapshot.tree, c.policyId, c.id);
    const inherited = effective.filter((a) => a.source !== 'computer');
    return {
      computerId: c.id,
      ruleIds: firewall.computerRuleIds(c.id),
      inherited: inherited.map((a) => ({ ruleId: a.ruleId, policyId: Number(a.source.slice('policy:'.length)) })),
      effectiveRuleIds: effective.map((a) => a.ruleId),
    };
  }

  private audit(
    action: 'policy.firewall' | 'computer.firewall',
    targetType: 'policy' | 'computer',
    targetId: number,
    before: readonly number[],
    after: readonly number[],
    actor: string,
  ): NewAuditEvent {
    return {
      time: this.now(),
      actor,
      action,
      targetType,
      targetId,
      setting: 'firewall.ruleIDs',
      oldValue: JSON.stringify(before),
      newValue: JSON.stringify(after),
    };
  }

  private async requireFreeName(tx: Repositories, name: string, self: number | null): Promise<void> {
    const other = await tx.firewall.findRuleIdByName(name);
    if (other !== null && other !== self)
      throw new PalisadeError('FIREWALL_RULE_NAME_TAKEN', `"${name}" is rule ${other}`);
  }

  private async requireRules(tx: Repositories, ids: readonly number[]): Promise<void> {
    const missing = await tx.firewall.missingRuleIds(ids);
    if (missing.length > 0) throw new PalisadeError('FIREWALL_RULE_REFERENCE_UNKNOWN', `ruleIDs ${missing.join(', ')}`);
  }
}
