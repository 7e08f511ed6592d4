import type { EventRate, TlsPolicyName } from '@palisade/core';
import type { Logger } from 'pino';
import { HeartbeatIngest } from '../ingest.js';
import type { HeartbeatMonitor } from '../monitor/heartbeat-monitor.js';
import type { CertificateAuthority } from '../pki/certificate-authority.js';
import type { ConfigurationService } from '../services/configuration-service.js';
import type { Store } from '../store/store.js';
import { Dialer, type DialerOptions } from './dialer.js';
import { loadDialerIdentity } from './dialer-identity.js';

/** Both transports' shared half: the ingest path and the dialer. */
export interface ManagerCommunication {
  ingest: HeartbeatIngest;
  dialer: Dialer;
  configurations: ConfigurationService;
  heartbeatIntervalSeconds: number;
  /** Starts dialling due computers (after the servers listen). */
  start(): void;
  close(): Promise<void>;
}

export interface ManagerCommunicationDeps {
  store: Store;
  ca: CertificateAuthority;
  dataDir: string;
  /** This node's name, written into its dialer certificate. */
  nodeName: string;
  configurations: ConfigurationService;
  heartbeatIntervalSeconds: number;
  logger: Logger;
  monitor?: HeartbeatMonitor;
  options?: DialerOptions;
  /** Told how long each heartbeat's store transaction took (metrics). */
  observeStore?: (seconds: number) => void;
  /** Each computer's event budget (ingest.ts). */
  eventRate?: EventRate;
  /** Told how many events of a report the budget deferred (metrics). */
  onEventsDeferred?: (count: number) => void;
  /** The manager TLS policy in force (the agent endpoint's, live), which the dialer's TLS follows. Default `modern`. */
  tlsPolicy?: () => TlsPolicyName;
  /** Told of every dial this node made (metrics; see DialerDeps.onDial). */
  onDial?: (reason: string, outcome: string) => void;
}

/** Builds the ingest path and the dialer over one store (startManager wires them to both ports). */
export async function createManagerCommunication(d: ManagerCommunicationDeps): Promise<ManagerCommunication> {
  const ingest = new HeartbeatIngest({
    store: d.store,
    configurations: d.configurations,
    heartbeatIntervalSeconds: d.heartbeatIntervalSeconds,
    logger: d.logger,
    ...(d.monitor ? { monitor: d.monitor } : {}),
    ...(d.observeStore ? { observeStore: d.observeStore } : {}),
    eventRate: d.eventRate,
    onEventsDeferred: d.onEventsDeferred,
  });
  const identity = await loadDialerIdentity(d.dataDir, d.ca, d.nodeName);
  const dialer = new Dialer({
    store: d.store,
    ingest,
    identity,
    heartbeatIntervalSeconds: d.heartbeatIntervalSeconds,
    logger: d.logger.child({ component: 'dialer' }),
    ...(d.options ? { options: d.options } : {}),
    ...(d.tlsPolicy ? { tlsPolicy: d.tlsPolicy } : {}),
    ...(d.onDial ? { onDial: d.onDial } : {}),
  });
  return {
    ingest,
    dialer,
    configurations: d.configurations,
    heartbeatIntervalSeconds: d.heartbeatIntervalSeconds,
    start: () => dialer.start(),
    close: () => dialer.close(),
  };
}
