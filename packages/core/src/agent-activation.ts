/**
 * Agent-initiated activation: the manager-wide settings that govern it, with Deep Security's
 * names and value strings (Administration > System Settings > Agents, "Agent-Initiated
 * Activation"), and the decision each activation gets. Every Palisade activation is
 * agent-initiated (the agent dials the manager); these settings say which ones are accepted
 * and what becomes of a host the manager already knows. docs/deployment.md, "Reactivation".
 */

/** `platformSettingAgentInitiatedActivationEnabled` values (Deep Security's; the IP-list variant is not offered). */
export const AGENT_INITIATED_ACTIVATION_VALUES = ['For any computers', 'For existing computers', 'Off'] as const;
export type AgentInitiatedActivation = (typeof AGENT_INITIATED_ACTIVATION_VALUES)[number];

/** A manager-wide (system) setting as data: Deep Security's API name, the values it takes, its default. */
export interface SystemSettingDefinition {
  readonly name: string;
  readonly label: string;
  readonly values: readonly string[];
  readonly default: string;
  /** What the value changes, for the API's description and the docs. */
  readonly description: string;
}

export const AGENT_ACTIVATION_SETTINGS = [
  {
    name: 'platformSettingAgentInitiatedActivationEnabled',
    label: 'Allow Agent-Initiated Activation',
    values: AGENT_INITIATED_ACTIVATION_VALUES,
    default: 'For any computers',
    description:
      'For any computers: any host with a valid token activates, new or known. For existing computers: only hosts the manager already has a computer for (their host identity) reactivate; new ones are refused. Off: every activation is refused.',
  },
  {
    name: 'platformSettingAgentInitiatedActivationReactivateClonedEnabled',
    label: 'Reactivate cloned Agents',
    values: ['true', 'false'],
    default: 'true',
    description:
      'A second live copy of a known host (a cloned VM: same host identity, not the latest continuity token) becomes a computer of its own, with a new identity (true), or is refused and goes back to Activation Required (false). An alert is raised either way.',
  },
  {
    name: 'platformSettingAgentInitiatedActivationReactivateUnknownEnabled',
    label: 'Reactivate unknown Agents',
    values: ['true', 'false'],
    default: 'true',
    description:
      'An agent holding a certificate from this manager CA that the manager has no record of (e.g. after a database restore) activates again by itself, without a token (true), or must be reset and activated with a token (false).',
  },
] as const satisfies readonly SystemSettingDefinition[];

export type AgentActivationSettingName = (typeof AGENT_ACTIVATION_SETTINGS)[number]['name'];

/** The three settings as the decision reads them. */
export interface AgentActivationSettings {
  allow: AgentInitiatedActivation;
  reactivateCloned: boolean;
  reactivateUnknown: boolean;
}

export const DEFAULT_AGENT_ACTIVATION_SETTINGS: AgentActivationSettings = {
  allow: 'For any computers',
  reactivateCloned: true,
  reactivateUnknown: true,
};

/** The settings from stored values by name (absent or unusable: the default). */
export function agentActivationSettings(
  stored: Readonly<Record<string, string | null | undefined>>,
): AgentActivationSettings {
  const allow = stored.platformSettingAgentInitiatedActivationEnabled;
  const flag = (name: AgentActivationSettingName, fallback: boolean) => {
    const v = stored[name];
    return v === 'true' ? true : v === 'false' ? false : fallback;
  };
  return {
    allow: (AGENT_INITIATED_ACTIVATION_VALUES as readonly string[]).includes(allow ?? '')
      ? (allow as AgentInitiatedActivation)
      : DEFAULT_AGENT_ACTIVATION_SETTINGS.allow,
    reactivateCloned: flag(
      'platformSettingAgentInitiatedActivationReactivateClonedEnabled',
      DEFAULT_AGENT_ACTIVATION_SETTINGS.reactivateCloned,
    ),
    reactivateUnknown: flag(
      'platformSettingAgentInitiatedActivationReactivateUnknownEnabled',
      DEFAULT_AGENT_ACTIVATION_SETTINGS.reactivateUnknown,
    ),
  };
}

/** Why `value` is not allowed for system setting `name`, or null when it is. */
export function agentActivationSettingProblem(name: string, value: unknown): string | null {
  const def = AGENT_ACTIVATION_SETTINGS.find((s) => s.name === name);
  if (!def) return `unknown system setting "${name}"`;
  if (typeof value !== 'string')
    return `setting "${name}" takes a string value, got ${value === null ? 'null' : typeof value}`;
  if (!(def.values as readonly string[]).includes(value))
    return `setting "${name}" takes one of ${def.values.map((v) => `"${v}"`).join(', ')}, got "${value}"`;
  return null;
}

/**
 * How the continuity token a host presents compares with the computer's (the manager hands a
 * new one out at every heartbeat; a copy of the host that fell behind shows it):
 * `current`/`previous` — this host is the one that last talked (previous: its last reply was
 * lost); `none-issued` — the computer never got one (nothing to compare); `absent` — the host
 * sent none though one was issued (its continuity file was deleted, the identity kept);
 * `ahead` — the host presents a token the manager does not know, but the one it held before is
 * the manager's current: the manager handed out a rotation and then lost it (a heartbeat is
 * answered before its commit reaches the disk, and the manager's host lost power in between);
 * `stale` — another copy has talked since.
 */
export type Continuity = 'current' | 'previous' | 'ahead' | 'none-issued' | 'absent' | 'stale';

