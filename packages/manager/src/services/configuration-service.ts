import {
  buildSecurityConfiguration,
  type ComputerSettingsInput,
  configurationFingerprint,
  type FirewallListContents,
  type FirewallRule,
  NO_FIREWALL_LISTS,
  type PolicyId,
  PolicyTree,
  type ResolvedSettings,
  type SecurityConfiguration,
  type SettingName,
  type SettingOverrides,
  type SettingSource,
  type SettingValues,
} from '@palisade/core';
import type { FirewallAssignmentRows, PolicyRecord, Repositories } from '../store/store.js';
import { FirewallAssignments } from './firewall-assignments.js';

export interface EffectiveConfiguration {
  settings: SettingValues;
  /** Where each effective value came from (computer, a policy, the Base Policy, fixed, platform). */
  sources: Readonly<Record<SettingName, SettingSource>>;
  configuration: SecurityConfiguration;
  fingerprint: string;
  /** The computer's policy's name now (sent in every heartbeat reply: the agent's `status` shows it). */
  policyName: string;
}

/**
 * Policies as stored at one version: the rows, the tree they form (each policy with its
 * overrides) and every policy's firewall assignments. Shared and never changed: changes build
 * new trees (`PolicyTree.with…`).
 */
export interface PolicySnapshot {
  /** The policy-tree version it was read at; null when read inside the transaction changing it. */
  readonly version: number | null;
  readonly records: readonly PolicyRecord[];
  readonly tree: PolicyTree;
  readonly firewall: FirewallAssignmentRows;
  /** Every IP, MAC and port list's items (their changes bump the version too). */
  readonly lists: FirewallListContents;
  /** The manager addresses agents are told to try (the nodes' registrations); read with the tree, under its version. */
  readonly managers: readonly string[];
}

/** A computer's firewall as its configuration carries it: the effective rules and the lists they name. */
export interface ComputerFirewallInput {
  readonly rules: readonly FirewallRule[];
  readonly lists: FirewallListContents;
}

/** Reads of a snapshot that saw the version move under them, before giving up (a change storm). */
const SNAPSHOT_ATTEMPTS = 5;

/** Configurations kept computed: one per distinct (policy, platform, own overrides, own rules) in use. */
const MAX_CACHED_CONFIGURATIONS = 1_000;

/**
 * Computes what a computer should run: its effective settings, resolved by core's PolicyTree
 * (computer → policy → parents → Base Policy, read-only settings fixed, the macOS rule), and
 * the security configuration built from them, with its fingerprint. Every method reads through
 * the repositories it is given: the store's, or a transaction's to see what it sees.
 *
 * It holds the one policy-tree cache of the node: {@link policies} reads the policy-tree
 * version (one row) and reloads only when it moved. Every change to policies, their settings,
 * their firewall assignments or firewall rules bumps that version in its own transaction
 * (store/repositories/policy-repository.ts), so every node sharing the database sees a change
 * at its next read — a heartbeat's, at the latest.
 */
export class ConfigurationService {
  private cached: PolicySnapshot | null = null;
  /**
   * Effective configurations by what they are computed from (see {@link configurationKey}),
   * least recently used first. A heartbeat's configuration is then a Map lookup instead of a
   * resolution, a canonical JSON serialization and a SHA-256 (measured: a fifth of the manager's
   * CPU per heartbeat). Entries of older tree versions are never hit again and age out.
   */
  private readonly configurations = new Map<string, EffectiveConfiguration>();
  /** The agent address list of the last snapshot read: what {@link fromTree} puts in configurations. */
  private managers: readonly string[] = [];

  constructor(readonly heartbeatIntervalSeconds: number) {}

  /**
   * The policies as `repos` sees them: the cached snapshot when its version is current, else
   * read anew. The version is read before and after the rows: when it did not move, no change
   * committed in between and the rows are one consistent state, whatever the engine's
   * isolation (the same holds outside a transaction). A transaction that changed the tree reads
   * its own rows and caches nothing.
   */
  async policies(repos: Repositories): Promise<PolicySnapshot> {
    for (let attempt = 0; attempt < SNAPSHOT_ATTEMPTS; attempt++) {
      const version = await repos.policies.treeVersion();
      if (version !== null && this.cached?.version === version) {
        this.managers = this.cached.managers;
        return this.cached;
      }
      const [records, overrides, firewall, lists, managers] = await Promise.all([
        repos.policies.list(),
        repos.policies.overrides(),
        repos.firewall.policyAssignments(),
        repos.firewallLists.contents(),
        repos.managerNodes.agentAddresses(),
      ]);
      const snapshot: PolicySnapshot = {
        version,
        records,
        tree: PolicyTree.from(
          records.map((p) => ({ id: p.id, parentId: p.parentId, name: p.name, overrides: overrides.get(p.id) ?? {} })),
        ),
        firewall,
        lists,
        managers,
      };
      this.managers = managers;
      if (version === null) return snapshot;
      if ((await repos.policies.treeVersion()) !== version) continue;
      // Versions only grow: a slower reader of an older version does not replace a newer one.
      if ((this.cached?.version ?? 0) < version) this.cached = snapshot;
      return snapshot;
    }
    throw new Error(`the policy tree changed during ${SNAPSHOT_ATTEMPTS} reads in a row`);
  }

