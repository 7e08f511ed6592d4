import { configurationFingerprint, type SecurityConfiguration } from '@palisade/core';
import type { EnforcementEngine } from './enforcement-engine.js';
import { FirewallEngine } from './firewall/firewall-engine.js';
import { withLocalListeningPort } from './listener-settings.js';
import type { StateDir } from './state-dir.js';

export type ApplyOutcome = { ok: true; fingerprint: string } | { ok: false; reason: string };

function isConfiguration(c: unknown): c is SecurityConfiguration {
  const x = c as SecurityConfiguration;
  return (
    typeof x === 'object' &&
    x !== null &&
    x.schema === 1 &&
    typeof x.heartbeat?.intervalSeconds === 'number' &&
    x.heartbeat.intervalSeconds >= 1 &&
    typeof x.communication?.direction === 'string' &&
    (x.firewall?.state === 'On' || x.firewall?.state === 'Off')
  );
}

/**
 * Applies a security configuration: checks it is one this agent understands and that its
 * fingerprint is what the manager says (so agent and manager agree on what "applied" means),
 * then has `engine` enforce it (default: the nftables firewall), then records it durably.
 */
export async function applyConfiguration(
  state: StateDir,
  configuration: unknown,
  expectedFingerprint: string,
  engine: EnforcementEngine = FirewallEngine.forState(state),
): Promise<ApplyOutcome> {
  if (!isConfiguration(configuration))
    return { ok: false, reason: 'configuration is not a schema-1 security configuration this agent understands' };
  const fingerprint = await configurationFingerprint(configuration);
  if (fingerprint !== expectedFingerprint) {
    return {
      ok: false,
      reason: `configuration fingerprint ${fingerprint} differs from the manager's ${expectedFingerprint}`,
    };
  }
  // Enforce first, record after: a configuration the engine refuses (for the firewall, a ruleset
  // nftables refuses) leaves the previous one in force and recorded. An engine that cannot run
  // here (nft missing or not permitted) does not: the listener guard enforces the rules, and the
  // heartbeat reports the driver offline with the reason.
  const enforced = await engine.apply(withLocalListeningPort(configuration, state));
  if (enforced.outcome === 'failed') return { ok: false, reason: enforced.reason };
  state.saveAppliedConfiguration({ fingerprint, configuration, appliedAt: Date.now() });
  state.saveHeartbeatInterval(configuration.heartbeat.intervalSeconds);
  return { ok: true, fingerprint };
}
