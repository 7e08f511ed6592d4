import type { SettingOverrides } from '@palisade/core';

/** A policy row. `parentId` is null only for the Base Policy. */
export interface PolicyRecord {
  id: number;
  parentId: number | null;
  name: string;
  description: string;
  createdAt: number;
  updatedAt: number;
}

export interface ComputerRecord {
  id: number;
  hostName: string;
  platform: string;
  agentVersion: string;
  policyId: number;
  /** `active` until deactivated; a deactivated computer's certificate is revoked. */
  state: 'active' | 'deactivated';
  certSerial: string;
  activatedAt: number;
  deactivatedAt: number | null;
  lastCommunication: number | null;
  offlineDeadline: number | null;
  lastIp: string | null;
  clockOffsetMs: number | null;
  uptimeSeconds: number | null;
  drivers: Array<{ name: string; status: string; reason?: string }>;
  counters: Record<string, number>;
  expectedFingerprint: string | null;
  appliedFingerprint: string | null;
  eventsAckedThrough: number;
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  /** When the offline sweep found the deadline passed; null while online (the next heartbeat clears it). */
  offlineSince: number | null;
  /** Power state from the agent's shutdown notice or the vmstate API; null when never reported. */
  vmState: 'running' | 'stopped' | null;
  /** Clock offset change since the previous heartbeat, ms; null before the second one. */
  clockOffsetChangeMs: number | null;
}

export interface ApiKeyRecord {
  id: number;
  name: string;
  keyPrefix: string;
  role: 'full-access' | 'read-only';
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

export interface OperationRecord {
  id: number;
  computerId: number;
  type: 'applyConfiguration';
  fingerprint: string;
  payload: unknown;
  status: 'pending' | 'sent' | 'succeeded' | 'failed' | 'superseded';
  createdAt: number;
  sentAt: number | null;
  completedAt: number | null;
  reason: string | null;
}

export interface EventRecord {
  id: number;
  computerId: number;
  seq: number;
  agentTime: number;
  receivedAt: number;
  type: string;
  severity: string;
  message: string;
  data: Record<string, unknown> | null;
}

/**
 * One audited change. `actor` names who made it as `<kind>:<id>` (`apikey:<id>`, `user:<id>` for a
 * console user, `cli` for the manager command line, `anonymous` for a failed sign-in);
 * `setting` is the setting or property changed, null when the change is the whole object
 * (created, deleted, deactivated). Values are as stored: null means Inherited or absent.
 */
export interface AuditEventRecord {
  id: number;
  time: number;
  actor: string;
  action: AuditAction;
  targetType: AuditTargetType;
  /** The target's ID; null for `system` (the manager's own settings, named by `setting`). */
  targetId: number | null;
  setting: string | null;
  oldValue: string | null;
  newValue: string | null;
}

export type NewAuditEvent = Omit<AuditEventRecord, 'id'>;

/** What an audit row records. Policy and computer setting rows carry the setting name. */
export type AuditAction =
  | 'policy.create'
  | 'policy.rename'
  | 'policy.describe'
  | 'policy.move'
  | 'policy.delete'
  | 'policy.setting'
  | 'computer.policy'
  | 'computer.setting'
  | 'computer.deactivate'
  /** Firewall rule assignments (`setting` is `firewall.ruleIDs`, values JSON lists of rule IDs). */
  | 'policy.firewall'
  | 'computer.firewall'
  /** Firewall rules themselves (values: the rule as JSON; null before create, after delete). */
  | 'firewallRule.create'
  | 'firewallRule.modify'
  | 'firewallRule.delete'
  /** A manager system setting (`setting` names it, e.g. the agent TLS policy). */
  | 'system.setting'
  /** Computer actions as requested (Check Status: `newValue` how it is delivered; Send Policy: fingerprints). */
  | 'computer.checkstatus'
  | 'computer.sendpolicy'
  /** VM power state reported through the vmstate API (`setting` `vmState`). */
  | 'computer.vmstate'
  /** Console users (targetType `user`): sign-in and its failures (`newValue` the reason), sign-out, and the CLI's changes. */
  | 'user.signin'
  | 'user.signin.failed'
  | 'user.signout'
  | 'user.create'
  | 'user.password'
  | 'user.disable'
  | 'user.enable'
  /** Activation tokens made (`newValue`: policy, uses, expiry, what for; never the secret) and revoked. */
  | 'activationToken.create'
  | 'activationToken.revoke'
  | 'apiKey.revoke';

/** What an audit row is about. The column is free text (no CHECK): new types need no migration. */
export const AUDIT_TARGET_TYPES = [
  'policy',
  'computer',
  'firewallRule',
  'system',
  'user',
  'activationToken',
  'apiKey',
] as const;
export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

export type TokenCheck =
  | { ok: true; tokenId: number; policyId: number }
  | { ok: false; reason: 'unknown' | 'expired' | 'used-up' | 'revoked' };

export interface NewComputer {
  hostName: string;
  platform: string;
  agentVersion: string;
  policyId: number;
  certSerial: string;
  expectedFingerprint: string;
  now: number;
}

/** Computers sharing the inputs of their display status, and how many they are. */
export interface ComputerStatusGroup {
  deactivated: boolean;
  vmStopped: boolean;
  /** The offline deadline has passed. */
  offline: boolean;
  /** An applyConfiguration is in flight for the fingerprint the manager expects. */
  updating: boolean;
  /** The manager expects a fingerprint the agent has not reported applying. */
  pending: boolean;
  count: number;
}

/** What one heartbeat changes, stored in one transaction. */
export interface HeartbeatWrite {
  computerId: number;
  now: number;
  offlineDeadline: number;
  agentVersion: string;
  platform: string;
  hostName: string;
  lastIp: string | null;
  clockOffsetMs: number;
  uptimeSeconds: number;
  drivers: ComputerRecord['drivers'];
  counters: Record<string, number>;
  appliedFingerprint: string | null;
  /**
   * Absent: left as stored. The agent endpoint sets it in the same transaction, after this
   * write has locked the computer's row (see agent-endpoint.ts), rather than here.
   */
  expectedFingerprint?: string;
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  events: Array<{
    seq: number;
    time: number;
    type: string;
    severity: string;
    message: string;
    data?: Record<string, unknown>;
  }>;
}

export interface HeartbeatStored {
  /** Events newly inserted (a re-sent event is recognised by (computer, seq) and not counted). */
  eventsStored: number;
  eventsAckedThrough: number;
}

/**
 * The manager's datastore. One implementation over Kysely serves every SQL engine; engines
 * differ only by the dialect handed to it. All times are epoch ms. Methods that change several
 * rows do so in one transaction: a failure leaves nothing half-written.
 */
export interface Store {
  /** Applies pending migrations; safe to call on every start and from several nodes. */
  migrate(): Promise<void>;
  close(): Promise<void>;

