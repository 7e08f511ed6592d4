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

export type TokenCheck =
  | { ok: true; tokenId: number; policyId: number }
  | { ok: false; reason: 'unknown' | 'expired' | 'used-up' };

export interface NewComputer {
  hostName: string;
  platform: string;
  agentVersion: string;
  policyId: number;
  certSerial: string;
  expectedFingerprint: string;
  now: number;
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
  expectedFingerprint: string;
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  events: Array<{ seq: number; time: number; type: string; severity: string; message: string; data?: Record<string, unknown> }>;
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
  saveCertificateAuthorityIfAbsent(ca: { certificate: string; privateKey: string }, now: number): Promise<{ certificate: string; privateKey: string }>;

  /** Creates the Base Policy if absent and returns it. */
  ensureBasePolicy(now: number): Promise<PolicyRecord>;
  getPolicy(id: number): Promise<PolicyRecord | null>;
  findPolicyByName(name: string): Promise<PolicyRecord | null>;
  listPolicies(): Promise<PolicyRecord[]>;
  /** Overrides stored on each policy (the Base Policy's are its values), keyed by policy id. */
  policyOverrides(): Promise<Map<number, SettingOverrides>>;
  computerOverrides(computerId: number): Promise<SettingOverrides>;

  createApiKey(k: { name: string; keyPrefix: string; secretHash: string; role: ApiKeyRecord['role']; now: number }): Promise<ApiKeyRecord>;
  /** Looks a key up by the hash of its secret; revoked keys are not returned. */
  findApiKeyBySecretHash(hash: string): Promise<ApiKeyRecord | null>;
  touchApiKey(id: number, now: number): Promise<void>;
  countApiKeys(): Promise<number>;

  createActivationToken(t: { tokenHash: string; policyId: number; maxUses: number | null; expiresAt: number | null; now: number }): Promise<number>;
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

  /** Marks the computer deactivated, which revokes its certificate; false if unknown or already so. */
  deactivateComputer(id: number, now: number): Promise<boolean>;

  recordHeartbeat(hb: HeartbeatWrite): Promise<HeartbeatStored>;

  /**
   * Returns the pending-or-sent applyConfiguration operation for this fingerprint, creating it
   * (and superseding older unfinished ones) if needed.
   */
  ensureConfigurationOperation(computerId: number, fingerprint: string, payload: unknown, now: number): Promise<OperationRecord>;
  markOperationsSent(ids: number[], now: number): Promise<void>;
  /** Records a result for an operation of this computer that is not finished yet; false otherwise. */
  completeOperation(r: { computerId: number; id: number; status: 'succeeded' | 'failed'; reason: string | null; fingerprint: string | null; now: number }): Promise<boolean>;
  getOperation(id: number): Promise<OperationRecord | null>;

  listEvents(computerId: number): Promise<EventRecord[]>;
}
