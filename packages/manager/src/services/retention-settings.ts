import { checkRetentionValue, RETENTION_SETTINGS } from '@palisade/core';
import type { SystemSettingsRegistry } from './system-settings-registry.js';

/**
 * Adds the retention settings (core's retention.ts: Deep Security's names where it has them) to
 * the manager-wide settings registry; the pruner (monitor/retention-pruner.ts) reads them at
 * each pass, so a change takes effect at the next one.
 */
export function registerRetentionSettings(registry: SystemSettingsRegistry): void {
  for (const s of RETENTION_SETTINGS)
    registry.register({
      name: s.name,
      description: s.description,
      default: s.default,
      check: (value) => checkRetentionValue(s, value),
    });
}
