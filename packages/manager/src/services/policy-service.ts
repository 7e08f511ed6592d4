import {
  applySettingWrite,
  checkSettingWrite,
  isSettingName,
  type PolicyId,
  type PolicyTree,
  type PolicyTreeProblem,
  type ResolvedSettings,
  type SettingName,
  type SettingOverrides,
  type SettingSource,
  type SettingWriteProblem,
} from '@palisade/core';
import { PalisadeError } from '../errors.js';
import type {
  ApiKeyRecord,
  AuditEventRecord,
  ComputerRecord,
  NewAuditEvent,
  PolicyRecord,
  Repositories,
  StoreTransaction,
} from '../store/store.js';
import { ConfigurationChanges } from './configuration-changes.js';

/** A policy with its stored overrides and its effective values (with their sources). */
/** C0 controls and DEL: never part of a name an operator typed. */
function hasControlCharacter(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

export interface PolicyDetail {
  readonly record: PolicyRecord;
  readonly isBase: boolean;
  /** Overrides stored on the policy; on the Base Policy, the values it stores (others are catalog defaults). */
  readonly overrides: SettingOverrides;
  readonly resolved: ResolvedSettings;
}

/** A computer with its own overrides and its effective values (with their sources). */
export interface ComputerDetail {
  readonly record: ComputerRecord;
  readonly overrides: SettingOverrides;
  readonly resolved: ResolvedSettings;
}

/** One setting as seen on one policy or computer. */
export interface SettingRead {
  /**
   * What the policy or computer itself holds: its override, null when Inherited. The Base
   * Policy inherits nothing, so there it is always its effective value.
   */
  readonly own: string | null;
  readonly value: string;
  readonly source: SettingSource;
}

/**
 * Settings to write in one change, by name: a string overrides, null returns to Inherited.
 * Names are checked against the catalog (an unknown one rejects the whole change).
 */
export type SettingWrites = Readonly<Record<string, string | null>>;

export interface NewPolicy {
  readonly name: string;
  /** Default empty. */
  readonly description?: string | undefined;
  /** Absent: under the Base Policy. null is rejected: only the Base Policy has no parent. */
  readonly parentId?: PolicyId | null | undefined;
  readonly settings?: SettingWrites | undefined;
}

/** Absent members stay as they are. */
export interface PolicyChange {
  readonly name?: string | undefined;
  readonly description?: string | undefined;
  /** Moves the policy; the same parent is a no-op (so sending back what was read passes). */
  readonly parentId?: PolicyId | null | undefined;
  readonly settings?: SettingWrites | undefined;
}

export interface ComputerChange {
  readonly policyId?: PolicyId | undefined;
  readonly settings?: SettingWrites | undefined;
}

/** Audit rows with the API keys they name, so a reader can show who without another lookup. */
export interface AuditPage {
  readonly events: AuditEventRecord[];
  readonly apiKeys: ReadonlyMap<number, ApiKeyRecord>;
}

function settingError(p: SettingWriteProblem): PalisadeError {
  switch (p.code) {
    case 'unknown-setting':
      return new PalisadeError('SETTING_NOT_FOUND', `"${p.name}"`);
    case 'read-only':
      return new PalisadeError('SETTING_READ_ONLY', p.message);
    case 'invalid-value':
      return new PalisadeError('SETTING_VALUE_INVALID', p.message);
    case 'macos-direction':
      return new PalisadeError('SETTING_NOT_SUPPORTED_ON_PLATFORM', p.message);
    case 'base-policy-inherit':
      return new PalisadeError('BASE_POLICY_SETTING_REQUIRED', p.message);
  }
}

function treeError(p: PolicyTreeProblem): Error {
  switch (p.code) {
    case 'unknown-policy':
      return new PalisadeError('POLICY_NOT_FOUND', String(p.policyId ?? ''));
    case 'unknown-parent':
      return new PalisadeError('POLICY_REFERENCE_UNKNOWN', p.message);
    case 'cycle':
      return new PalisadeError('POLICY_CYCLE', p.message);
    case 'move-base-policy':
    case 'remove-base-policy':
      return new PalisadeError('BASE_POLICY_FIXED', p.message);
    case 'multiple-base-policies':
      return new PalisadeError('POLICY_PARENT_REQUIRED', p.message);
    case 'policy-has-children':
      return new PalisadeError('POLICY_HAS_CHILDREN', p.message);
    default:
      // A stored tree that is not a tree: a bug or a hand-edited database, not bad input.
      return new Error(`policy tree is inconsistent: ${p.message}`);
  }
}

/** Names are shown in lists and matched by `token create --policy`: no invisible differences. */
function checkPolicyName(name: string): void {
  if (name.trim() !== name || name.length === 0 || hasControlCharacter(name)) {
    throw new PalisadeError(
      'VALIDATION_FAILED',
      'body.name must not be empty, start or end with white space, or contain control characters',
    );
  }
}

/** The audit rows of one change to one policy or computer: its time, actor and target given once. */
function auditRow(time: number, actor: string, targetType: 'policy' | 'computer', targetId: number) {
  return (
    action: NewAuditEvent['action'],
    setting: string | null,
    oldValue: string | null,
    newValue: string | null,
  ): NewAuditEvent => ({ time, actor, action, targetType, targetId, setting, oldValue, newValue });
}

function describeComputers(cs: readonly ComputerRecord[]): string {
  const shown = cs
    .slice(0, 10)
    .map((c) => `${c.id} (${c.hostName}${c.state === 'deactivated' ? ', deactivated' : ''})`);
  return `computer${cs.length === 1 ? '' : 's'} ${shown.join(', ')}${cs.length > 10 ? ` and ${cs.length - 10} more` : ''}`;
}

function policyDetail(tree: PolicyTree, record: PolicyRecord): PolicyDetail {
  const isBase = tree.isBase(record.id);
  const resolved = tree.resolveForPolicy(record.id);
  return { record, isBase, overrides: tree.get(record.id)?.overrides ?? {}, resolved };
}

function computerDetail(tree: PolicyTree, record: ComputerRecord, overrides: SettingOverrides): ComputerDetail {
  return {
    record,
    overrides,
    resolved: tree.resolveForComputer({ policyId: record.policyId, overrides, platform: record.platform }),
  };
}

function settingRead(
  d: { resolved: ResolvedSettings; overrides: SettingOverrides },
  name: SettingName,
  inheritsNothing: boolean,
): SettingRead {
  const value = d.resolved.values[name];
  return { own: inheritsNothing ? value : (d.overrides[name] ?? null), value, source: d.resolved.sources[name] };
}

function requireSettingName(name: string): SettingName {
  if (!isSettingName(name)) throw new PalisadeError('SETTING_NOT_FOUND', `"${name}"`);
  return name;
}

/**
 * Policies, settings and computer assignments: every read and change the REST API (and later
 * the console) makes. The rules are core's (PolicyTree, checkSettingWrite); this class puts
 * each change, its audit rows and the recomputed expected fingerprints of the computers it
 * affects into one transaction, so a rejected request writes nothing and an accepted one
 * shows `Update Pending (Heartbeat)` at once on the computers whose configuration changed.
 */
export class PolicyService extends ConfigurationChanges {
  // ----- policies -------------------------------------------------------------------------

  async listPolicies(): Promise<PolicyDetail[]> {
    // The rows and the tree come from one snapshot (one version of the tree).
    const { records, tree } = await this.configurations.policies(this.store);
    return records.map((r) => policyDetail(tree, r));
  }

  async getPolicy(id: PolicyId): Promise<PolicyDetail> {
    const { records, tree } = await this.configurations.policies(this.store);
    const r = records.find((p) => p.id === id);
    if (!r) throw new PalisadeError('POLICY_NOT_FOUND', String(id));
    return policyDetail(tree, r);
  }

  async getPolicySetting(id: PolicyId, name: string): Promise<SettingRead> {
    const setting = requireSettingName(name);
    const d = await this.getPolicy(id);
    return settingRead(d, setting, d.isBase);
  }

  async createPolicy(input: NewPolicy, actor: string): Promise<PolicyDetail> {
    checkPolicyName(input.name);
    return this.change(async (tx) => {
      await tx.policies.lockTree();
      const t = this.now();
      const { tree } = await this.configurations.policies(tx);
      const parentId = input.parentId === undefined ? tree.base.id : input.parentId;
      if (parentId === null)
        throw new PalisadeError('POLICY_PARENT_REQUIRED', 'parentID null: only the Base Policy has no parent');
      if (!tree.has(parentId)) throw new PalisadeError('POLICY_REFERENCE_UNKNOWN', `parentID ${parentId}`);
      await this.requireFreeName(tx, input.name, null);
      const writes = this.checkPolicyWrites(false, input.settings);
      const record = await tx.policies.create({
        parentId,
        name: input.name,
        description: input.description ?? '',
        now: t,
      });
      const audit = [auditRow(t, actor, 'policy', record.id)('policy.create', null, null, record.name)];
      let next = tree.withPolicy({ id: record.id, parentId, name: record.name, overrides: {} });
      next = await this.writePolicySettings(tx, next, record.id, writes, actor, t, audit);
      await tx.audit.insert(audit);
      // A new policy has no computers yet, so no fingerprint changes.
      return policyDetail(next, record);
    });
  }

  async modifyPolicy(id: PolicyId, change: PolicyChange, actor: string): Promise<PolicyDetail> {
    if (change.name !== undefined) checkPolicyName(change.name);
    return this.change(async (tx, refresh) => {
      await tx.policies.lockTree();
      const t = this.now();
      const { records, tree } = await this.configurations.policies(tx);
      const current = records.find((p) => p.id === id);
      if (!current) throw new PalisadeError('POLICY_NOT_FOUND', String(id));
      const audit: NewAuditEvent[] = [];
      const row = auditRow(t, actor, 'policy', id);
      const patch: { name?: string; description?: string; parentId?: number } = {};
      if (change.name !== undefined && change.name !== current.name) {
        await this.requireFreeName(tx, change.name, id);
        patch.name = change.name;
        audit.push(row('policy.rename', 'name', current.name, change.name));
      }
      if (change.description !== undefined && change.description !== current.description) {
        patch.description = change.description;
        audit.push(row('policy.describe', 'description', current.description, change.description));
      }
      let next = tree;
      if (change.parentId !== undefined) {
        const problem = tree.validateMove(id, change.parentId);
        if (problem) throw treeError(problem);
        if (change.parentId !== null && change.parentId !== current.parentId) {
          next = tree.move(id, change.parentId);
          patch.parentId = change.parentId;
          audit.push(row('policy.move', 'parentID', String(current.parentId), String(change.parentId)));
        }
      }
      const writes = this.checkPolicyWrites(tree.isBase(id), change.settings);
      const record = Object.keys(patch).length > 0 ? ((await tx.policies.update(id, patch, t)) ?? current) : current;
      const before = audit.length;
      next = await this.writePolicySettings(tx, next, id, writes, actor, t, audit);
      await tx.audit.insert(audit);
      if (patch.parentId !== undefined || audit.length > before) {
        // Every computer on the policy or below it.
        const ids = [id, ...next.descendantsOf(id).map((p) => p.id)];
        await refresh(await tx.computers.listByPolicy(ids), next);
      }
      return policyDetail(next, record);
    });
  }

  /** Sets (`value` a string) or resets (`value` null) one setting; returns it as it then reads. */
  async writePolicySetting(id: PolicyId, name: string, value: string | null, actor: string): Promise<SettingRead> {
    const setting = requireSettingName(name);
    const d = await this.modifyPolicy(id, { settings: { [setting]: value } }, actor);
    return settingRead(d, setting, d.isBase);
  }

  async deletePolicy(id: PolicyId, actor: string): Promise<{ activationTokensDeleted: number }> {
    return this.store.transaction(async (tx) => {
      await tx.policies.lockTree();
      const t = this.now();
      const { records, tree } = await this.configurations.policies(tx);
      const current = records.find((p) => p.id === id);
      if (!current) throw new PalisadeError('POLICY_NOT_FOUND', String(id));
      const problem = tree.validateRemove(id);
      if (problem) throw treeError(problem);
      // The tree does not know computers; deactivated ones count too, since they still name it.
      const users = await tx.computers.listByPolicy([id]);
      if (users.length > 0) {
        throw new PalisadeError(
          'POLICY_IN_USE',
          `policy ${id} ("${current.name}") is assigned to ${describeComputers(users)}`,
        );
      }
      const r = await tx.policies.delete(id);
      await tx.audit.insert([auditRow(t, actor, 'policy', id)('policy.delete', null, current.name, null)]);
      return { activationTokensDeleted: r.activationTokensDeleted };
    });
  }

  // ----- computers ------------------------------------------------------------------------

  async listComputers(): Promise<ComputerDetail[]> {
    // One read transaction: the computers and their overrides come from the same state.
    return this.store.transaction(async (tx) => {
      const [{ tree }, computers, overrides] = await Promise.all([
        this.configurations.policies(tx),
        tx.computers.list(),
        tx.computers.overridesByComputer(),
      ]);
      return computers.map((c) => computerDetail(tree, c, overrides.get(c.id) ?? {}));
    });
  }

  /** Details (resolved settings) of these computers, as listComputers gives them, for one page of the list. */
  async computerDetails(records: readonly ComputerRecord[]): Promise<ComputerDetail[]> {
    if (records.length === 0) return [];
    return this.store.transaction(async (tx) => {
      const [{ tree }, overrides] = await Promise.all([
        this.configurations.policies(tx),
        tx.computers.overridesByComputer(records.map((c) => c.id)),
      ]);
      return records.map((c) => computerDetail(tree, c, overrides.get(c.id) ?? {}));
    });
  }

  async getComputer(id: number): Promise<ComputerDetail> {
    return this.store.transaction(async (tx) => {
      const [{ tree }, c, overrides] = await Promise.all([
        this.configurations.policies(tx),
        tx.computers.get(id),
        tx.computers.overrides(id),
      ]);
      if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
      return computerDetail(tree, c, overrides);
    });
  }

  async getComputerSetting(id: number, name: string): Promise<SettingRead> {
    const setting = requireSettingName(name);
    return settingRead(await this.getComputer(id), setting, false);
  }

  /**
   * Assigns another policy and/or writes settings. Deactivated computers may be changed too
   * (so a policy they still name can be freed for deletion); only active ones get a new
   * expected fingerprint.
   */
  async modifyComputer(id: number, change: ComputerChange, actor: string): Promise<ComputerDetail> {
    return this.change(async (tx, refresh) => {
      await tx.policies.lockTree();
      const t = this.now();
      const [{ tree }, current, own] = await Promise.all([
        this.configurations.policies(tx),
        tx.computers.get(id),
        tx.computers.overrides(id),
      ]);
      if (!current) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
      const audit: NewAuditEvent[] = [];
      const row = auditRow(t, actor, 'computer', id);
      let record = current;
      if (change.policyId !== undefined && change.policyId !== current.policyId) {
        if (!tree.has(change.policyId))
          throw new PalisadeError('POLICY_REFERENCE_UNKNOWN', `policyID ${change.policyId}`);
        await tx.computers.setPolicy(id, change.policyId);
        record = { ...current, policyId: change.policyId };
        audit.push(row('computer.policy', 'policyID', String(current.policyId), String(change.policyId)));
      }
      const writes = Object.entries(change.settings ?? {});
      // Check every write before storing any, so the reason given is the first bad one.
      for (const [name, value] of writes) {
        const problem = checkSettingWrite({ target: 'computer', platform: current.platform, name, value });
        if (problem) throw settingError(problem);
      }
      let overrides = own;
      for (const [name, value] of writes as Array<[SettingName, string | null]>) {
        const old = overrides[name] ?? null;
        if (old === value) continue;
        await tx.computers.setSetting(id, name, value);
        overrides = applySettingWrite(overrides, name, value);
        audit.push(row('computer.setting', name, old, value));
      }
      await tx.audit.insert(audit);
      if (audit.length === 0) return computerDetail(tree, record, overrides);
      await refresh([record], tree);
      // Read back: the record now carries the expected fingerprint just stored.
      return computerDetail(tree, (await tx.computers.get(id)) ?? record, overrides);
    });
  }

  async writeComputerSetting(id: number, name: string, value: string | null, actor: string): Promise<SettingRead> {
    const setting = requireSettingName(name);
    return settingRead(await this.modifyComputer(id, { settings: { [setting]: value } }, actor), setting, false);
  }

  // ----- audit ----------------------------------------------------------------------------

  async auditEvents(q: { limit: number; beforeId?: number }): Promise<AuditPage> {
    const [events, keys] = await Promise.all([this.store.audit.list(q), this.store.apiKeys.list()]);
    return { events, apiKeys: new Map(keys.map((k) => [k.id, k])) };
  }

  // ----- internals ------------------------------------------------------------------------

  private async requireFreeName(tx: Repositories, name: string, self: PolicyId | null): Promise<void> {
    const other = await tx.policies.findByName(name);
    if (other && other.id !== self) throw new PalisadeError('POLICY_NAME_TAKEN', `"${name}" is policy ${other.id}`);
  }

  /** Checks every write (core's rules) before any is stored; returns them typed. */
  private checkPolicyWrites(
    isBasePolicy: boolean,
    settings: SettingWrites | undefined,
  ): Array<[SettingName, string | null]> {
    const writes = Object.entries(settings ?? {});
    for (const [name, value] of writes) {
      const problem = checkSettingWrite({ target: 'policy', isBasePolicy, name, value });
      if (problem) throw settingError(problem);
    }
    return writes as Array<[SettingName, string | null]>;
  }

  /** Stores checked writes on one policy, adding an audit row per changed value; returns the new tree. */
  private async writePolicySettings(
    tx: StoreTransaction,
    tree: PolicyTree,
    id: PolicyId,
    writes: ReadonlyArray<[SettingName, string | null]>,
    actor: string,
    time: number,
    audit: NewAuditEvent[],
  ): Promise<PolicyTree> {
    if (writes.length === 0) return tree;
    const isBase = tree.isBase(id);
    // The Base Policy inherits nothing: its "old value" is what it resolved to (stored or default).
    const before = isBase ? tree.resolveForPolicy(id).values : null;
    let overrides = tree.get(id)!.overrides;
    const row = auditRow(time, actor, 'policy', id);
    for (const [name, value] of writes) {
      const old = before ? before[name] : (overrides[name] ?? null);
      if (old === value) continue;
      await tx.policies.setSetting(id, name, value);
      overrides = applySettingWrite(overrides, name, value);
      audit.push(row('policy.setting', name, old, value));
    }
    return tree.withOverrides(id, overrides);
  }
}
