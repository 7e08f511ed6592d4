import { configurationFingerprint, type SecurityConfiguration } from '@palisade/core';
import { FirewallEngine } from './firewall/firewall-engine.js';
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
 * then records it durably. Enforcement engines (listener, firewall) hook in here as they come.
 */
export async function applyConfiguration(
  state: StateDir,
  configuration: unknown,
  expectedFingerprint: string,
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
  // Firewall first: a ruleset nftables refuses leaves the previous configuration in force (and
  // recorded). nft missing or not permitted does not: the listener guard enforces the rules, and
  // the heartbeat reports the firewall driver offline with the reason.
  const firewall = await new FirewallEngine().apply(configuration);
  if (firewall.outcome === 'failed') return { ok: false, reason: firewall.reason };
  state.saveAppliedConfiguration({ fingerprint, configuration, appliedAt: Date.now() });
  state.saveHeartbeatInterval(configuration.heartbeat.intervalSeconds);
  return { ok: true, fingerprint };
}
