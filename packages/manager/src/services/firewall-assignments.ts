import {
  type FirewallListContents,
  type FirewallRule,
  NO_FIREWALL_LISTS,
  type PolicyId,
  type PolicyTree,
} from '@palisade/core';
import type { FirewallAssignmentRows } from '../store/store.js';

/** Where an effective rule comes from: a policy of the computer's chain, or the computer itself. */
export type FirewallRuleSource = `policy:${PolicyId}` | 'computer';

export interface AssignedFirewallRule {
  readonly ruleId: number;
  readonly rule: FirewallRule;
  /** The first (nearest the root) assignment that brings it in. */
  readonly source: FirewallRuleSource;
}

/** No assignments (a new computer has none of its own). */
const NONE: FirewallAssignmentRows = { lists: new Map(), rules: new Map() };

/**
 * Firewall rule assignments as read in one go: each policy's own list (from the policy-tree
 * snapshot) and the lists of the computers asked for, with the rules they name. Computing many
 * computers' rules from one read keeps a fleet-wide refresh to a handful of queries.
 *
 * Inheritance: a policy's effective rules are its ancestors' (Base Policy first) followed by its
 * own; a computer's are its policy's followed by its own. Rules only add up — as in Deep
 * Security, where a sub-policy or computer cannot unassign a rule its parent assigns. A rule
 * assigned at two levels appears once, where it was first (nearest the root) assigned.
 */
export class FirewallAssignments {
  constructor(
    private readonly policies: FirewallAssignmentRows,
    private readonly computers: FirewallAssignmentRows = NONE,
    /** Every IP, MAC and port list's items, for the lists the rules name. */
    readonly lists: FirewallListContents = NO_FIREWALL_LISTS,
  ) {}

  /** The rules assigned on the policy itself, in assignment order. */
  policyRuleIds(policyId: PolicyId): readonly number[] {
    return this.policies.lists.get(policyId) ?? [];
  }

  /** The rules assigned on the computer itself; empty for a computer not loaded. */
  computerRuleIds(computerId: number): readonly number[] {
    return this.computers.lists.get(computerId) ?? [];
  }

  /** Effective rules of a policy (computerId null) or of a computer on it, with their sources, root first. */
  effective(tree: PolicyTree, policyId: PolicyId, computerId: number | null): AssignedFirewallRule[] {
    const out: AssignedFirewallRule[] = [];
    const seen = new Set<number>();
    const add = (ids: readonly number[], source: FirewallRuleSource) => {
      for (const ruleId of ids) {
        if (seen.has(ruleId)) continue;
        const rule = this.policies.rules.get(ruleId) ?? this.computers.rules.get(ruleId);
        // The foreign keys make this impossible; a stored assignment without its rule is a bug.
        if (!rule) throw new Error(`firewall rule ${ruleId} is assigned (${source}) but was not loaded`);
        seen.add(ruleId);
        out.push({ ruleId, rule, source });
      }
    };
    for (const p of [...tree.chainFor(policyId)].reverse()) add(this.policyRuleIds(p.id), `policy:${p.id}`);
    if (computerId !== null) add(this.computerRuleIds(computerId), 'computer');
    return out;
  }

  /**
   * What a computer (or a new computer on the policy, computerId null) is to enforce: its rules,
   * and the lists (all of them; the configuration keeps those the rules name).
   */
  firewallFor(
    tree: PolicyTree,
    policyId: PolicyId,
    computerId: number | null,
  ): { rules: FirewallRule[]; lists: FirewallListContents } {
    return { rules: this.effective(tree, policyId, computerId).map((a) => a.rule), lists: this.lists };
  }
}