/**
 * Compares hashes: `presented` is the hash of what the host sent (null: nothing), and
 * `presentedPrevious` of the token it held before that (null: none sent).
 */
export function continuityOf(
  presented: string | null,
  current: string | null,
  previous: string | null,
  presentedPrevious: string | null = null,
): Continuity {
  if (current === null) return 'none-issued';
  if (presented === null) return 'absent';
  if (presented === current) return 'current';
  if (presented === previous) return 'previous';
  if (presentedPrevious !== null && presentedPrevious === current) return 'ahead';
  return 'stale';
}

/**
 * What one heartbeat does to the continuity tokens: `rotate` hands out a new one (and the
 * one presented becomes the previous, unless it was the previous already: a retry after a lost
 * reply keeps the older one, so a copy still holding the token in between is caught), `cloned`
 * refuses the heartbeat. A host that presents no token after one was issued is refused like a
 * stale one (docs/deployment.md "Cloned hosts"): deleting the continuity file while keeping the
 * host identity is what a copy would do to pass for the original, and the original never loses
 * the file by itself (it is written atomically). Activating again with a token issues a new
 * one: that is the way back for a host whose file really was lost.
 */
export function heartbeatContinuity(c: Continuity): { action: 'rotate'; keepPrevious: boolean } | { action: 'cloned' } {
  switch (c) {
    case 'current':
    case 'ahead':
    case 'none-issued':
      return { action: 'rotate', keepPrevious: false };
    case 'previous':
      return { action: 'rotate', keepPrevious: true };
    case 'absent':
    case 'stale':
      return { action: 'cloned' };
  }
}

/** The computer an activating host's identity names, as the decision needs it. */
export interface KnownComputer {
  id: number;
  state: 'active' | 'deactivated';
  continuity: Continuity;
}

/**
 * The kinds of activation: `token` (palisade-agent activate, the deployment script),
 * `unknown` (no token: an agent whose certificate is from this CA but unknown to the manager),
 * `cloned` (no token: the copy a heartbeat found to be a clone of `original`).
 */
export type ActivationRequestKind =
  | { kind: 'token'; known: KnownComputer | null }
  | { kind: 'unknown'; known: KnownComputer | null }
  | { kind: 'cloned'; originalId: number };

export type ActivationDecision =
  /** A new computer. */
  | { action: 'create' }
  /** The known computer, activated again: same ID, history, policy, overrides. */
  | { action: 'reactivate'; computerId: number }
  /** A new computer for a copy of `originalId`; the host gets a new identity. */
  | { action: 'create-clone'; originalId: number }
  | { action: 'refuse'; code: 'ACTIVATION_NOT_ALLOWED' | 'AGENT_CLONED'; reason: string; cloneOf?: number };

const SETTING = 'platformSettingAgentInitiatedActivationEnabled';

/**
 * Decides an activation (docs/deployment.md, "Reactivation"):
 *
 * - `Off` refuses everything.
 * - A host whose identity names a computer reactivates it when it is deactivated, or active and
 *   the host is the copy that last talked (continuity current, previous, never issued or not
 *   sent). Otherwise it is a live second copy: a clone.
 * - A clone becomes a new computer when "reactivate cloned Agents" is true and new computers are
 *   allowed; otherwise it is refused (`AGENT_CLONED`).
 * - A new host (no known identity) becomes a computer only `For any computers`.
 * - Without a token, an unknown agent is accepted only when "reactivate unknown Agents" is true.
 */
export function decideActivation(s: AgentActivationSettings, r: ActivationRequestKind): ActivationDecision {
  if (s.allow === 'Off')
    return {
      action: 'refuse',
      code: 'ACTIVATION_NOT_ALLOWED',
      reason: `agent-initiated activation is Off (${SETTING})`,
    };
  const newAllowed = s.allow === 'For any computers';
  const clone = (originalId: number): ActivationDecision => {
    if (!s.reactivateCloned)
      return {
        action: 'refuse',
        code: 'AGENT_CLONED',
        reason: `this host is a copy of computer ${originalId} (same host identity) and reactivating cloned agents is off (platformSettingAgentInitiatedActivationReactivateClonedEnabled)`,
        cloneOf: originalId,
      };
    if (!newAllowed)
      return {
        action: 'refuse',
        code: 'AGENT_CLONED',
        reason: `this host is a copy of computer ${originalId}; it would be a new computer, and ${SETTING} is "For existing computers"`,
        cloneOf: originalId,
      };
    return { action: 'create-clone', originalId };
  };
  if (r.kind === 'cloned') return clone(r.originalId);
  if (r.kind === 'unknown' && !s.reactivateUnknown)
    return {
      action: 'refuse',
      code: 'ACTIVATION_NOT_ALLOWED',
      reason:
        'this manager has no record of the certificate and reactivating unknown agents is off (platformSettingAgentInitiatedActivationReactivateUnknownEnabled): reset the agent and activate it with a token',
    };
  const k = r.known;
  if (k) {
    if (k.state === 'deactivated' || k.continuity !== 'stale') return { action: 'reactivate', computerId: k.id };
    return clone(k.id);
  }
  if (!newAllowed)
    return {
      action: 'refuse',
      code: 'ACTIVATION_NOT_ALLOWED',
      reason: `${SETTING} is "For existing computers" and this host is not one the manager knows`,
    };
  return { action: 'create' };
}
