import type { Store, StoreTransaction } from '../store/store.js';
import type { ConfigurationService } from './configuration-service.js';
import { type RefreshFingerprints, refreshExpectedFingerprints } from './expected-fingerprints.js';

export interface ConfigurationChangesOptions {
  /** Default `Date.now`. */
  now?: (() => number) | undefined;
  /**
   * Called once a change committed that made listening computers due for a dial: wakes the
   * node's dialer (wired where the manager is put together). Default: nothing (the dialer's
   * poll finds the rows).
   */
  wakeDialer?: (() => void) | undefined;
}

/**
 * What the services that change configurations (policies, settings, firewall) share: a change
 * runs in one transaction and is handed `refresh`, which recomputes the expected fingerprints
 * of the computers it reaches in that transaction (expected-fingerprints.ts). Once the change
 * has committed, and only if it made listening computers due, the dialer is woken, so its claim
 * sees the rows on every engine; a change that rolls back marks nothing and wakes nothing.
 */
export abstract class ConfigurationChanges {
  protected readonly now: () => number;
  private readonly wakeDialer: () => void;

  constructor(
    protected readonly store: Store,
    protected readonly configurations: ConfigurationService,
    o: ConfigurationChangesOptions = {},
  ) {
    this.now = o.now ?? Date.now;
    this.wakeDialer = o.wakeDialer ?? (() => {});
  }

  protected async change<T>(fn: (tx: StoreTransaction, refresh: RefreshFingerprints) => Promise<T>): Promise<T> {
    let due = 0;
    const out = await this.store.transaction((tx) =>
      fn(tx, async (computers, tree) => {
        due += await refreshExpectedFingerprints(tx, this.configurations, computers, tree, this.now());
      }),
    );
    if (due > 0) this.wakeDialer();
    return out;
  }
}
