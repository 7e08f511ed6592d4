import { sha256Fingerprint } from './canonical-json.js';
import {
  type FirewallListContents,
  firewallRuleListReferences,
  listContentsFor,
  validateFirewallListContents,
} from './firewall-lists.js';
import { type FirewallRule, validateFirewallRules } from './firewall-rule.js';
import { HEARTBEAT_MISSED_THRESHOLD } from './heartbeat-timing.js';
import { DEFAULT_AGENT_LISTENING_PORT, type SettingValues } from './settings-catalog.js';

export type AgentDirection = 'agent-initiated' | 'manager-initiated' | 'bidirectional';

/**
 * What the agent is told to enforce. Everything here, and nothing else, feeds the fingerprint,
 * so the fingerprint changes exactly when a value the agent uses changes.
 */
export interface SecurityConfiguration {
  readonly schema: 1;
  readonly heartbeat: { readonly intervalSeconds: number; readonly missedThreshold: number };
  /**
   * Manager addresses (`dsm://HOST:PORT/`) the agent tries in order before the one it activated
   * with: the nodes sharing the manager's database, or the load balancer in front of them.
   * Absent when none is advertised, so a single manager's fingerprints stay what they were.
   */
  readonly managers?: readonly string[];
  readonly communication: {
    readonly direction: AgentDirection;
    /** True when the agent must listen on `listeningPort` (Bidirectional, Manager Initiated). */
    readonly listen: boolean;
    readonly listeningPort: number;
  };
  readonly firewall: {
    readonly state: 'On' | 'Off';
    /** Validated rules (firewall-rule.ts), as JSON. */
    readonly rules: readonly unknown[];
    /** The items of the IP, MAC and port lists the rules name; absent when they name none. */
    readonly lists?: FirewallListContents;
  };
}

const DIRECTIONS: Record<string, AgentDirection> = {
  'Agent/Appliance Initiated': 'agent-initiated',
  'Manager Initiated': 'manager-initiated',
  Bidirectional: 'bidirectional',
};

export function agentDirection(setting: string): AgentDirection {
  const d = DIRECTIONS[setting];
  if (!d) throw new RangeError(`unknown communication direction "${setting}"`);
  return d;
}

export interface ConfigurationInputs {
  readonly settings: SettingValues;
  readonly heartbeatIntervalSeconds: number;
  /** Overrides `settings.platformSettingAgentListeningPort` (tests); omitted means the setting's. */
  readonly listeningPort?: number;
  /** The computer's effective rules (policy chain and its own). Omitted means none. */
  readonly firewallRules?: readonly FirewallRule[];
  /** The items of (at least) every list the rules name, by ID. */
  readonly firewallLists?: FirewallListContents;
  /** The manager addresses agents try in order; omitted or empty means none is advertised. */
  readonly managers?: readonly string[];
}

export function buildSecurityConfiguration(inputs: ConfigurationInputs): SecurityConfiguration {
  const rules = inputs.firewallRules ?? [];
  const direction = agentDirection(inputs.settings.platformSettingAgentCommunicationsDirection);
  return {
    schema: 1,
    heartbeat: { intervalSeconds: inputs.heartbeatIntervalSeconds, missedThreshold: HEARTBEAT_MISSED_THRESHOLD },
    ...(inputs.managers && inputs.managers.length > 0 ? { managers: inputs.managers } : {}),
    communication: {
      direction,
      listen: direction !== 'agent-initiated',
      listeningPort: inputs.listeningPort ?? listeningPortSetting(inputs.settings),
    },
    firewall: {
      state: inputs.settings.firewallSettingState === 'Off' ? 'Off' : 'On',
      rules,
      // Only when used, so that computers whose rules name no list keep the shape (and
      // fingerprint) they had before lists existed.
      ...(rules.some((r) => firewallRuleListReferences(r).length > 0)
        ? { lists: listContentsFor(rules, inputs.firewallLists ?? NO_LISTS) }
        : {}),
    },
  };
}

/** The port the setting names; the default for a value that is not one (settings are validated when written). */
function listeningPortSetting(settings: SettingValues): number {
  const port = Number(settings.platformSettingAgentListeningPort);
  return Number.isInteger(port) && port >= 1 && port <= 65535 ? port : DEFAULT_AGENT_LISTENING_PORT;
}

const NO_LISTS: FirewallListContents = { ipLists: {}, macLists: {}, portLists: {} };

export type FirewallConfigurationValidation =
  | { readonly ok: true; readonly rules: readonly FirewallRule[]; readonly lists: FirewallListContents }
  | { readonly ok: false; readonly problems: readonly string[] };

/**
 * Validates a configuration's `firewall` as the agent receives it: the rules, the list items, and
 * that every list a rule names is there. Problems name the rule index or list.
 */
export function validateFirewallConfiguration(
  firewall: SecurityConfiguration['firewall'],
): FirewallConfigurationValidation {
  const rules = validateFirewallRules(firewall.rules);
  const lists = validateFirewallListContents(firewall.lists);
  const problems = [...(rules.ok ? [] : rules.problems), ...(lists.ok ? [] : lists.problems)];
  if (!rules.ok || !lists.ok) return { ok: false, problems };
  try {
    listContentsFor(rules.rules, lists.lists);
  } catch (e) {
    return { ok: false, problems: [(e as Error).message] };
  }
  return { ok: true, rules: rules.rules, lists: lists.lists };
}

/** SHA-256 of the RFC 8785 canonical JSON of the configuration (docs/architecture.md "The heartbeat"). */
export function configurationFingerprint(config: SecurityConfiguration): Promise<string> {
  return sha256Fingerprint(config);
}