  getSystemSetting(key: string): Promise<string | null>;
  setSystemSetting(key: string, value: string): Promise<void>;

  /** The manager CA, or null before the first start. */
  getCertificateAuthority(): Promise<{ certificate: string; privateKey: string } | null>;
  /** Stores the CA unless one exists (another node may have won the race); returns the stored one. */
  saveCertificateAuthorityIfAbsent(
    ca: { certificate: string; privateKey: string },
    now: number,
  ): Promise<{ certificate: string; privateKey: string }>;

  /**
   * Runs `fn` with a store bound to one transaction: everything it writes commits together when
   * it resolves and nothing does when it throws. Inside `fn`, use only the store it is given —
   * on SQLite the transaction holds the one connection, so a query on the outer store waits
   * for the transaction and never returns. Called on a transaction-bound store, it joins that
   * transaction (no savepoint: a throw aborts the whole of it).
   */
  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T>;

  /**
   * Serializes changes to the policy tree, policy/computer settings and computer policies: the
   * first statement of such a transaction, so that two concurrent changes (a move of A under B
   * and of B under A, on two nodes) cannot both pass their checks. It takes the row lock of the
   * Base Policy (a no-op update), which also makes SQLite take its write lock up front rather
   * than failing to upgrade a read transaction later. Throws outside `transaction`.
   */
  lockPolicyTree(): Promise<void>;

  /** Creates the Base Policy if absent and returns it. */
  ensureBasePolicy(now: number): Promise<PolicyRecord>;
  getPolicy(id: number): Promise<PolicyRecord | null>;
  findPolicyByName(name: string): Promise<PolicyRecord | null>;
  listPolicies(): Promise<PolicyRecord[]>;
  /** Overrides stored on each policy (the Base Policy's are its values), keyed by policy id. */
  policyOverrides(): Promise<Map<number, SettingOverrides>>;
  computerOverrides(computerId: number): Promise<SettingOverrides>;
  /** Overrides of several computers (all of them when `computerIds` is absent); computers without any are absent. */
  computerOverridesByComputer(computerIds?: readonly number[]): Promise<Map<number, SettingOverrides>>;

