/**
 * The settings catalog: every setting a policy or computer can carry, as data.
 *
 * Names and value strings are Deep Security's REST API ones where it has them, so operators'
 * scripts fit. `agentUses` marks settings that are part of the security configuration sent to
 * the agent (and so of its fingerprint); the others are read only by the manager.
 */
/** Default port the agent listens on in Bidirectional and Manager Initiated modes (Deep Security's). */
export const DEFAULT_AGENT_LISTENING_PORT = 4118;

export type SettingSection =
  | 'Settings > General > Heartbeat'
  | 'Settings > General > Communication Direction'
  | 'Firewall';

export interface SettingDefinition {
  readonly name: string;
  readonly label: string;
  readonly section: SettingSection;
  /**
   * Allowed values; `minutes-or-unlimited` accepts `Unlimited` or a whole number of minutes ≥ 1;
   * `port` a TCP port number 1–65535 (`values` is then empty).
   */
  readonly type: 'choice' | 'minutes-or-unlimited' | 'port';
  readonly values: readonly string[];
  /** The Base Policy's value on a new manager. */
  readonly default: string;
  /** Shown, never written: the spec fixes the heartbeat interval and missed threshold. */
  readonly readOnly: boolean;
  readonly agentUses: boolean;
}

export const COMMUNICATION_DIRECTIONS = ['Bidirectional', 'Manager Initiated', 'Agent/Appliance Initiated'] as const;
export type CommunicationDirection = (typeof COMMUNICATION_DIRECTIONS)[number];

export const SETTINGS_CATALOG = [
  {
    name: 'platformSettingAgentCommunicationsDirection',
    label: 'Direction of Workload Security Manager to Agent/Appliance communication',
    section: 'Settings > General > Communication Direction',
    type: 'choice',
    values: COMMUNICATION_DIRECTIONS,
    default: 'Agent/Appliance Initiated',
    readOnly: false,
    agentUses: true,
  },
  {
    // Deep Security sets its agents' port at install and has no policy setting for it; the name
    // follows its `platformSetting…` ones. Inherited like the others, so a policy or a single
    // computer can move it; the agent's listener, the hidden rule, its nftables table and its
    // listener guard all follow it (docs/communication.md "Listening port").
    name: 'platformSettingAgentListeningPort',
    label: 'Agent listening port',
    section: 'Settings > General > Communication Direction',
    type: 'port',
    values: [],
    default: String(DEFAULT_AGENT_LISTENING_PORT),
    readOnly: false,
    agentUses: true,
  },
  {
    name: 'platformSettingHeartbeatInterval',
    label: 'Heartbeat Interval',
    section: 'Settings > General > Heartbeat',
    type: 'choice',
    values: ['10 Minutes'],
    default: '10 Minutes',
    readOnly: true,
    agentUses: false,
  },
  {
    name: 'platformSettingHeartbeatMissedAlertThreshold',
    label: 'Number of Heartbeats that can be missed before an alert is raised',
    section: 'Settings > General > Heartbeat',
    type: 'choice',
    values: ['2'],
    default: '2',
    readOnly: true,
    agentUses: false,
  },
  {
    name: 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled',
    label: 'Raise Offline Errors For Inactive Virtual Machines',
    section: 'Settings > General > Heartbeat',
    type: 'choice',
    values: ['true', 'false'],
    default: 'false',
    readOnly: false,
    agentUses: false,
  },
  {
    name: 'platformSettingHeartbeatLocalTimeShiftAlertThreshold',
    label: 'Raise Alert when Local Time Shift exceeds (minutes)',
    section: 'Settings > General > Heartbeat',
    type: 'minutes-or-unlimited',
    values: ['Unlimited'],
    default: 'Unlimited',
    readOnly: false,
    agentUses: false,
  },
  {
    name: 'firewallSettingState',
    label: 'Firewall',
    section: 'Firewall',
    type: 'choice',
    values: ['On', 'Off'],
    default: 'On',
    readOnly: false,
    agentUses: true,
  },
] as const satisfies readonly SettingDefinition[];

export type SettingName = (typeof SETTINGS_CATALOG)[number]['name'];
export type SettingValues = Record<SettingName, string>;
/** Overrides stored on one policy or computer: a missing name means Inherited. */
export type SettingOverrides = Partial<Record<SettingName, string>>;

const BY_NAME: ReadonlyMap<string, SettingDefinition> = new Map(SETTINGS_CATALOG.map((s) => [s.name, s]));

export function findSetting(name: string): SettingDefinition | undefined {
  return BY_NAME.get(name);
}

export function isSettingName(name: string): name is SettingName {
  return BY_NAME.has(name);
}

/** The Base Policy's values on a new manager. */
export function defaultSettings(): SettingValues {
  return Object.fromEntries(SETTINGS_CATALOG.map((s) => [s.name, s.default])) as SettingValues;
}

/**
 * Checks that `value` is allowed for setting `name`. Returns the reason it is not, or null.
 * Read-only settings reject every write, including their own current value.
 */
export function settingValueProblem(name: string, value: unknown): string | null {
  const def = BY_NAME.get(name);
  if (!def) return `unknown setting "${name}"`;
  if (def.readOnly) return `setting "${name}" is read-only (fixed at ${def.default})`;
  if (typeof value !== 'string')
    return `setting "${name}" takes a string value, got ${value === null ? 'null' : typeof value}`;
  if (def.type === 'port') {
    if (/^[1-9][0-9]{0,4}$/.test(value) && Number(value) <= 65535) return null;
    return `setting "${name}" takes a TCP port number from 1 to 65535, got "${value}"`;
  }
  if (def.type === 'minutes-or-unlimited') {
    if (value === 'Unlimited' || /^[1-9][0-9]{0,5}$/.test(value)) return null;
    return `setting "${name}" takes "Unlimited" or a whole number of minutes from 1 to 999999, got "${value}"`;
  }
  if (!def.values.includes(value)) {
    return `setting "${name}" takes one of ${def.values.map((v) => `"${v}"`).join(', ')}, got "${value}"`;
  }
  return null;
}
