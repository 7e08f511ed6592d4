import {
  AGENT_ACTIVATION_SETTINGS,
  type AgentActivationSettingName,
  type AgentActivationSettings,
  agentActivationSettings,
} from '@palisade/core';
import type { Store } from '../store/store.js';
import type { SystemSettingsRegistry } from './system-settings-registry.js';

/**
 * Adds the agent-initiated activation settings (core's agent-activation.ts: Deep Security's
 * names and values) to the manager-wide settings registry, so `/api/systemsettings` lists,
 * checks and stores them under their names like any other.
 */
export function registerAgentActivationSettings(registry: SystemSettingsRegistry): void {
  for (const s of AGENT_ACTIVATION_SETTINGS)
    registry.register({ name: s.name, description: s.description, default: s.default, values: s.values });
}

/** The settings in force, read from where the registry stores them (absent or unusable: the default). */
export async function agentActivationSettingsOf(
  store: Pick<Store, 'systemSettings'>,
): Promise<AgentActivationSettings> {
  const stored: Partial<Record<AgentActivationSettingName, string | null>> = {};
  for (const s of AGENT_ACTIVATION_SETTINGS) stored[s.name] = await store.systemSettings.get(s.name);
  return agentActivationSettings(stored);
}
