import type { Logger } from 'pino';
import { type ExpiredUpgrade, expireUpgradeOrders } from '../services/agent-upgrades.js';
import type { ConfigurationService } from '../services/configuration-service.js';
import type { AlertChange, Store } from '../store/store.js';
import { type OfflineTransition, sweepOffline } from './offline-sweep.js';

export interface OfflineSweeperOptions {
  store: Store;
  /** Resolves the inactive-VM setting of stopped VMs (the policy-tree cache). */
  configurations: ConfigurationService;
  logger: Logger;
  /** Longest time between sweeps (`offlineSweepIntervalMs` of the heartbeat interval). */
  intervalMs: number;
  now?: () => number;
  /** Called with the alerts a sweep raised (to wake the notifiers). */
  onChanges?: (changes: AlertChange[]) => void;
  /**
   * How long an upgrade order may stay `sent` with no outcome (ingest.ts
   * `defaultUpgradeOrderLifeMs`): orders past it are failed at the sweep too, not only at the
   * agent's next contact. Absent: upgrade orders are not swept.
   */
  upgradeOrderLifeMs?: number;
}

/**
 * Runs the offline sweep: at the earliest stored deadline (one index lookup tells it) and at
 * least every `intervalMs`, so a computer turns Offline, and its alert is raised, within
 * moments of its deadline. Each node of a cluster runs one; the sweep's conditional update
 * makes them agree (see `sweepOffline`).
 */
export class OfflineSweeper {
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | null = null;
  private cycling: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: OfflineSweeperOptions) {
    this.now = o.now ?? Date.now;
  }

  start(): void {
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.cycling = this.cycle().finally(() => (this.cycling = null));
    }, ms);
  }

  private async cycle(): Promise<void> {
    let next = this.o.intervalMs;
    if (this.closed) return;
    try {
      await this.sweepNow();
      const deadline = await this.o.store.computers.nextOfflineDeadline();
      // A few ms past the deadline, so `offline_deadline <= now` holds when the sweep runs.
      if (deadline !== null) next = Math.min(next, Math.max(5, deadline - this.now() + 5));
      const orderDue = (await this.sweepUpgradeOrders()).next;
      if (orderDue !== null) next = Math.min(next, Math.max(5, orderDue - this.now() + 5));
    } catch (e) {
      if (!this.closed) this.o.logger.error({ err: e }, 'offline sweep failed; retrying');
    }
    this.schedule(next);
  }

  /** One sweep now (tests, and the timer). Sweeps never overlap within a node. */
  async sweepNow(): Promise<OfflineTransition[]> {
    while (this.running) await this.running.catch(() => {});
    const p = sweepOffline(this.o.store, this.o.configurations, this.now());
    this.running = p;
    try {
      const { transitions, changes } = await p;
      if (transitions.length > 0) {
        const alerted = transitions.filter((t) => t.alertId !== null).length;
        this.o.logger.info(
          {
            transitions: transitions.length,
            alertsRaised: alerted,
            computers: transitions
              .slice(0, 20)
              .map((t) => `${t.computerId} ${t.hostName}${t.vmStopped ? ' (VM stopped)' : ''}`),
          },
          'computers offline: no heartbeat within (missed threshold + 1) x interval',
        );
      }
      if (changes.length > 0) this.o.onChanges?.(changes);
      return transitions;
    } finally {
      this.running = null;
    }
  }

  /** Fails the upgrade orders past their life now (tests, and the timer); see `expireUpgradeOrders`. */
  async sweepUpgradeOrders(): Promise<{ expired: ExpiredUpgrade[]; next: number | null }> {
    const life = this.o.upgradeOrderLifeMs;
    if (life === undefined) return { expired: [], next: null };
    const { changes, ...r } = await expireUpgradeOrders(this.o.store, this.now(), life);
    if (changes.length > 0) this.o.onChanges?.(changes);
    if (r.expired.length > 0)
      this.o.logger.warn(
        {
          upgrades: r.expired.slice(0, 20).map((u) => `${u.id} (computer ${u.computerId}, to ${u.toVersion})`),
          count: r.expired.length,
        },
        `agent upgrades failed: no outcome within ${Math.round(life / 1000)} s of the order being sent`,
      );
    return r;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.cycling;
    await this.running?.catch(() => {});
  }
}
