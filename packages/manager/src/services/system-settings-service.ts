import { TLS_POLICY_NAMES } from '@palisade/core';
import { PalisadeError } from '../errors.js';
import type { NewAuditEvent, Store } from '../store/store.js';
import { registerAgentActivationSettings } from './agent-activation-settings.js';
import { registerDestinationSettings } from './destination-settings.js';
import { registerRetentionSettings } from './retention-settings.js';
import { checkValue, type SystemSettingDefinition, SystemSettingsRegistry } from './system-settings-registry.js';
import type { TlsPolicyService } from './tls-policy-service.js';

/** Palisade's own name for the agent endpoint's TLS policy (Deep Security has no such setting). */
export const AGENT_TLS_POLICY_SYSTEM_SETTING = 'palisadeSettingAgentTlsPolicy';

/**
 * The registry with the settings every manager has; features add theirs to it (register) before
 * the API server is built, so its document lists them.
 */
export function builtInSystemSettings(tlsPolicy: TlsPolicyService): SystemSettingsRegistry {
  const registry = new SystemSettingsRegistry();
  registry.register({
    name: AGENT_TLS_POLICY_SYSTEM_SETTING,
    description:
      'TLS policy of the agent endpoint (docs/tls.md): applied to the live listeners at once; same as POST /api/tls/policy.',
    default: 'modern',
    values: TLS_POLICY_NAMES,
    custom: {
      read: async () => (await tlsPolicy.current()).name,
      write: async (value, actor) => {
        await tlsPolicy.change(value, actor);
      },
    },
  });
  registerAgentActivationSettings(registry);
  registerRetentionSettings(registry);
  registerDestinationSettings(registry);
  return registry;
}

/**
 * The manager-wide settings of the registry (system-settings-registry.ts), read and written the
 * way `/api/systemsettings` does: every value checked before anything is written, the stored
 * ones in one transaction with their audit rows (`system.setting`), settings with their own
 * write path (the TLS policy, applied to live listeners) each through it. A null value resets a
 * setting to its default.
 */
export class SystemSettingsService {
  constructor(
    private readonly store: Store,
    readonly registry: SystemSettingsRegistry,
    private readonly now: () => number = Date.now,
  ) {}

  /** Every setting's value in force, by name, in registration order. */
  async list(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const def of this.registry.list()) out[def.name] = await this.value(def);
    return out;
  }

  /** One setting's value in force; SYSTEM_SETTING_NAME_UNKNOWN (400) for a name not registered. */
  async get(name: string): Promise<string> {
    return this.value(this.definition(name));
  }

  /**
   * Writes several settings (null: back to the default). All are checked first, and nothing is
   * written when one is refused; stored settings commit together.
   */
  async write(changes: Readonly<Record<string, string | null>>, actor: string): Promise<void> {
    const problems: string[] = [];
    const checked: { def: SystemSettingDefinition; value: string }[] = [];
    for (const [name, given] of Object.entries(changes)) {
      const def = this.definition(name);
      const value = given ?? def.default;
      const problem = checkValue(def, value);
      if (problem) problems.push(`${name}: ${problem}`);
      else checked.push({ def, value });
    }
    if (problems.length > 0) throw new PalisadeError('SYSTEM_SETTING_VALUE_INVALID', problems.join('; '));
    const stored = checked.filter((c) => !c.def.custom);
    if (stored.length > 0) {
      await this.store.transaction(async (tx) => {
        const rows: NewAuditEvent[] = [];
        for (const { def, value } of stored) {
          const before = (await tx.systemSettings.get(def.name)) ?? def.default;
          if (before === value) continue;
          await tx.systemSettings.set(def.name, value);
          rows.push({
            time: this.now(),
            actor,
            action: 'system.setting',
            targetType: 'system',
            targetId: null,
            setting: def.name,
            oldValue: before,
            newValue: value,
          });
        }
        await tx.audit.insert(rows);
      });
    }
    for (const { def, value } of checked) if (def.custom) await def.custom.write(value, actor);
  }

  private definition(name: string): SystemSettingDefinition {
    const def = this.registry.get(name);
    if (!def)
      throw new PalisadeError(
        'SYSTEM_SETTING_NAME_UNKNOWN',
        `"${name}" is not a system setting of this manager (the settings: ${this.registry
          .list()
          .map((d) => d.name)
          .join(', ')})`,
      );
    return def;
  }

  private async value(def: SystemSettingDefinition): Promise<string> {
    if (def.custom) return def.custom.read();
    return (await this.store.systemSettings.get(def.name)) ?? def.default;
  }
}
