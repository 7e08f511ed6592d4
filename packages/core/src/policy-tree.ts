import { type AgentPlatform, isMacOs } from './effective-settings.js';
import { SETTINGS_CATALOG, type SettingName, type SettingOverrides, type SettingValues } from './settings-catalog.js';

/** Policy IDs are integers, as in Deep Security's API (`ID`, `parentID`, `policyID`). */
export type PolicyId = number;

/**
 * One policy as stored. Exactly one node in a tree has `parentId: null`: the Base Policy.
 *
 * `overrides` holds only the settings this policy overrides; a missing name means Inherited
 * (from the parent). On the Base Policy a missing name means the catalog default, because
 * the Base Policy has no parent and must always yield a value. Values are assumed to have
 * been checked on write (`checkSettingWrite`); overrides of read-only settings are ignored.
 */
export interface PolicyNode {
  readonly id: PolicyId;
  /** null only for the Base Policy. */
  readonly parentId: PolicyId | null;
  readonly name: string;
  readonly overrides: SettingOverrides;
}

/**
 * Where an effective value came from, so the console can show "Inherited (from X)":
 * - `computer`: the computer's own override;
 * - `policy:<id>`: an override on that sub-policy (the one resolved, or an ancestor);
 * - `base`: the Base Policy (its stored value, or the catalog default when it stores none);
 * - `fixed`: a read-only setting, which always has its catalog value;
 * - `platform`: the macOS rule forced Agent/Appliance Initiated over what the chain gave.
 *   When the chain already gives Agent/Appliance Initiated on macOS, the source is the chain's,
 *   since the platform rule changed nothing.
 */
export type SettingSource = 'computer' | `policy:${PolicyId}` | 'base' | 'fixed' | 'platform';

/** The policy ID inside a `policy:<id>` source; null for every other source. */
export function settingSourcePolicyId(source: SettingSource): PolicyId | null {
  return source.startsWith('policy:') ? Number(source.slice('policy:'.length)) : null;
}

/** Effective values (every setting present) and, per setting, where each came from. */
export interface ResolvedSettings {
  readonly values: SettingValues;
  readonly sources: Readonly<Record<SettingName, SettingSource>>;
}

/** What the tree needs to know about a computer to resolve its settings. */
export interface ComputerSettingsInput {
  /** The computer's assigned policy; must exist in the tree. */
  readonly policyId: PolicyId;
  /** The computer's own overrides; missing or empty means every setting is Inherited. */
  readonly overrides?: SettingOverrides;
  /** As the agent reports it; null/undefined (not yet known) means no platform rule applies. */
  readonly platform?: AgentPlatform | null;
}

export type PolicyTreeProblemCode =
  | 'unknown-policy'
  | 'unknown-parent'
  | 'duplicate-policy-id'
  | 'no-base-policy'
  | 'multiple-base-policies'
  | 'cycle'
  | 'move-base-policy'
  | 'remove-base-policy'
  | 'policy-has-children';

/** Why a tree, a move or a removal is not allowed. `message` is for people; branch on `code`. */
export interface PolicyTreeProblem {
  readonly code: PolicyTreeProblemCode;
  readonly message: string;
  /** The policy the problem is about, when there is one. */
  readonly policyId?: PolicyId;
}

/** Thrown by the operations that cannot return a value; carries the problem unchanged. */
export class PolicyTreeError extends Error {
  override readonly name = 'PolicyTreeError';
  readonly problem: PolicyTreeProblem;
  constructor(problem: PolicyTreeProblem) {
    super(problem.message);
    this.problem = problem;
  }
  get code(): PolicyTreeProblemCode {
    return this.problem.code;
  }
}

function freezeNode(n: PolicyNode): PolicyNode {
  return Object.freeze({ id: n.id, parentId: n.parentId, name: n.name, overrides: Object.freeze({ ...n.overrides }) });
}

function label(n: PolicyNode): string {
  return `policy ${n.id} ("${n.name}")`;
}

/**
 * An immutable in-memory policy tree: the Base Policy and any depth of sub-policies.
 *
 * Nothing is cached per computer: every resolve walks the current tree, so a tree returned by
 * `move`, `withPolicy` or `withOverrides` — or a computer given another `policyId` — resolves
 * to the new values at once.
 */
export class PolicyTree {
  readonly #nodes: ReadonlyMap<PolicyId, PolicyNode>;
  readonly #children: ReadonlyMap<PolicyId, readonly PolicyNode[]>;
  readonly base: PolicyNode;

  private constructor(nodes: Map<PolicyId, PolicyNode>, base: PolicyNode) {
    this.#nodes = nodes;
    this.base = base;
    const children = new Map<PolicyId, PolicyNode[]>();
    for (const n of nodes.values()) {
      if (n.parentId === null) continue;
      const list = children.get(n.parentId) ?? [];
      list.push(n);
      children.set(n.parentId, list);
    }
    this.#children = children;
  }

  /** Checks the nodes form one tree: unique IDs, one Base Policy, known parents, no cycles. */
  static check(nodes: Iterable<PolicyNode>): PolicyTreeProblem | null {
    const r = PolicyTree.#build(nodes);
    return 'problem' in r ? r.problem : null;
  }

