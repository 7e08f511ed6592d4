import type { PolicyTree } from '@palisade/core';
import { markListeningComputersDue } from '../dialer/dial-on-change.js';
import type { ComputerRecord, Store } from '../store/store.js';
import { type ConfigurationService, loadPolicyTree } from './configuration-service.js';

/**
 * After a change that can alter what computers run (a setting override, a policy move, a
 * computer's policy, firewall assignments), recomputes their configuration fingerprints inside
 * the change's transaction and stores those that changed, so the API shows `Update Pending
 * (Heartbeat)` at once and the agent's next heartbeat gets the operation. The fingerprint is the
 * one the heartbeat path computes (ConfigurationService, firewall rules included). Deactivated
 * computers are skipped. Computers sharing policy, platform, own overrides and own rules share a
 * configuration, so a fleet-wide change hashes once per combination, not once per computer.
 *
 * Those of the changed computers whose agent listens (Bidirectional, Manager Initiated) are made
 * due for a dial now in the same transaction, and the dialer is woken: the change reaches them
 * at once, not at their next contact (dialer/dial-on-change.ts). Agent Initiated ones wait for
 * their heartbeat.
 *
 * `tree` defaults to the tree as `tx` sees it (the change's writes included).
 */
export async function refreshExpectedFingerprints(
  tx: Store,
  configurations: ConfigurationService,
  computers: readonly ComputerRecord[],
  tree?: PolicyTree,
): Promise<void> {
  const active = computers.filter((c) => c.state === 'active');
  if (active.length === 0) return;
  const ids = active.map((c) => c.id);
  const [t, own, firewall] = await Promise.all([
    tree ?? loadPolicyTree(tx),
    tx.computerOverridesByComputer(ids),
    configurations.loadFirewall(tx, ids),
  ]);
  const memo = new Map<string, string>();
  const changed = new Map<string, number[]>();
  for (const c of active) {
    const overrides = own.get(c.id) ?? {};
    const key = JSON.stringify([
      c.policyId,
      c.platform,
      Object.entries(overrides).sort(),
      firewall.computerRuleIds(c.id),
    ]);
    let fingerprint = memo.get(key);
    if (fingerprint === undefined) {
      fingerprint = (
        await configurations.fromTree(
          t,
          { policyId: c.policyId, overrides, platform: c.platform },
          firewall.rulesFor(t, c.policyId, c.id),
        )
      ).fingerprint;
      memo.set(key, fingerprint);
    }
    if (fingerprint === c.expectedFingerprint) continue;
    const list = changed.get(fingerprint);
    if (list) list.push(c.id);
    else changed.set(fingerprint, [c.id]);
  }
  for (const [fingerprint, list] of changed) await tx.setExpectedFingerprint(list, fingerprint);
  await markListeningComputersDue(tx, configurations, [...changed.values()].flat());
}
