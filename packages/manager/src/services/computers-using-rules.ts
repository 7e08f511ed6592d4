import type { ComputerRecord, Repositories } from '../store/store.js';
import type { ConfigurationService } from './configuration-service.js';

/**
 * The computers whose effective rules include any of these rules: those on a policy subtree that
 * assigns one, and those assigning one themselves — the computers a change to the rules (or to a
 * list they name) reaches.
 */
export async function computersUsingRules(
  tx: Repositories,
  configurations: ConfigurationService,
  ruleIds: readonly number[],
): Promise<ComputerRecord[]> {
  if (ruleIds.length === 0) return [];
  const [{ tree }, usages, direct] = await Promise.all([
    configurations.policies(tx),
    Promise.all(ruleIds.map((id) => tx.firewall.ruleUsage(id))),
    tx.firewall.computerIdsWithRules(ruleIds),
  ]);
  const policyIds = new Set<number>();
  for (const usage of usages) {
    for (const p of usage.policies) {
      policyIds.add(p.id);
      for (const d of tree.descendantsOf(p.id)) policyIds.add(d.id);
    }
  }
  const computers = policyIds.size > 0 ? await tx.computers.listByPolicy([...policyIds]) : [];
  const seen = new Set(computers.map((c) => c.id));
  for (const id of direct) {
    if (seen.has(id)) continue;
    const c = await tx.computers.get(id);
    if (c) {
      computers.push(c);
      seen.add(id);
    }
  }
  return computers;
}
