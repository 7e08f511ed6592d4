import {
  buildSecurityConfiguration,
  type ComputerSettingsInput,
  configurationFingerprint,
  type FirewallRule,
  type PolicyId,
  PolicyTree,
  type ResolvedSettings,
  type SecurityConfiguration,
  type SettingName,
  type SettingSource,
  type SettingValues,
} from '@palisade/core';
import { FirewallStore } from '../store/firewall-store.js';
import type { PolicyRecord, Store } from '../store/store.js';
import type { FirewallAssignments } from './firewall-assignments.js';

export interface EffectiveConfiguration {
  settings: SettingValues;
  /** Where each effective value came from (computer, a policy, the Base Policy, fixed, platform). */
  sources: Readonly<Record<SettingName, SettingSource>>;
  configuration: SecurityConfiguration;
  fingerprint: string;
}

/**
 * Reads the policy rows and the tree they form (each policy with its overrides) in one go.
 * Pass a transaction-bound store to see them as that transaction does.
 */
export async function loadPolicies(store: Store): Promise<{ records: PolicyRecord[]; tree: PolicyTree }> {
  const [records, overrides] = await Promise.all([store.listPolicies(), store.policyOverrides()]);
  const tree = PolicyTree.from(
    records.map((p) => ({ id: p.id, parentId: p.parentId, name: p.name, overrides: overrides.get(p.id) ?? {} })),
  );
  return { records, tree };
}

/** The policy tree as stored; see `loadPolicies`. */
export async function loadPolicyTree(store: Store): Promise<PolicyTree> {
  return (await loadPolicies(store)).tree;
}

/**
 * Computes what a computer should run: its effective settings, resolved by core's PolicyTree
 * (computer → policy → parents → Base Policy, read-only settings fixed, the macOS rule), and
 * the security configuration built from them, with its fingerprint.
 */
export class ConfigurationService {
  constructor(
    private readonly store: Store,
    readonly heartbeatIntervalSeconds: number,
  ) {}

  /**
   * For an enrolled computer, as stored now. `store` defaults to the service's own; pass a
   * transaction-bound one to compute inside that transaction.
   */
  async forComputer(
    c: { id: number; policyId: PolicyId; platform: string },
    store: Store = this.store,
  ): Promise<EffectiveConfiguration> {
    const [tree, overrides, firewall] = await Promise.all([
      loadPolicyTree(store),
      store.computerOverrides(c.id),
      this.loadFirewall(store, [c.id]),
    ]);
    return this.fromTree(
      tree,
      { policyId: c.policyId, overrides, platform: c.platform },
      firewall.rulesFor(tree, c.policyId, c.id),
    );
  }

  /** For a computer that does not exist yet (activation): its policy's values only. */
  async forNewComputer(policyId: PolicyId, platform: string): Promise<EffectiveConfiguration> {
    const [tree, firewall] = await Promise.all([loadPolicyTree(this.store), this.loadFirewall(this.store, [])]);
    return this.fromTree(tree, { policyId, overrides: {}, platform }, firewall.rulesFor(tree, policyId, null));
  }

  /**
   * Firewall rule assignments (every policy's, and these computers' own) in one read, for
   * `fromTree`'s `firewallRules`: `rulesFor(tree, policyId, computerId)`.
   */
  loadFirewall(store: Store, computerIds: readonly number[]): Promise<FirewallAssignments> {
    return FirewallStore.over(store).assignments(computerIds);
  }

  /**
   * From a tree already in hand (e.g. the one a change is about to store). `firewallRules`: the
   * computer's effective firewall rules (policy chain + its own; see `loadFirewall`), part of the
   * configuration and so of the fingerprint. Omitted means none.
   */
  async fromTree(
    tree: PolicyTree,
    computer: ComputerSettingsInput,
    firewallRules: readonly FirewallRule[] = [],
  ): Promise<EffectiveConfiguration> {
    const resolved: ResolvedSettings = tree.resolveForComputer(computer);
    const configuration = buildSecurityConfiguration({
      settings: resolved.values,
      heartbeatIntervalSeconds: this.heartbeatIntervalSeconds,
      firewallRules,
    });
    return {
      settings: resolved.values,
      sources: resolved.sources,
      configuration,
      fingerprint: await configurationFingerprint(configuration),
    };
  }
}
