import { sha256Fingerprint } from './canonical-json.js';
import { HEARTBEAT_MISSED_THRESHOLD } from './heartbeat-timing.js';
import type { SettingValues } from './settings-catalog.js';

/** Default port the agent listens on in Bidirectional and Manager Initiated modes. */
export const DEFAULT_AGENT_LISTENING_PORT = 4118;

export type AgentDirection = 'agent-initiated' | 'manager-initiated' | 'bidirectional';

/**
 * What the agent is told to enforce. Everything here, and nothing else, feeds the fingerprint,
 * so the fingerprint changes exactly when a value the agent uses changes.
 */
export interface SecurityConfiguration {
  readonly schema: 1;
  readonly heartbeat: { readonly intervalSeconds: number; readonly missedThreshold: number };
  readonly communication: {
    readonly direction: AgentDirection;
    /** True when the agent must listen on `listeningPort` (Bidirectional, Manager Initiated). */
    readonly listen: boolean;
    readonly listeningPort: number;
  };
  readonly firewall: { readonly state: 'On' | 'Off'; readonly rules: readonly unknown[] };
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
  readonly listeningPort?: number;
  readonly firewallRules?: readonly unknown[];
}

export function buildSecurityConfiguration(inputs: ConfigurationInputs): SecurityConfiguration {
  const direction = agentDirection(inputs.settings.platformSettingAgentCommunicationsDirection);
  return {
    schema: 1,
    heartbeat: { intervalSeconds: inputs.heartbeatIntervalSeconds, missedThreshold: HEARTBEAT_MISSED_THRESHOLD },
    communication: {
      direction,
      listen: direction !== 'agent-initiated',
      listeningPort: inputs.listeningPort ?? DEFAULT_AGENT_LISTENING_PORT,
    },
    firewall: {
      state: inputs.settings.firewallSettingState === 'Off' ? 'Off' : 'On',
      rules: inputs.firewallRules ?? [],
    },
  };
}

/** SHA-256 of the RFC 8785 canonical JSON of the configuration (DESIGN.md "The heartbeat"). */
export function configurationFingerprint(config: SecurityConfiguration): Promise<string> {
  return sha256Fingerprint(config);
}
