import { offlineSweepIntervalMs } from '@palisade/core';
import type { Logger } from 'pino';
import { defaultUpgradeOrderLifeMs } from '../ingest.js';
import type { SecretBox } from '../keys/secret-box.js';
import { NotifierDispatcher } from '../notifiers/notifier-dispatcher.js';
import type { ConfigurationService } from '../services/configuration-service.js';
import type { Store } from '../store/store.js';
import { HeartbeatMonitor } from './heartbeat-monitor.js';
import { OfflineSweeper } from './offline-sweeper.js';

/** Monitor timing. Defaults suit production; tests shorten them. */
export interface MonitoringOptions {
  /** Longest time between offline sweeps; default a twentieth of the heartbeat interval (30 s at 10 min). */
  sweepIntervalMs?: number;
  /** First notifier retry after a failure, doubling per failure; default 1 s. */
  notifierRetryBaseMs?: number;
  /** Longest wait between notifier retries; default 5 minutes. */
  notifierRetryMaxMs?: number;
  /** How often notifiers are polled when nothing wakes them; default 1 s. */
  notifierPollMs?: number;
}

/** The monitor as the manager runs it: the offline sweep, the ingest hooks, the notifiers. */
export interface Monitoring {
  heartbeats: HeartbeatMonitor;
  sweeper: OfflineSweeper;
  notifiers: NotifierDispatcher;
  close(): Promise<void>;
}

export function startMonitoring(o: {
  store: Store;
  /** Opens the notifiers' sealed credentials. */
  secrets: SecretBox;
  configurations: ConfigurationService;
  logger: Logger;
  heartbeatIntervalSeconds: number;
  /** This manager's host name, named in notifications. */
  manager: string;
  options?: MonitoringOptions | undefined;
}): Monitoring {
  const { store, configurations } = o;
  const logger = o.logger.child({ component: 'monitor' });
  const notifiers = new NotifierDispatcher({
    store,
    secrets: o.secrets,
    logger,
    manager: o.manager,
    ...(o.options?.notifierRetryBaseMs !== undefined ? { retryBaseMs: o.options.notifierRetryBaseMs } : {}),
    ...(o.options?.notifierRetryMaxMs !== undefined ? { retryMaxMs: o.options.notifierRetryMaxMs } : {}),
    ...(o.options?.notifierPollMs !== undefined ? { pollMs: o.options.notifierPollMs } : {}),
  });
  const wake = () => notifiers.wake();
  const heartbeats = new HeartbeatMonitor(store, configurations, logger, wake);
  const sweeper = new OfflineSweeper({
    store,
    configurations,
    logger,
    intervalMs: o.options?.sweepIntervalMs ?? offlineSweepIntervalMs(o.heartbeatIntervalSeconds),
    onChanges: wake,
    upgradeOrderLifeMs: defaultUpgradeOrderLifeMs(o.heartbeatIntervalSeconds),
  });
  sweeper.start();
  notifiers.start();
  return {
    heartbeats,
    sweeper,
    notifiers,
    async close() {
      await sweeper.close();
      await notifiers.close();
    },
  };
}