  /** Builds a tree from stored nodes (any order). Throws `PolicyTreeError` if they are not one tree. */
  static from(nodes: Iterable<PolicyNode>): PolicyTree {
    const r = PolicyTree.#build(nodes);
    if ('problem' in r) throw new PolicyTreeError(r.problem);
    return r.tree;
  }

  static #build(input: Iterable<PolicyNode>): { tree: PolicyTree } | { problem: PolicyTreeProblem } {
    const nodes = new Map<PolicyId, PolicyNode>();
    const roots: PolicyNode[] = [];
    for (const raw of input) {
      if (nodes.has(raw.id)) {
        return {
          problem: {
            code: 'duplicate-policy-id',
            policyId: raw.id,
            message: `policy ID ${raw.id} appears more than once`,
          },
        };
      }
      const n = freezeNode(raw);
      nodes.set(n.id, n);
      if (n.parentId === null) roots.push(n);
    }
    const [base, second] = roots;
    if (!base)
      return {
        problem: { code: 'no-base-policy', message: 'a policy tree needs a Base Policy (a policy with no parent)' },
      };
    if (second) {
      return {
        problem: {
          code: 'multiple-base-policies',
          policyId: second.id,
          message: `only the Base Policy has no parent, but ${label(base)} and ${label(second)} both have none`,
        },
      };
    }
    for (const n of nodes.values()) {
      if (n.parentId !== null && !nodes.has(n.parentId)) {
        return {
          problem: {
            code: 'unknown-parent',
            policyId: n.id,
            message: `${label(n)} has unknown parent policy ${n.parentId}`,
          },
        };
      }
    }
    // With one root and every parent known, a node that cannot reach the root is on a cycle.
    const reachesBase = new Set<PolicyId>([base.id]);
    for (const start of nodes.values()) {
      const path: PolicyId[] = [];
      const onPath = new Set<PolicyId>();
      let cur: PolicyNode = start;
      while (!reachesBase.has(cur.id)) {
        if (onPath.has(cur.id)) {
          return {
            problem: { code: 'cycle', policyId: cur.id, message: `${label(cur)} is its own ancestor (parent cycle)` },
          };
        }
        onPath.add(cur.id);
        path.push(cur.id);
        cur = nodes.get(cur.parentId!)!;
      }
      for (const id of path) reachesBase.add(id);
    }
    return { tree: new PolicyTree(nodes, base) };
  }

  /** Every policy, in the order given to `from` (the Base Policy wherever it was). */
  list(): readonly PolicyNode[] {
    return [...this.#nodes.values()];
  }

  get(id: PolicyId): PolicyNode | undefined {
    return this.#nodes.get(id);
  }

  has(id: PolicyId): boolean {
    return this.#nodes.has(id);
  }

  isBase(id: PolicyId): boolean {
    return id === this.base.id;
  }

  #require(id: PolicyId): PolicyNode {
    const n = this.#nodes.get(id);
    if (!n) throw new PolicyTreeError({ code: 'unknown-policy', policyId: id, message: `unknown policy ${id}` });
    return n;
  }

  /** Direct children of a policy; empty for a leaf. Throws `PolicyTreeError` for an unknown ID. */
  childrenOf(id: PolicyId): readonly PolicyNode[] {
    this.#require(id);
    return this.#children.get(id) ?? [];
  }

  /** All policies below `id` at any depth (not `id` itself), parents before their children. */
  descendantsOf(id: PolicyId): readonly PolicyNode[] {
    const out: PolicyNode[] = [];
    const queue = [...this.childrenOf(id)];
    for (let n = queue.shift(); n; n = queue.shift()) {
      out.push(n);
      queue.push(...(this.#children.get(n.id) ?? []));
    }
    return out;
  }

  /** The policy, its parent, …, the Base Policy (last). Throws `PolicyTreeError` for an unknown ID. */
  chainFor(policyId: PolicyId): readonly PolicyNode[] {
    const chain: PolicyNode[] = [];
    // `from` guarantees every chain ends at the base, so this terminates.
    for (
      let n: PolicyNode | undefined = this.#require(policyId);
      n;
      n = n.parentId === null ? undefined : this.#nodes.get(n.parentId)
    ) {
      chain.push(n);
    }
    return chain;
  }

  /** Effective values of a policy itself: its overrides, else its ancestors', else the Base Policy's. */
  resolveForPolicy(policyId: PolicyId): ResolvedSettings {
    return this.#resolve(null, this.chainFor(policyId), null);
  }

  /**
   * Effective values for a computer: its own override, else the nearest override walking up
   * from its policy, else the Base Policy. Read-only settings are always fixed; on macOS the
   * direction is always Agent/Appliance Initiated. Values equal `resolveEffectiveSettings`'s
   * for the same chain. Throws `PolicyTreeError` if `policyId` is unknown.
   */
  resolveForComputer(computer: ComputerSettingsInput): ResolvedSettings {
    return this.#resolve(computer.overrides ?? {}, this.chainFor(computer.policyId), computer.platform ?? null);
  }

  #resolve(
    computer: SettingOverrides | null,
    chain: readonly PolicyNode[],
    platform: AgentPlatform | null,
  ): ResolvedSettings {
    const values = {} as Record<SettingName, string>;
    const sources = {} as Record<SettingName, SettingSource>;
    for (const def of SETTINGS_CATALOG) {
      const name: SettingName = def.name;
      let value: string = def.default;
      let source: SettingSource = 'base';
      if (def.readOnly) {
        source = 'fixed';
      } else if (computer?.[name] !== undefined) {
        value = computer[name];
        source = 'computer';
      } else {
        const holder = chain.find((p) => p.overrides[name] !== undefined);
        if (holder) {
          value = holder.overrides[name]!;
          source = holder.parentId === null ? 'base' : `policy:${holder.id}`;
        }
      }
      values[name] = value;
      sources[name] = source;
    }
    if (isMacOs(platform) && values.platformSettingAgentCommunicationsDirection !== 'Agent/Appliance Initiated') {
      values.platformSettingAgentCommunicationsDirection = 'Agent/Appliance Initiated';
      sources.platformSettingAgentCommunicationsDirection = 'platform';
    }
    return { values, sources };
  }

  /**
   * Whether `policyId` may be placed under `newParentId`. Null when allowed; moving to the
   * current parent is always allowed (a no-op, so a REST update that repeats `parentID` passes).
   * Rejected: unknown IDs, moving the Base Policy, making a second policy without a parent,
   * and moving a policy under itself or one of its descendants.
   */
  validateMove(policyId: PolicyId, newParentId: PolicyId | null): PolicyTreeProblem | null {
    const n = this.#nodes.get(policyId);
    if (!n) return { code: 'unknown-policy', policyId, message: `unknown policy ${policyId}` };
    if (n.parentId === newParentId) return null;
    if (n.parentId === null) {
      return {
        code: 'move-base-policy',
        policyId,
        message: `the Base Policy (${label(n)}) cannot be moved: it is the root of every policy`,
      };
    }
    if (newParentId === null) {
      return {
        code: 'multiple-base-policies',
        policyId,
        message: `${label(n)} needs a parent policy: only the Base Policy has none`,
      };
    }
    const parent = this.#nodes.get(newParentId);
    if (!parent)
      return {
        code: 'unknown-parent',
        policyId,
        message: `cannot move ${label(n)}: unknown parent policy ${newParentId}`,
      };
    if (newParentId === policyId) {
      return { code: 'cycle', policyId, message: `${label(n)} cannot be moved under itself` };
    }
    if (this.chainFor(newParentId).some((a) => a.id === policyId)) {
      return {
        code: 'cycle',
        policyId,
        message: `${label(n)} cannot be moved under ${label(parent)}, which is one of its descendants`,
      };
    }
    return null;
  }

  /** A new tree with the policy moved. Throws `PolicyTreeError` with `validateMove`'s problem. */
  move(policyId: PolicyId, newParentId: PolicyId | null): PolicyTree {
    const problem = this.validateMove(policyId, newParentId);
    if (problem) throw new PolicyTreeError(problem);
    const n = this.#nodes.get(policyId)!;
    return this.withPolicy({ ...n, parentId: newParentId });
  }

  /**
   * Whether the policy may be removed from the tree: not the Base Policy, and no children.
   * Whether computers still use it is the caller's to check; the tree does not know computers.
   */
  validateRemove(policyId: PolicyId): PolicyTreeProblem | null {
    const n = this.#nodes.get(policyId);
    if (!n) return { code: 'unknown-policy', policyId, message: `unknown policy ${policyId}` };
    if (n.parentId === null)
      return { code: 'remove-base-policy', policyId, message: 'the Base Policy cannot be deleted' };
    const kids = this.#children.get(policyId) ?? [];
    if (kids.length > 0) {
      return {
        code: 'policy-has-children',
        policyId,
        message: `${label(n)} has ${kids.length} child ${kids.length === 1 ? 'policy' : 'policies'} (${kids.map((k) => k.id).join(', ')}); move or delete them first`,
      };
    }
    return null;
  }

  /** A new tree without the policy. Throws `PolicyTreeError` with `validateRemove`'s problem. */
  remove(policyId: PolicyId): PolicyTree {
    const problem = this.validateRemove(policyId);
    if (problem) throw new PolicyTreeError(problem);
    return PolicyTree.from(this.list().filter((p) => p.id !== policyId));
  }

  /**
   * A new tree with `node` added, or replacing the policy with its ID (same position in
   * `list()`). Throws `PolicyTreeError` if the result is not one tree (e.g. a cycle).
   */
  withPolicy(node: PolicyNode): PolicyTree {
    const nodes = this.has(node.id) ? this.list().map((p) => (p.id === node.id ? node : p)) : [...this.list(), node];
    return PolicyTree.from(nodes);
  }

  /** A new tree with the policy's overrides replaced. Throws `PolicyTreeError` for an unknown ID. */
  withOverrides(policyId: PolicyId, overrides: SettingOverrides): PolicyTree {
    return this.withPolicy({ ...this.#require(policyId), overrides });
  }
}
