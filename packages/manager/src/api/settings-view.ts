import { type ResolvedSettings, SETTINGS_CATALOG, type SettingName, type SettingOverrides } from '@palisade/core';
import type { SettingRead } from '../services/policy-service.js';

/** `{"value": "…"}` per setting, Deep Security's SettingValue, with `source` on effective reads. */
export interface SettingValueView {
  value: string | null;
  source?: string;
}

/**
 * The `policySettings` / `computerSettings` object. Effective (default): every setting's value
 * and where it comes from. `overridesOnly`: what the object itself holds, `{"value": null}`
 * where it inherits — except on the Base Policy, which inherits nothing.
 */
export function settingsView(
  d: { resolved: ResolvedSettings; overrides: SettingOverrides },
  o: { overridesOnly: boolean; inheritsNothing: boolean },
): Record<SettingName, SettingValueView> {
  const out = {} as Record<SettingName, SettingValueView>;
  for (const { name } of SETTINGS_CATALOG) {
    if (!o.overridesOnly) out[name] = { value: d.resolved.values[name], source: d.resolved.sources[name] };
    else out[name] = { value: o.inheritsNothing ? d.resolved.values[name] : (d.overrides[name] ?? null) };
  }
  return out;
}

/** One setting, as `GET/POST/DELETE …/settings/{name}` return it. */
export function settingReadView(r: SettingRead, overridesOnly: boolean): SettingValueView {
  return overridesOnly ? { value: r.own } : { value: r.value, source: r.source };
}