  /** Inserts a policy; the caller has checked the parent exists and the name is free. */
  createPolicy(p: { parentId: number; name: string; description: string; now: number }): Promise<PolicyRecord>;
  /** Changes the given properties (absent ones stay); null if no such policy. */
  updatePolicy(
    id: number,
    patch: { parentId?: number; name?: string; description?: string },
    now: number,
  ): Promise<PolicyRecord | null>;
  /**
   * Deletes a policy, its setting overrides and the activation tokens that would enrol into it
   * (they could only fail once it is gone). The caller has checked it has no children and no
   * computers. Returns whether it existed and how many tokens went with it.
   */
  deletePolicy(id: number): Promise<{ deleted: boolean; activationTokensDeleted: number }>;
  /** Stores an override, or with `value` null removes it (Inherited again). */
  setPolicySetting(policyId: number, name: string, value: string | null): Promise<void>;
  /** Stores an override on a computer, or with `value` null removes it. */
  setComputerSetting(computerId: number, name: string, value: string | null): Promise<void>;
  /** Assigns a computer another policy; false if no such computer. */
  setComputerPolicy(computerId: number, policyId: number): Promise<boolean>;
  /** Computers (active and deactivated) assigned one of these policies, by ID. */
  listComputersByPolicy(policyIds: readonly number[]): Promise<ComputerRecord[]>;
  /** Sets the fingerprint the manager expects from these computers; deactivated ones are left alone. */
  setExpectedFingerprint(computerIds: readonly number[], fingerprint: string): Promise<void>;

  insertAuditEvents(events: readonly NewAuditEvent[]): Promise<void>;
  /** Newest first; `beforeId` pages back (only rows with a smaller ID). */
  listAuditEvents(q: { limit: number; beforeId?: number }): Promise<AuditEventRecord[]>;

  createApiKey(k: {
    name: string;
    keyPrefix: string;
    secretHash: string;
    role: ApiKeyRecord['role'];
    now: number;
  }): Promise<ApiKeyRecord>;
  /** Looks a key up by the hash of its secret; revoked keys are not returned. */
  findApiKeyBySecretHash(hash: string): Promise<ApiKeyRecord | null>;
  touchApiKey(id: number, now: number): Promise<void>;
  countApiKeys(): Promise<number>;
  /** Every key, revoked ones included (audit rows keep naming them). */
  listApiKeys(): Promise<ApiKeyRecord[]>;

  createActivationToken(t: {
    tokenHash: string;
    policyId: number;
    maxUses: number | null;
    expiresAt: number | null;
    now: number;
  }): Promise<number>;
  checkActivationToken(tokenHash: string, now: number): Promise<TokenCheck>;

  /**
   * Consumes one use of the token and creates the computer, atomically: the token's use is
   * counted only if the computer is created, and a token cannot be over-used by concurrent
   * activations (the use is a conditional update).
   */
  activateComputer(tokenId: number, computer: NewComputer): Promise<ComputerRecord | 'token-used-up'>;
  getComputer(id: number): Promise<ComputerRecord | null>;
  findComputerByCertSerial(serial: string): Promise<ComputerRecord | null>;
  listComputers(): Promise<ComputerRecord[]>;
  /**
   * Computers counted by what decides their display status (core's `deriveComputerStatus`), in
   * one grouped query: a handful of rows whatever the fleet's size (`GET /metrics`).
   */
  computerStatusCounts(now: number): Promise<ComputerStatusGroup[]>;

  /** Marks the computer deactivated, which revokes its certificate; false if unknown or already so. */
  deactivateComputer(id: number, now: number): Promise<boolean>;

  recordHeartbeat(hb: HeartbeatWrite): Promise<HeartbeatStored>;

  /**
   * Returns the pending-or-sent applyConfiguration operation for this fingerprint, creating it
   * (and superseding older unfinished ones) if needed.
   */
  ensureConfigurationOperation(
    computerId: number,
    fingerprint: string,
    payload: unknown,
    now: number,
  ): Promise<OperationRecord>;
  markOperationsSent(ids: number[], now: number): Promise<void>;
  /** Records a result for an operation of this computer that is not finished yet; false otherwise. */
  completeOperation(r: {
    computerId: number;
    id: number;
    status: 'succeeded' | 'failed';
    reason: string | null;
    fingerprint: string | null;
    now: number;
  }): Promise<boolean>;
  getOperation(id: number): Promise<OperationRecord | null>;

  listEvents(computerId: number): Promise<EventRecord[]>;
}
