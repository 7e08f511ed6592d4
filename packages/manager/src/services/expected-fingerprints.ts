import type { PolicyTree } from '@palisade/core';
import type { ComputerRecord, StoreTransaction } from '../store/store.js';
import { type ConfigurationService, configurationKey } from './configuration-service.js';

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
 * due for a dial now in the same transaction (docs/communication.md "When a change reaches the
 * agent"): the change reaches them at once, not at their next contact. Agent Initiated ones wait
 * for their heartbeat. Returns how many were made due.
 *
 * `tree` defaults to the tree as `tx` sees it (the change's writes included).
 */
export async function refreshExpectedFingerprints(
  tx: StoreTransaction,
  configurations: ConfigurationService,
  computers: readonly ComputerRecord[],
  tree?: PolicyTree,
  now = Date.now(),
): Promise<number> {
  const active = computers.filter((c) => c.state === 'active');
  if (active.length === 0) return 0;
  const ids = active.map((c) => c.id);
  const [t, own, firewall] = await Promise.all([
    tree ?? configurations.policies(tx).then((s) => s.tree),
    tx.computers.overridesByComputer(ids),
    configurations.firewall(tx, ids),
  ]);
  const memo = new Map<string, string>();
  const changed = new Map<string, number[]>();
  for (const c of active) {
    const overrides = own.get(c.id) ?? {};
    const key = configurationKey(null, c.policyId, c.platform, overrides, firewall.computerRuleIds(c.id));
    let fingerprint = memo.get(key);
    if (fingerprint === undefined) {
      fingerprint = (
        await configurations.fromTree(
          t,
          { policyId: c.policyId, overrides, platform: c.platform },
          firewall.firewallFor(t, c.policyId, c.id),
        )
      ).fingerprint;
      memo.set(key, fingerprint);
    }
    if (fingerprint === c.expectedFingerprint) continue;
    const list = changed.get(fingerprint);
    if (list) list.push(c.id);
    else changed.set(fingerprint, [c.id]);
  }
  for (const [fingerprint, list] of changed) await tx.computers.setExpectedFingerprint(list, fingerprint);
  return tx.dialTargets.markListeningDue([...changed.values()].flat(), now);
}

/** Recomputes the expected fingerprints of these computers in the change's transaction (see above). */
export type RefreshFingerprints = (computers: readonly ComputerRecord[], tree?: PolicyTree) => Promise<void>;