  /**
   * Firewall assignments (every policy's, and these computers' own) for `fromTree`'s
   * `firewallRules`: `rulesFor(tree, policyId, computerId)`. Pass the snapshot in hand, if any.
   */
  async firewall(
    repos: Repositories,
    computerIds: readonly number[],
    snapshot?: PolicySnapshot,
  ): Promise<FirewallAssignments> {
    const [s, own] = await Promise.all([
      snapshot ?? this.policies(repos),
      repos.firewall.computerAssignments(computerIds),
    ]);
    return new FirewallAssignments(s.firewall, own, s.lists);
  }

  /** For an enrolled computer, as `repos` sees it. */
  async forComputer(
    c: { id: number; policyId: PolicyId; platform: string },
    repos: Repositories,
  ): Promise<EffectiveConfiguration> {
    const snapshot = await this.policies(repos);
    const [overrides, firewall] = await Promise.all([
      repos.computers.overrides(c.id),
      this.firewall(repos, [c.id], snapshot),
    ]);
    return this.cachedFor(snapshot, c.policyId, c.platform, overrides, firewall.computerRuleIds(c.id), () =>
      this.fromTree(
        snapshot.tree,
        { policyId: c.policyId, overrides, platform: c.platform },
        firewall.firewallFor(snapshot.tree, c.policyId, c.id),
      ),
    );
  }

  /** For a computer that does not exist yet (activation): its policy's values only. */
  async forNewComputer(policyId: PolicyId, platform: string, repos: Repositories): Promise<EffectiveConfiguration> {
    const snapshot = await this.policies(repos);
    const { tree, firewall, lists } = snapshot;
    return this.cachedFor(snapshot, policyId, platform, {}, [], () =>
      this.fromTree(
        tree,
        { policyId, overrides: {}, platform },
        new FirewallAssignments(firewall, undefined, lists).firewallFor(tree, policyId, null),
      ),
    );
  }

  /**
   * The configuration computed from a snapshot of a stored tree version and a computer's own
   * inputs, from the cache or by `compute`. Everything a configuration is made of is either in
   * the key or covered by the policy-tree version, which every change to policies, their
   * settings, their firewall assignments, firewall rules, the IP/MAC/port lists rules name and the manager nodes' agent addresses
   * bumps (policy-repository.ts, manager-node-repository.ts); the
   * heartbeat interval is fixed for the process. A snapshot read inside the transaction that
   * changes the tree (version null) is never cached.
   */
  private async cachedFor(
    snapshot: PolicySnapshot,
    policyId: PolicyId,
    platform: string,
    overrides: SettingOverrides,
    computerRuleIds: readonly number[],
    compute: () => Promise<EffectiveConfiguration>,
  ): Promise<EffectiveConfiguration> {
    if (snapshot.version === null) return compute();
    const key = configurationKey(snapshot.version, policyId, platform, overrides, computerRuleIds);
    const hit = this.configurations.get(key);
    if (hit) {
      this.configurations.delete(key);
      this.configurations.set(key, hit);
      return hit;
    }
    const computed = await compute();
    this.configurations.set(key, computed);
    if (this.configurations.size > MAX_CACHED_CONFIGURATIONS)
      this.configurations.delete(this.configurations.keys().next().value!);
    return computed;
  }

  /** One setting's effective value for each of these computers (the monitor's inactive-VM setting). */
  async settingFor(
    repos: Repositories,
    computers: ReadonlyArray<{ id: number; policyId: PolicyId; platform: string }>,
    name: SettingName,
  ): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    if (computers.length === 0) return out;
    const [{ tree }, own] = await Promise.all([
      this.policies(repos),
      repos.computers.overridesByComputer(computers.map((c) => c.id)),
    ]);
    for (const c of computers) {
      const resolved = tree.resolveForComputer({
        policyId: c.policyId,
        overrides: own.get(c.id) ?? {},
        platform: c.platform,
      });
      out.set(c.id, resolved.values[name]);
    }
    return out;
  }

  /**
   * From a tree already in hand (e.g. the one a change is about to store). `firewall`: the
   * computer's effective firewall rules (policy chain + its own) and the lists they name (see
   * `firewall(…).firewallFor`), part of the configuration and so of the fingerprint. Omitted
   * means none.
   */
  async fromTree(
    tree: PolicyTree,
    computer: ComputerSettingsInput,
    firewall: ComputerFirewallInput = { rules: [], lists: NO_FIREWALL_LISTS },
  ): Promise<EffectiveConfiguration> {
    const resolved: ResolvedSettings = tree.resolveForComputer(computer);
    const configuration = buildSecurityConfiguration({
      settings: resolved.values,
      heartbeatIntervalSeconds: this.heartbeatIntervalSeconds,
      firewallRules: firewall.rules,
      firewallLists: firewall.lists,
      managers: this.managers,
    });
    return {
      settings: resolved.values,
      sources: resolved.sources,
      configuration,
      fingerprint: await configurationFingerprint(configuration),
      policyName: tree.chainFor(computer.policyId)[0]?.name ?? '',
    };
  }
}

/**
 * What a computer's configuration is computed from beside the tree: its policy, platform, own
 * overrides (in name order) and own firewall rules (in assignment order, which is rule order).
 */
export function configurationKey(
  treeVersion: number | null,
  policyId: PolicyId,
  platform: string,
  overrides: SettingOverrides,
  computerRuleIds: readonly number[],
): string {
  const own = Object.entries(overrides).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([treeVersion, policyId, platform, own, computerRuleIds]);
}
