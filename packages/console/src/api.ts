/** The manager's REST API as the console uses it: same origin, session cookie, CSRF token on writes. */

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrfToken: string | null = null;
/** Set from the session; sent back in x-csrf-token on every write. */
export function setCsrfToken(t: string | null): void {
  csrfToken = t;
}

let onSessionEnded: () => void = () => {};
/** Called when the manager says the session has ended (401), so the console shows sign-in. */
export function whenSessionEnds(f: () => void): void {
  onSessionEnded = f;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  const res = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: string; message?: string } } | null)?.error;
    const err = new ApiError(res.status, e?.code ?? 'HTTP_ERROR', e?.message ?? `${res.status} ${res.statusText}`);
    if (res.status === 401 && path !== '/api/session') onSessionEnded();
    throw err;
  }
  return json as T;
}

export const get = <T>(path: string) => api<T>('GET', path);
export const post = <T>(path: string, body?: unknown) => api<T>('POST', path, body ?? {});
export const put = <T>(path: string, body: unknown) => api<T>('PUT', path, body);
export const del = <T = void>(path: string) => api<T>('DELETE', path);

// ----- shapes (docs/api.md) --------------------------------------------------------------------

export interface SettingValue {
  value: string | null;
  source?: string;
}
export type Settings = Record<string, SettingValue>;

export interface SettingDefinition {
  name: string;
  label: string;
  section: string;
  type: 'choice' | 'minutes-or-unlimited' | 'port';
  values: string[];
  default: string;
  readOnly: boolean;
  agentUses: boolean;
}

export interface Policy {
  ID: number;
  parentID: number | null;
  name: string;
  description: string;
  policySettings: Settings;
}

export interface Computer {
  ID: number;
  hostName: string;
  platform: string;
  agentVersion: string;
  policyID: number;
  lastAgentCommunication: number | null;
  lastIPUsed: string | null;
  activatedAt: number;
  computerStatus: { agentStatus: 'active' | 'inactive'; agentStatusMessages: string[] };
  agentClockOffsetMs: number | null;
  agentUptimeSeconds: number | null;
  hostUptimeSeconds: number | null;
  drivers: Array<{ name: string; status: string; reason?: string }>;
  configurationFingerprint: { expected: string | null; applied: string | null };
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  /** The agent port's certificate the last full handshake used (ECDSA P-256 or RSA-2048); absent from older managers. */
  tlsCertificateType?: 'ECDSA' | 'RSA' | null;
  vmState: 'running' | 'stopped' | null;
  offlineSince: number | null;
  computerSettings: Settings;
}

export interface ComputerPage {
  computers: Computer[];
  total: number;
  limit: number;
  offset: number;
}

/** A firewall rule in Deep Security's model (docs/firewall.md); members of other types are absent. */
export interface FirewallRule {
  ID: number;
  name: string;
  description: string;
  action: string;
  priority: string;
  direction: string;
  frameType: string;
  frameNot: boolean;
  protocol: string;
  protocolNot: boolean;
  sourceIPType: string;
  sourceIPValue?: string;
  sourceIPMask?: string;
  sourceIPRangeFrom?: string;
  sourceIPRangeTo?: string;
  sourceIPMultiple?: string[];
  sourceIPListID?: number;
  sourceIPNot: boolean;
  sourceMACType: string;
  sourceMACValue?: string;
  sourceMACMultiple?: string[];
  sourceMACListID?: number;
  sourceMACNot: boolean;
  sourcePortType: string;
  sourcePortMultiple?: string[];
  sourcePortListID?: number;
  sourcePortNot: boolean;
  destinationIPType: string;
  destinationIPValue?: string;
  destinationIPMask?: string;
  destinationIPRangeFrom?: string;
  destinationIPRangeTo?: string;
  destinationIPMultiple?: string[];
  destinationIPListID?: number;
  destinationIPNot: boolean;
  destinationMACType: string;
  destinationMACValue?: string;
  destinationMACMultiple?: string[];
  destinationMACListID?: number;
  destinationMACNot: boolean;
  destinationPortType: string;
  destinationPortMultiple?: string[];
  destinationPortListID?: number;
  destinationPortNot: boolean;
  created?: number;
  lastModified?: number;
}

/** An IP, MAC or port list (`/api/iplists`, `/maclists`, `/portlists`) that rules name by `…ListID`. */
export interface FirewallList {
  ID: number;
  name: string;
  description: string;
  items: string[];
}
export type FirewallListKind = 'ip' | 'mac' | 'port';

export interface EffectiveRule extends Omit<FirewallRule, 'ID' | 'created' | 'lastModified'> {
  ID: number | null;
  agentRuleID: string;
  hidden: boolean;
  source: string;
  replacesHiddenRule: boolean;
  hiddenRuleMismatches?: string[];
  counters: { packets: number; bytes: number } | null;
}

export interface EffectiveFirewall {
  computerID: number;
  firewallState: string;
  communicationDirection: string;
  listeningPort: number | null;
  hiddenRule: 'present' | 'replaced' | 'absent';
  hiddenRuleReplacedBy: number | null;
  configurationFingerprint: string;
  rules: EffectiveRule[];
}

export interface Assignments {
  ruleIDs: number[];
  inheritedRuleIDs: Array<{ ruleID: number; policyID: number }>;
  effectiveRuleIDs: number[];
}

export interface Alert {
  ID: number;
  type: string;
  name: string;
  severity: 'warning' | 'critical';
  computerID: number | null;
  hostName: string | null;
  subject: string | null;
  message: string;
  raisedAt: number;
  clearedAt: number | null;
  dismissedAt: number | null;
  dismissedBy: string | null;
  active: boolean;
}

export interface AgentEvent {
  ID: number;
  computerID: number;
  hostName: string | null;
  seq: number;
  type: string;
  severity: string;
  message: string;
  agentTime: number;
  receivedAt: number;
}

export interface Dashboard {
  computers: { total: number; byStatus: Record<string, number> };
  alerts: { active: number; recent: Alert[] };
  events: { recent: AgentEvent[] };
}

export interface SessionInfo {
  user: { name: string; role: 'full-access' | 'read-only' } | null;
  apiKey: { name: string; role: string } | null;
  csrfToken: string | null;
  expiresAt: number | null;
}

/** A console user (`/api/administrators`); the manager never sends a password or its hash. */
export interface Administrator {
  ID: number;
  username: string;
  roleID: number;
  active: boolean;
  created: number;
  lastSignIn: number | null;
  unsuccessfulSignInAttempts: number;
  unlockTime: number | null;
}
