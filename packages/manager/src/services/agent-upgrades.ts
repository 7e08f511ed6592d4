import { compareSemver } from '@palisade/core';
import type { AgentPackagePlatform } from '@palisade/protocol';
import { PalisadeError } from '../errors.js';
import { upgradeTimedOut } from '../ingest.js';
import type { EndedUpgrade } from '../monitor/alert-rules.js';
import { upgradeAlertChanges } from '../monitor/heartbeat-monitor.js';
import type { AgentUpgradeRecord } from '../store/repositories/computer-repository.js';
import type { AlertChange, ComputerRecord, Store } from '../store/store.js';
import type { AgentPackage, AgentPackages } from './agent-packages.js';

/** What an upgradeAgent request came to for one computer. */
export interface UpgradeRequested {
  computer: ComputerRecord;
  /** `queued`: it goes with the agent's next heartbeat; `current`: the agent runs that version already. */
  status: 'queued' | 'current';
  upgrade: AgentUpgradeRecord | null;
  version: string;
}

/** An order the background sweep failed (see {@link expireUpgradeOrders}). */
export interface ExpiredUpgrade {
  id: number;
  computerId: number;
  toVersion: string;
}

/**
 * The background share of the order's life (docs/deployment.md "Upgrades"): fails every order
 * still `sent` `lifeMs` after its sending, with the reason the next contact would give
 * (`upgradeTimedOut`), so an order to an agent that never comes back fails on time; each with
 * its agent-upgrade-failed alert, in the transaction that fails it. Bounded: batches of
 * `batch`, at most `maxBatches` per call (the next call goes on). Safe on several nodes at once
 * (a conditional update per batch). Returns `next`: when the oldest order left falls due, or
 * null; and the alert changes, to wake the notifiers with.
 */
export async function expireUpgradeOrders(
  store: Store,
  now: number,
  lifeMs: number,
  o: { batch?: number; maxBatches?: number } = {},
): Promise<{ expired: ExpiredUpgrade[]; next: number | null; changes: AlertChange[] }> {
  const batch = o.batch ?? 1000;
  const expired: ExpiredUpgrade[] = [];
  const changes: AlertChange[] = [];
  const reason = upgradeTimedOut(lifeMs);
  const oldest = await store.computers.oldestSentUpgrade();
  if (oldest !== null && oldest < now - lifeMs) {
    for (let i = 0; i < (o.maxBatches ?? 100); i++) {
      const { rows, raised } = await store.transaction(async (tx) => {
        const rows = await tx.computers.expireUpgradesDue(now - lifeMs, reason, now, batch);
        return { rows, raised: await upgradeAlertChanges(tx, rows.map(failedWith(reason)), now) };
      });
      expired.push(...rows);
      changes.push(...raised);
      if (rows.length < batch) break;
    }
  }
  const left = expired.length > 0 ? await store.computers.oldestSentUpgrade() : oldest;
  return { expired, next: left === null ? null : left + lifeMs, changes };
}

/** An order failed for `reason`, as the alerts see it. */
const failedWith =
  (reason: string) =>
  (u: ExpiredUpgrade): EndedUpgrade => ({ ...u, status: 'failed', reason });

/** The package platform of a computer's `platform` (Node's `process.platform`), or null. */
function packagePlatform(platform: string): AgentPackagePlatform | null {
  return platform === 'linux' ? 'linux' : platform === 'darwin' ? 'macos' : null;
}

/**
 * The upgradeAgent action (docs/deployment.md "Upgrades"): for one computer or every computer of
 * a policy, the version asked for (default: the newest package the manager holds for the
 * platform) is recorded with its packages' SHA-256, audited, and handed to the agent with its
 * next heartbeat; the agent installs it beside the running one, switches and restarts, and
 * rolls back if the new version does not heartbeat in time. The outcome lands on the record.
 */
