import { defaultSettings, SETTINGS_CATALOG, type SettingOverrides, type SettingValues } from './settings-catalog.js';

/** Platforms as agents report them (`process.platform` names). */
export type AgentPlatform = 'linux' | 'win32' | 'darwin' | (string & {});

/** macOS agents support only agent-initiated communication (spec: "For macOS agents, only Agent Initiated communication is supported"). */
export function isMacOs(platform: AgentPlatform | null | undefined): boolean {
  return platform === 'darwin';
}

/**
 * Effective values for one computer: for each setting, the first override found walking
 * `chain` (computer first, then its policy, then that policy's parents), else the Base
 * Policy's value in `base`. Read-only settings always take their fixed value. A macOS
 * computer's direction is always Agent/Appliance Initiated, whatever its policies say.
 */
export function resolveEffectiveSettings(
  chain: readonly SettingOverrides[],
  base: SettingOverrides = {},
  platform?: AgentPlatform | null,
): SettingValues {
  const values = defaultSettings();
  for (const def of SETTINGS_CATALOG) {
    if (def.readOnly) continue;
    const found = chain.find((o) => o[def.name] !== undefined)?.[def.name] ?? base[def.name];
    if (found !== undefined) values[def.name] = found;
  }
  if (isMacOs(platform)) values.platformSettingAgentCommunicationsDirection = 'Agent/Appliance Initiated';
  return values;
}
