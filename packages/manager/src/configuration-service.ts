import {
  buildSecurityConfiguration,
  configurationFingerprint,
  resolveEffectiveSettings,
  type SecurityConfiguration,
  type SettingOverrides,
  type SettingValues,
} from '@palisade/core';
import type { Store } from './store/store.js';

export interface EffectiveConfiguration {
  settings: SettingValues;
  configuration: SecurityConfiguration;
  fingerprint: string;
}

/**
 * Computes what a computer should run: its effective settings (computer → policy → parents →
 * Base Policy) and the security configuration built from them, with its fingerprint.
 */
export class ConfigurationService {
  constructor(
    private readonly store: Store,
    private readonly heartbeatIntervalSeconds: number,
  ) {}

  async forComputer(c: { id: number; policyId: number; platform: string }): Promise<EffectiveConfiguration> {
    const [policies, overrides, own] = await Promise.all([
      this.store.listPolicies(),
      this.store.policyOverrides(),
      this.store.computerOverrides(c.id),
    ]);
    return this.build(own, c.policyId, c.platform, policies, overrides);
  }

  /** For a computer that does not exist yet (activation): its policy's values only. */
  async forNewComputer(policyId: number, platform: string): Promise<EffectiveConfiguration> {
    const [policies, overrides] = await Promise.all([this.store.listPolicies(), this.store.policyOverrides()]);
    return this.build({}, policyId, platform, policies, overrides);
  }

  private async build(
    own: SettingOverrides,
    policyId: number,
    platform: string,
    policies: Array<{ id: number; parentId: number | null }>,
    overrides: Map<number, SettingOverrides>,
  ): Promise<EffectiveConfiguration> {
    const byId = new Map(policies.map((p) => [p.id, p]));
    const chain: SettingOverrides[] = [own];
    const seen = new Set<number>();
    for (let p = byId.get(policyId); p && !seen.has(p.id); p = p.parentId === null ? undefined : byId.get(p.parentId)) {
      seen.add(p.id);
      chain.push(overrides.get(p.id) ?? {});
    }
    const settings = resolveEffectiveSettings(chain, {}, platform);
    const configuration = buildSecurityConfiguration({ settings, heartbeatIntervalSeconds: this.heartbeatIntervalSeconds });
    return { settings, configuration, fingerprint: await configurationFingerprint(configuration) };
  }
}