export class AgentUpgradeService {
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly packages: AgentPackages,
    /** How long an order may stay `sent` with no outcome (ingest.ts `defaultUpgradeOrderLifeMs`). */
    private readonly orderLifeMs: number,
    now?: () => number,
    /** Called with the alert changes listing upgrades made (an order failed there): wakes the notifiers. */
    private readonly onChanges: (changes: AlertChange[]) => void = () => {},
  ) {
    this.now = now ?? Date.now;
  }

  /** The packages of `version` (default the newest) for a platform; AGENT_PACKAGE_NOT_FOUND when there are none. */
  private async packagesFor(platform: string, version: string | undefined): Promise<AgentPackage[]> {
    const p = packagePlatform(platform);
    const all = p === null ? [] : (await this.packages.list()).filter((x) => x.platform === p);
    const target = version ?? all.map((x) => x.version).sort((a, b) => compareSemver(b, a))[0];
    const chosen = all.filter((x) => x.version === target);
    if (chosen.length === 0)
      throw new PalisadeError(
        'AGENT_PACKAGE_NOT_FOUND',
        `no ${p ?? platform} package${version ? ` of version ${version}` : ''} in the manager's agent-packages folder (npm run package:agent)`,
      );
    return chosen;
  }

  private async requestOne(computer: ComputerRecord, version: string | undefined, actor: string) {
    const chosen = await this.packagesFor(computer.platform, version);
    const to = chosen[0]!.version;
    if (computer.agentVersion === to)
      return { computer, status: 'current', upgrade: null, version: to } satisfies UpgradeRequested;
    const t = this.now();
    const upgrade = await this.store.transaction(async (tx) => {
      const u = await tx.computers.requestUpgrade({
        computerId: computer.id,
        fromVersion: computer.agentVersion,
        toVersion: to,
        packages: chosen.map((p) => ({ file: p.fileName, sha256: p.sha256 })),
        requestedBy: actor,
        now: t,
      });
      await tx.audit.insert([
        {
          time: t,
          actor,
          action: 'computer.upgradeagent',
          targetType: 'computer',
          targetId: computer.id,
          setting: 'agentVersion',
          oldValue: computer.agentVersion,
          newValue: to,
        },
      ]);
      return u;
    });
    return { computer, status: 'queued', upgrade, version: to } satisfies UpgradeRequested;
  }

  async forComputer(id: number, version: string | undefined, actor: string): Promise<UpgradeRequested> {
    const c = await this.store.computers.get(id);
    if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
    if (c.state !== 'active') throw new PalisadeError('COMPUTER_DEACTIVATED');
    return this.requestOne(c, version, actor);
  }

  /** Every active computer the policy is assigned to (directly), each as `forComputer`. */
  async forPolicy(policyId: number, version: string | undefined, actor: string): Promise<UpgradeRequested[]> {
    if (!(await this.store.policies.get(policyId))) throw new PalisadeError('POLICY_NOT_FOUND', String(policyId));
    const computers = (await this.store.computers.listByPolicy([policyId])).filter((c) => c.state === 'active');
    const out: UpgradeRequested[] = [];
    for (const c of computers) out.push(await this.requestOne(c, version, actor));
    return out;
  }

  /**
   * The computer's upgrades, newest first. An order whose life is over (`orderLifeMs` from its
   * sending, no outcome) is failed first with the reason, as its next contact would: an agent
   * that never contacts the manager again does not leave it `sent` for ever.
   */
  async history(id: number): Promise<AgentUpgradeRecord[]> {
    if (!(await this.store.computers.get(id))) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
    const t = this.now();
    const reason = upgradeTimedOut(this.orderLifeMs);
    const changes = await this.store.transaction(async (tx) => {
      const rows = await tx.computers.expireUpgrades(id, t - this.orderLifeMs, reason, t);
      return upgradeAlertChanges(tx, rows.map(failedWith(reason)), t);
    });
    if (changes.length > 0) this.onChanges(changes);
    return this.store.computers.upgradesOf(id);
  }
}
