/**
 * Manager-wide settings, Deep Security's `/api/systemsettings`: one registry that features add
 * their settings to (the agent endpoint's TLS policy, agent-initiated activation, …), so the
 * routes list, read, check, write and reset every one of them the same way. Names are Deep
 * Security's where it has the setting (`platformSetting…`), so its scripts address them unchanged.
 */

/** A setting as a feature registers it. */
export interface SystemSettingDefinition {
  /** Deep Security's name where it has the setting (`platformSetting…`, `firewallSetting…`), else `palisadeSetting…`; unique. */
  readonly name: string;
  /** What it does, for the API document and `GET /api/systemsettings` readers. */
  readonly description: string;
  /** The value in force when none was written; what a reset returns to. */
  readonly default: string;
  /** The values it takes, when they are a fixed set (checked, and listed in the message of a refusal). */
  readonly values?: readonly string[];
  /** Why `value` is refused (other than not being one of `values`); null when it is fine. */
  readonly check?: (value: string) => string | null;
  /**
   * For a setting whose value lives elsewhere than the settings table (the agent endpoint's TLS
   * policy is applied to live listeners first): reads the value in force, and writes a checked
   * value, auditing it. Without it the value is stored under `name`, in the change's transaction.
   */
  readonly custom?: {
    read(): Promise<string>;
    write(value: string, actor: string): Promise<void>;
  };
}

/** The registered system settings, in registration order. */
export class SystemSettingsRegistry {
  readonly #byName = new Map<string, SystemSettingDefinition>();

  /**
   * @throws Error when the name is taken, is not `platformSetting…` or `firewallSetting…` (Deep
   * Security's platform and Firewall module system settings) or
   * `palisadeSetting…` (Palisade's own; this keeps stored settings apart from the manager's
   * internal rows in the same table), or the default is not a value the setting takes.
   */
  register(def: SystemSettingDefinition): void {
    if (!/^(platform|firewall|palisade)Setting[A-Z][A-Za-z0-9]*$/.test(def.name))
      throw new Error(`system setting "${def.name}": names are platformSetting…, firewallSetting… or palisadeSetting…`);
    if (this.#byName.has(def.name)) throw new Error(`system setting "${def.name}" is registered twice`);
    const problem = checkValue(def, def.default);
    if (problem) throw new Error(`system setting "${def.name}": its default is refused: ${problem}`);
    this.#byName.set(def.name, def);
  }

  list(): readonly SystemSettingDefinition[] {
    return [...this.#byName.values()];
  }

  get(name: string): SystemSettingDefinition | undefined {
    return this.#byName.get(name);
  }
}

/** Why `value` is not one `def` takes; null when it is. */
export function checkValue(def: SystemSettingDefinition, value: string): string | null {
  if (def.values && !def.values.includes(value))
    return `"${value}" is not one of ${def.values.map((v) => `"${v}"`).join(', ')}`;
  return def.check?.(value) ?? null;
}
