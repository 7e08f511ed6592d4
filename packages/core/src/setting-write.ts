import { type AgentPlatform, isMacOs } from './effective-settings.js';
import { findSetting, type SettingName, type SettingOverrides, settingValueProblem } from './settings-catalog.js';

/**
 * One write of one setting on a policy or a computer.
 *
 * `value: null` means "return to Inherited" (remove the override). Any other non-string value
 * (a number, undefined from a missing JSON member) is an invalid value, not a removal.
 */
export interface SettingWrite {
  readonly target: 'policy' | 'computer';
  /** Only for `target: 'policy'`; default false. The Base Policy cannot return to Inherited. */
  readonly isBasePolicy?: boolean;
  /**
   * Only for `target: 'computer'`, as the agent reports it. null/undefined (not yet known, e.g.
   * before activation) means no platform rule is checked.
   */
  readonly platform?: AgentPlatform | null | undefined;
  readonly name: string;
  readonly value: unknown;
}

export type SettingWriteProblemCode =
  | 'unknown-setting'
  | 'read-only'
  | 'invalid-value'
  | 'macos-direction'
  | 'base-policy-inherit';

/** Why a write is rejected. `message` is for people (and API responses); branch on `code`. */
export interface SettingWriteProblem {
  readonly code: SettingWriteProblemCode;
  readonly message: string;
  readonly name: string;
}

const DIRECTION: SettingName = 'platformSettingAgentCommunicationsDirection';
const AGENT_INITIATED = 'Agent/Appliance Initiated';

/**
 * Returns why a write is rejected, or null when it may be stored. Checked in this order:
 * unknown name; read-only (any write, including a removal or the fixed value itself);
 * a removal on the Base Policy (it has no parent to inherit from); the value
 * (`settingValueProblem`); and, on a macOS computer, a direction other than Agent/Appliance
 * Initiated. A policy may hold any valid direction even if macOS computers use it: they stay
 * agent-initiated while the policy's Linux and Windows computers follow it.
 */
export function checkSettingWrite(write: SettingWrite): SettingWriteProblem | null {
  const { name, value } = write;
  const def = findSetting(name);
  if (!def) return { code: 'unknown-setting', name, message: `unknown setting "${name}"` };
  if (def.readOnly) {
    return {
      code: 'read-only',
      name,
      message: `setting "${name}" is read-only: it is fixed at "${def.default}" and cannot be changed or overridden`,
    };
  }
  if (value === null) {
    if (write.target === 'policy' && write.isBasePolicy) {
      return {
        code: 'base-policy-inherit',
        name,
        message: `setting "${name}" cannot be Inherited on the Base Policy: it has no parent policy, so it must keep a value`,
      };
    }
    return null;
  }
  const problem = settingValueProblem(name, value);
  if (problem) return { code: 'invalid-value', name, message: problem };
  if (write.target === 'computer' && name === DIRECTION && value !== AGENT_INITIATED && isMacOs(write.platform)) {
    return {
      code: 'macos-direction',
      name,
      message: `setting "${name}" cannot be "${String(value)}" on a macOS computer: macOS agents support only agent-initiated communication ("${AGENT_INITIATED}")`,
    };
  }
  return null;
}

/**
 * The overrides after a write that `checkSettingWrite` accepted: `value` stored, or with `null`
 * the name removed (Inherited). Returns a new object; `overrides` is not changed.
 */
export function applySettingWrite(
  overrides: SettingOverrides,
  name: SettingName,
  value: string | null,
): SettingOverrides {
  const next: SettingOverrides = { ...overrides };
  if (value === null) delete next[name];
  else next[name] = value;
  return next;
}
