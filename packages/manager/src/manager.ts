import { X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import type { Server as TlsServer } from 'node:tls';
import { DEFAULT_EVENT_RATE, type EventRate, HEARTBEAT_INTERVAL_SECONDS, type TlsPolicyName } from '@palisade/core';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { type AgentEndpointDeps, createAgentEndpoint } from './agent-endpoint/agent-endpoint.js';
import { AgentEndpointTls, agentTlsOptions, resolveStartupTlsPolicy } from './agent-endpoint/agent-endpoint-tls.js';
import { SealedTicketSecretStore, sealPlaintextTicketSecret } from './agent-endpoint/sealed-ticket-secret-store.js';
import { TicketKeys } from './agent-endpoint/ticket-keys.js';
import { createApiServer } from './api/api-server.js';
import { DEFAULT_CONSOLE_DIR } from './api/console-static.js';
import { ManagerNodeRegistry, type ManagerNodeTiming } from './cluster/manager-nodes.js';
import type { DialerOptions } from './dialer/dialer.js';
import { createManagerCommunication, type ManagerCommunication } from './dialer/manager-communication.js';
import {
  ConnectionGuard,
  type ConnectionLimits,
  defaultConnectionLimits,
  type PortLimits,
} from './http/connection-guard.js';
import { DEFAULT_MASTER_KEY_FILE, loadMasterKeyFile } from './keys/master-key-file.js';
import type { SecretBox } from './keys/secret-box.js';
import { MANAGER_VERSION } from './manager-version.js';
import { ManagerMetrics } from './metrics/manager-metrics.js';
import { type Monitoring, type MonitoringOptions, startMonitoring } from './monitor/monitoring.js';
import { RetentionPruner, type RetentionPrunerOptions } from './monitor/retention-pruner.js';
import { sealWebhook } from './notifiers/notifier-config.js';
import { CertificateAuthority, createCertificateAuthority } from './pki/certificate-authority.js';
import { hashSecret, newSecret } from './secrets.js';
import { AgentPackages } from './services/agent-packages.js';
import { ComputerActionsService } from './services/computer-actions.js';
import { ComputerLifecycleService } from './services/computer-lifecycle.js';
import { ConfigurationService } from './services/configuration-service.js';
import { ConsoleAuthService } from './services/console-auth-service.js';
import { issueActivationToken } from './services/credentials.js';
import { FirewallListService } from './services/firewall-list-service.js';
import { FirewallService } from './services/firewall-service.js';
import { PolicyService } from './services/policy-service.js';
import { builtInSystemSettings, SystemSettingsService } from './services/system-settings-service.js';
import { TlsPolicyService } from './services/tls-policy-service.js';
import { openStore, type StoreConnectOptions } from './store/open-store.js';
import { redact } from './store/postgres/postgres-store.js';
import type { Store } from './store/store.js';
import { StoreNotFoundError } from './store/store-not-found-error.js';

export interface ManagerOptions {
  /** Folder for node-local files (SQLite file, TLS server certificate). Default `./data`. */
  dataDir: string;
  /** Store URL: `sqlite:PATH` (default `sqlite:<dataDir>/palisade.db`) or `postgres://…` (docs/scale-out.md). */
  db?: string | undefined;
  /** `--db-password-file`: the PostgreSQL password, when the URL has none (else `PGPASSWORD`). */
  dbPasswordFile?: string | undefined;
  /** `--master-key-file`: the key-encryption key of stored secrets; default `<dataDir>/master.key`. */
  masterKeyFile?: string | undefined;
  /** Names the server certificate carries; agents must reach the manager by one of them. */
  hostnames?: string[] | undefined;
  apiPort?: number | undefined;
  heartbeatPort?: number | undefined;
  /** Address both servers bind to. Default all interfaces. */
  bindAddress?: string | undefined;
  /** Lab/test only: shortens the fixed 10-minute interval. */
  heartbeatIntervalSeconds?: number | undefined;
  /**
   * `--tls-policy`: seeds the stored agent-endpoint TLS policy when none is stored; a stored one
   * wins (docs/tls.md). Absent = the stored one, else `modern`.
   */
  tlsPolicy?: TlsPolicyName | undefined;
  /** Port of the TLS 1.0/1.1 listener, open only under the `legacy` policy. Default 4122; 0 = any free port. */
  legacyTlsPort?: number | undefined;
  logger?: Logger | undefined;
  /** Offline sweep and notifier timing (tests shorten them); see monitor/monitoring.ts. */
  monitoring?: MonitoringOptions | undefined;
  /** Manager-initiated dialling: pool size and timing (tests shorten them); see dialer/dialer.ts. */
  dialer?: DialerOptions | undefined;
  /** The built web console served at `/`; default packages/console/dist (`npm run build`). */
  consoleDir?: string | undefined;
  /** How often the console's live dashboard looks for changes; default 2 s (tests shorten it). */
  dashboardPollMs?: number | undefined;
  /**
   * `--metrics-listen`: also serve `GET /metrics` in plain HTTP, without an API key, on this
   * address (one the operator keeps to the monitoring network). Absent: only on 4119, behind the
   * API key. Port 0 picks a free one (tests).
   */
  metricsListen?: { host: string; port: number } | undefined;
  /** Folder of agent packages to serve (docs/deployment.md). Default `<dataDir>/agent-packages`. */
  agentPackagesDir?: string | undefined;
  /** Bounds on activations and heartbeats served at once and queued on 4120 (tests shrink them); see agent-endpoint.ts. */
  agentQueues?: AgentEndpointDeps['queues'] | undefined;
  /**
   * `--node-name`: this node among those sharing the database; unique. Default
   * `HOSTNAME:HEARTBEAT_PORT` (the first host name), unique on one machine.
   */
  nodeName?: string | undefined;
  /**
   * `--agent-address`: `dsm://HOST:PORT/` URLs agents are told, with their configuration, to try
   * in order (this node's name, or the load balancer in front of the nodes). Default none:
   * agents keep to the address they activated with.
   */
  agentAddresses?: readonly string[] | undefined;
  /** Node registration timing (tests shorten it); see cluster/manager-nodes.ts. */
  managerNodes?: ManagerNodeTiming | undefined;
  /**
   * Connection caps and timeouts of 4120 and 4119 (docs/security.md); what is absent comes
   * from {@link defaultConnectionLimits} (scaled to the process's open-file limit).
   */
  connectionLimits?: { agent?: Partial<PortLimits>; api?: Partial<PortLimits> } | undefined;
  /** Each computer's event budget (`--event-rate`, `--event-burst`; docs/security.md "Event floods"). Default `DEFAULT_EVENT_RATE`. */
  eventRate?: Partial<EventRate> | undefined;
  /** Retention's pass interval and batch size (tests shorten them); the bounds are system settings (docs/api.md "Retention"). */
  retention?: Pick<RetentionPrunerOptions, 'intervalMs' | 'batchSize'> | undefined;
}

export interface FirstRunSecrets {
  apiKey: string | null;
  activationToken: string | null;
}

export interface RunningManager {
  store: Store;
  ca: CertificateAuthority;
  apiPort: number;
  heartbeatPort: number;
  hostnames: string[];
  heartbeatIntervalSeconds: number;
  caFingerprint: string;
  firstRun: FirstRunSecrets;
  /** The agent endpoint's TLS policy in force, its legacy listener, and changing it live. */
  agentTls: AgentEndpointTls;
  /** Offline sweep, alerts, notifiers. */
  monitoring: Monitoring;
  /** The ingest path both ports share, and the dialer that calls agents' listeners (docs/communication.md). */
  communication: ManagerCommunication;
  /** Whether the web console's files were found (else `/` says how to build them). */
  consoleBuilt: boolean;
  /** Prometheus metrics (`GET /metrics`, docs/monitoring.md). */
  metrics: ManagerMetrics;
  /** The plain-HTTP metrics listener's port when `metricsListen` was given, else null. */
  metricsPort: number | null;
  /** The agent packages this node serves to deployment scripts and upgrades. */
  agentPackages: AgentPackages;
  /** This node's registration among the nodes sharing the database. */
  node: ManagerNodeRegistry;
  /** Background pruning of events, alerts, audit rows and the notifier outbox. */
  retention: RetentionPruner;
  /** Connection caps in force on 4120 and 4119, and what they refused. */
  connections: { limits: ConnectionLimits; agent: ConnectionGuard; api: ConnectionGuard };
  close(): Promise<void>;
}

export function defaultHostnames(): string[] {
  return [...new Set([osHostname(), 'localhost'])];
}

/** Where a store and its master key are: the `--data-dir`, `--db` and `--master-key-file` options. */
export interface StoreLocationOptions {
  /**
   * The master key file (the key-encryption key of the stored secrets, keys/master-key-file.ts).
   * Default `<dataDir>/master.key`, created on the first start.
   */
  masterKeyFile?: string | undefined;
  /** Make the store (and data dir) when there is none. Default true; false: StoreNotFoundError. */
  create?: boolean | undefined;
  /** Told what was repaired on the way (file modes tightened, plaintext secrets sealed). */
  log?: ((message: string) => void) | undefined;
}

/** The CA private key's place, bound into its seal. */
const CA_KEY_PURPOSE = 'certificate_authority.private_key';

/**
 * The data dir holds the store, the master key and TLS keys: 0700 from the first start, and
 * tightened when an earlier release left it open. A shared directory (sticky bit, like /tmp)
 * is refused rather than closed to everyone else.
 */
function prepareDataDir(dataDir: string, create: boolean, log: (m: string) => void): void {
  if (!existsSync(dataDir)) {
    if (!create)
      throw new StoreNotFoundError(
        `no data dir at ${dataDir}: check --data-dir (only "palisade-manager start" creates one)`,
      );
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  }
  const st = statSync(dataDir);
  if (!st.isDirectory()) throw new Error(`--data-dir ${dataDir} is not a directory`);
  if ((st.mode & 0o1000) !== 0)
    throw new Error(`--data-dir ${dataDir} is a shared directory (sticky bit): give the manager a folder of its own`);
  if ((st.mode & 0o077) !== 0) {
    chmodSync(dataDir, 0o700);
    log(`data dir ${dataDir} was readable by others (mode ${(st.mode & 0o777).toString(8)}); now 0700`);
  }
}

/**
 * Opens the store and makes sure the things every command needs exist: schema, Base Policy,
 * manager CA, master key. Secrets an earlier release stored in plaintext (CA key, notifier
 * credentials, TLS ticket secret) are sealed with the master key, and the file rewritten so
 * the plaintext lingers nowhere. Idempotent and safe against another process doing the same.
 */
export async function openInitializedStore(
  dataDir: string,
  db?: string,
  o: StoreLocationOptions & StoreConnectOptions = {},
): Promise<{ store: Store; ca: CertificateAuthority; secrets: SecretBox }> {
  const create = o.create ?? true;
  const log = o.log ?? (() => {});
  prepareDataDir(dataDir, create, log);
  const url = db ?? `sqlite:${join(dataDir, 'palisade.db')}`;
  const store = openStore(url, {
    create,
    ...(o.passwordFile !== undefined ? { passwordFile: o.passwordFile } : {}),
  });
  try {
    await store.migrate();
    await store.policies.ensureBase(Date.now());
    const keyFile = o.masterKeyFile ?? join(dataDir, DEFAULT_MASTER_KEY_FILE);
    // A new key is only made while nothing is sealed yet: a missing file beside sealed rows is
    // an operator's mistake to report, never a reason to start over.
    const key = loadMasterKeyFile(keyFile, {
      mayCreate: !(await store.certificateAuthority.keySealed()),
      owned: o.masterKeyFile === undefined,
    });
    const secrets = key.box;
    if (key.created) log(`master key created in ${keyFile} (mode 0600); back it up apart from the database`);
    if (key.modeFixed) log(`master key file ${keyFile} was readable by others; now 0600`);
    const sealed =
      Number(await store.certificateAuthority.sealPlaintext((k) => secrets.seal(k, CA_KEY_PURPOSE))) +
      (await store.notifiers.sealPlaintext((t) => sealWebhook(secrets, t))) +
      Number(await sealPlaintextTicketSecret(store, secrets));
    if (sealed > 0) {
      await store.reclaimSpace();
      log(`${sealed} stored secret(s) sealed with master key ${secrets.keyId}`);
    }
    let stored = await store.certificateAuthority.get();
    if (!stored) {
      const fresh = await createCertificateAuthority();
      stored = await store.certificateAuthority.saveIfAbsent(
        { certificate: fresh.certificate, privateKey: secrets.seal(fresh.privateKey, CA_KEY_PURPOSE) },
        Date.now(),
      );
    }
    const ca = await CertificateAuthority.load({
      certificate: stored.certificate,
      privateKey: secrets.openText(stored.privateKey, CA_KEY_PURPOSE),
    });
    return { store, ca, secrets };
  } catch (e) {
    await store.close();
    throw new Error(`store ${redact(url)}: ${(e as Error).message}`);
  }
}

/**
 * The node's TLS server certificates, kept in the data dir (`server.crt`/`server.key`, RSA;
 * `server-ecdsa.crt`/`server-ecdsa.key`, ECDSA P-256) and re-issued when the names they must
 * carry change or the CA is not their issuer (a data dir pointed at another database).
 */
async function serverCertificates(dataDir: string, ca: CertificateAuthority, names: string[]) {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const wanted = [...new Set([...names, '127.0.0.1', '::1'])];
  // The CA certificate (public) beside the server's, so API clients can verify the manager:
  // `curl --cacert DATA_DIR/tls/ca.crt` (docs/api.md). Rewritten each start to match the store's CA.
  writeFileSync(join(dir, 'ca.crt'), ca.certificatePem);
  const caCert = new X509Certificate(ca.certificatePem);
  const one = async (base: string, keyType: 'rsa' | 'ecdsa') => {
    const certFile = join(dir, `${base}.crt`);
    const keyFile = join(dir, `${base}.key`);
    if (existsSync(certFile) && existsSync(keyFile)) {
      const cert = readFileSync(certFile, 'utf8');
      const x = new X509Certificate(cert);
      const sans = (x.subjectAltName ?? '').split(', ').map((s) => s.replace(/^(DNS|IP Address):/, '').toLowerCase());
      const fresh =
        x.checkIssued(caCert) &&
        x.verify(caCert.publicKey) &&
        wanted.every((n) => sans.includes(n.toLowerCase())) &&
        new Date(x.validTo).getTime() > Date.now() + 30 * 86_400_000;
      if (fresh) return { cert, key: readFileSync(keyFile, 'utf8') };
    }
    const issued = await ca.issueServerCertificate(wanted, keyType);
    writeFileSync(keyFile, issued.privateKey, { mode: 0o600 });
    writeFileSync(certFile, issued.certificate);
    return { cert: issued.certificate, key: issued.privateKey };
  };
  return { rsa: await one('server', 'rsa'), ecdsa: await one('server-ecdsa', 'ecdsa') };
}

/** First start: an admin API key and a Base Policy activation token, shown once. */
async function firstRunSecrets(store: Store): Promise<FirstRunSecrets> {
  if ((await store.apiKeys.count()) > 0) return { apiKey: null, activationToken: null };
  const now = Date.now();
  const apiKey = newSecret('apikey');
  await store.apiKeys.create({
    name: 'admin (first run)',
    keyPrefix: apiKey.slice(0, 8),
    secretHash: hashSecret(apiKey),
    role: 'full-access',
    now,
  });
  const base = await store.policies.ensureBase(now);
  const { token } = await issueActivationToken(
    store,
    {
      policyId: base.id,
      maxUses: FIRST_RUN_TOKEN_USES,
      ttlMs: FIRST_RUN_TOKEN_HOURS * 3_600_000,
      description: 'first run',
    },
    'system',
    now,
  );
  return { apiKey, activationToken: token };
}

/** Binds all interfaces, IPv6 and IPv4 (`::`), or IPv4 only where the host has no IPv6. */
async function listen(app: FastifyInstance, port: number, host?: string): Promise<void> {
  if (host) {
    await app.listen({ port, host });
    return;
  }
  try {
    await app.listen({ port, host: '::' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EAFNOSUPPORT' && (e as NodeJS.ErrnoException).code !== 'EADDRNOTAVAIL')
      throw e;
    await app.listen({ port, host: '0.0.0.0' });
  }
}

/**
 * Test hook, never for production: with PALISADE_TEST_HOLD_HEARTBEAT_REPLY_MS set, the agent
 * endpoint holds every heartbeat reply that long after the heartbeat committed, and logs a
 * warning first, so a crash test can kill the process between the commit and the reply
 * (docs/monitoring.md, "Crash safety").
 */
function testHoldHeartbeatReply(logger: Logger): { holdReplyMs?: number } {
  const ms = Number(process.env.PALISADE_TEST_HOLD_HEARTBEAT_REPLY_MS ?? 0);
  if (!Number.isInteger(ms) || ms <= 0) return {};
  logger.warn(
    { holdReplyMs: ms },
    'TEST HOOK: heartbeat replies are held after commit (PALISADE_TEST_HOLD_HEARTBEAT_REPLY_MS)',
  );
  return { holdReplyMs: ms };
}

/**
 * `GET /metrics` in plain HTTP on an address the operator chose (`--metrics-listen`), without
 * the API key: for a Prometheus on the monitoring network that cannot send one. Nothing else is
 * served there.
 */
async function serveMetrics(
  metrics: ManagerMetrics,
  at: { host: string; port: number },
  logger: Logger,
): Promise<HttpServer> {
  const server = createHttpServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
      return;
    }
    metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': metrics.contentType }).end(text),
      (e) => {
        logger.error({ err: e }, 'metrics: could not collect');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('could not collect the metrics\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}

/**
 * The first-run token is printed on a terminal and may end up in scrollback or a chat: it is
 * bounded like any other (a day, a few lab agents). Fleets use deployment scripts or their own
 * tokens (docs/deployment.md).
 */
export const FIRST_RUN_TOKEN_HOURS = 24;
export const FIRST_RUN_TOKEN_USES = 5;

export async function startManager(o: ManagerOptions): Promise<RunningManager> {
  const logger = o.logger ?? pino({ level: process.env.PALISADE_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const heartbeatIntervalSeconds = o.heartbeatIntervalSeconds ?? HEARTBEAT_INTERVAL_SECONDS;
  if (heartbeatIntervalSeconds !== HEARTBEAT_INTERVAL_SECONDS) {
    logger.warn(
      { heartbeatIntervalSeconds },
      'heartbeat interval shortened for a lab or test; production managers use the fixed 10 minutes',
    );
  }
  const hostnames = o.hostnames && o.hostnames.length > 0 ? o.hostnames : defaultHostnames();
  const defaults = defaultConnectionLimits();
  const limits: ConnectionLimits = {
    agent: { ...defaults.agent, ...o.connectionLimits?.agent },
    api: { ...defaults.api, ...o.connectionLimits?.api },
  };
  const { store, ca, secrets } = await openInitializedStore(o.dataDir, o.db, {
    passwordFile: o.dbPasswordFile,
    masterKeyFile: o.masterKeyFile,
    log: (m) => logger.warn(m),
  });
  // Once when writes start failing and once when they work again: a full disk fails every
  // heartbeat, and a line per request would bury the cause (issue 12, item 7).
  store.writeHealth.onChange((state, cause) => {
    if (state.ok) logger.info('store: writes work again');
    else logger.error({ err: cause }, `store: writes fail (${state.reason}); /healthz says degraded until one commits`);
  });
  const servers: FastifyInstance[] = [];
  let agentTls: AgentEndpointTls | undefined;
  let monitoring: Monitoring | undefined;
  let communication: ManagerCommunication | undefined;
  let metricsServer: HttpServer | undefined;
  let node: ManagerNodeRegistry | undefined;
  let retention: RetentionPruner | undefined;
  try {
    const certs = await serverCertificates(o.dataDir, ca, hostnames);
    // Leaf then CA: agents verify against the CA they pinned at activation.
    const chainOf = (c: { cert: string }) => `${c.cert.trim()}\n${ca.certificatePem.trim()}\n`;
    const tls = certs.rsa;
    const chain = chainOf(tls);
    const firstRun = await firstRunSecrets(store);
    const configurations = new ConfigurationService(heartbeatIntervalSeconds);
    // Both certificates on 4120 (AgentTlsCredentials): ECDSA for TLS 1.3 clients, RSA for the
    // cipher-suite table's RSA rows. The API on 4119 keeps RSA alone. An ECDSA P-256 and an
    // RSA-2048 pair issued by the one CA is what `heldCertificates: 'agent'` says below.
    const agentCredentials = {
      key: [certs.rsa.key, certs.ecdsa.key],
      cert: [chain, chainOf(certs.ecdsa)],
      ca: ca.certificatePem,
    };
    const tlsPolicy = await resolveStartupTlsPolicy(store, o.tlsPolicy, logger);
    const tickets = await TicketKeys.open(new SealedTicketSecretStore(store, secrets), logger);
    const metrics = new ManagerMetrics({
      // Counts over every computer at each scrape: on the read connection, beside the heartbeats.
      computerStatusCounts: (t) => store.reads.computers.statusCounts(t),
      notifierBacklog: async () => {
        if (!monitoring) return [];
        const out = [];
        for (const n of await store.notifiers.list()) {
          const b = await store.notifiers.backlog(n);
          out.push({ notifier: n.name, alerts: b.alerts, events: b.events });
        }
        return out;
      },
      dialQueue: async (t) => ({
        due: communication ? await store.dialTargets.countDue(t) : 0,
        inFlight: communication?.dialer.active ?? 0,
      }),
      storeCommits: () => {
        const g = communication?.ingest.groupCommits;
        return g ? { ...g, logSyncs: store.counters().logSyncs ?? null } : null;
      },
    });
    monitoring = startMonitoring({
      store,
      secrets,
      configurations,
      logger,
      heartbeatIntervalSeconds,
      manager: hostnames[0]!,
      options: o.monitoring,
    });
    communication = await createManagerCommunication({
      store,
      ca,
      dataDir: o.dataDir,
      nodeName: hostnames[0]!,
      configurations,
      heartbeatIntervalSeconds,
      logger,
      monitor: monitoring.heartbeats,
      observeStore: (seconds) => metrics.storeSeconds.observe(seconds),
      onDial: (reason, outcome) => metrics.dials.inc({ reason, outcome }),
      eventRate: { ...DEFAULT_EVENT_RATE, ...o.eventRate },
      onEventsDeferred: (count) => metrics.eventsDeferred.inc(count),
      ...(o.dialer ? { options: o.dialer } : {}),
      tlsPolicy: () => agentTls?.policy ?? tlsPolicy.name,
    });
    // Deactivation from the API tells a listening agent at once (the dialer calls it).
    const lifecycle = new ComputerLifecycleService({
      store,
      logger,
      tellAgent: (c) => communication!.dialer.notifyDeactivated(c),
    });
    const agentPackages = new AgentPackages(o.agentPackagesDir ?? join(o.dataDir, 'agent-packages'));
    const agentEndpoint = createAgentEndpoint({
      lifecycle,
      packages: agentPackages,
      metrics,
      ...(o.agentQueues ? { queues: o.agentQueues } : {}),
      ingest: communication.ingest,
      ...testHoldHeartbeatReply(logger),
      store,
      ca,
      configurations,
      heartbeatIntervalSeconds,
      logger,
      tls: agentTlsOptions(agentCredentials, tlsPolicy.name, tickets),
      heldCertificates: 'agent',
      limits: limits.agent,
    });
    servers.push(agentEndpoint);
    const endpointTls = new AgentEndpointTls({
      endpoint: agentEndpoint,
      credentials: agentCredentials,
      heldCertificates: 'agent',
      store,
      logger,
      initial: tlsPolicy,
      tickets,
      metrics,
      legacyPort: o.legacyTlsPort,
      bindAddress: o.bindAddress,
      handshakeTimeoutMs: limits.agent.handshakeTimeoutMs,
    });
    // After AgentEndpointTls took over the connection handler: the guard goes in front of it.
    const agentGuard = new ConnectionGuard(`agent endpoint (${o.heartbeatPort ?? 4120})`, limits.agent, logger);
    agentGuard.install(agentEndpoint.server);
    agentTls = endpointTls;
    const listening: { api: number; heartbeat: number } = {
      api: o.apiPort ?? 4119,
      heartbeat: o.heartbeatPort ?? 4120,
    };
    // The services the API calls. A configuration change that makes listening computers due
    // wakes this node's dialer once it committed (expected-fingerprints.ts).
    const dialer = communication.dialer;
    const wakeDialer = () => dialer.wake();
    const tlsPolicyService = new TlsPolicyService(store, endpointTls);
    const api = createApiServer({
      store,
      secrets,
      logger,
      tls: { key: tls.key, cert: chain },
      services: {
        policies: new PolicyService(store, configurations, { wakeDialer }),
        firewall: new FirewallService(store, configurations, { wakeDialer }),
        firewallLists: new FirewallListService(store, configurations, { wakeDialer }),
        tlsPolicy: tlsPolicyService,
        systemSettings: new SystemSettingsService(store, builtInSystemSettings(tlsPolicyService)),
        consoleAuth: new ConsoleAuthService(store),
        lifecycle,
        actions: new ComputerActionsService({
          store,
          configurations,
          dialNow: (id, reason) => dialer.dialNow(id, reason),
        }),
      },
      monitoring,
      heartbeatIntervalSeconds,
      consoleDir: o.consoleDir,
      dashboardPollMs: o.dashboardPollMs,
      limits: limits.api,
      metrics,
      deployment: {
        ca,
        packages: agentPackages,
        // The first name is the one scripts use: start the manager with --hostname NAME first.
        address: () => ({ host: hostnames[0]!, apiPort: listening.api, heartbeatPort: listening.heartbeat }),
      },
    });
    servers.push(api);
    const apiGuard = new ConnectionGuard(`API (${o.apiPort ?? 4119})`, limits.api, logger);
    apiGuard.install(api.server);
    metrics.watchTlsServer(agentEndpoint.server as unknown as TlsServer, '4120', 'agent');
    metrics.watchTlsServer(api.server as unknown as TlsServer, '4119');
    await listen(agentEndpoint, o.heartbeatPort ?? 4120, o.bindAddress);
    await endpointTls.start();
    await listen(api, o.apiPort ?? 4119, o.bindAddress);
    if (o.metricsListen) metricsServer = await serveMetrics(metrics, o.metricsListen, logger);
    communication.start();
    retention = new RetentionPruner({
      store,
      logger: logger.child({ component: 'retention' }),
      ...o.retention,
      onPruned: (r) => {
        for (const [table, n] of Object.entries(r.pruned)) if (n > 0) metrics.retentionPruned.inc({ table }, n);
        for (const [source, n] of Object.entries(r.undelivered))
          if (n > 0) metrics.notifierItemsDropped.inc({ source }, n);
      },
    });
    retention.start();
    const pruner = retention;
    const port = (s: FastifyInstance) => (s.server.address() as AddressInfo).port;
    listening.api = port(api);
    listening.heartbeat = port(agentEndpoint);
    // Registered once it answers, so "online" means it does.
    const notifiers = monitoring.notifiers;
    node = await ManagerNodeRegistry.start({
      store,
      logger: logger.child({ component: 'nodes' }),
      name: o.nodeName ?? `${hostnames[0]}:${listening.heartbeat}`,
      hostnames,
      agentAddresses: o.agentAddresses ?? [],
      version: MANAGER_VERSION,
      // 10 s at the production interval; a lab's shortened interval shortens it too (2 s: 0.5 s).
      beatMs: o.managerNodes?.beatMs ?? Math.min(10_000, Math.max(500, (heartbeatIntervalSeconds * 1000) / 60)),
      offlineAfterMs: o.managerNodes?.offlineAfterMs,
      onChanges: () => notifiers.wake(),
    });
    const registered = node;
    return {
      store,
      ca,
      apiPort: port(api),
      heartbeatPort: port(agentEndpoint),
      hostnames,
      heartbeatIntervalSeconds,
      caFingerprint: ca.fingerprint,
      firstRun,
      agentTls: endpointTls,
      monitoring,
      communication,
      consoleBuilt: existsSync(join(o.consoleDir ?? DEFAULT_CONSOLE_DIR, 'index.html')),
      metrics,
      metricsPort: metricsServer ? (metricsServer.address() as AddressInfo).port : null,
      agentPackages,
      node: registered,
      retention: pruner,
      connections: { limits, agent: agentGuard, api: apiGuard },
      async close() {
        await registered.close();
        await pruner.close();
        await new Promise((r) => (metricsServer ? metricsServer.close(r) : r(undefined)));
        await communication?.close();
        await endpointTls.close();
        await Promise.allSettled(servers.map((s) => s.close()));
        await monitoring?.close();
        await store.close();
      },
    };
  } catch (e) {
    await node?.close();
    await retention?.close();
    metricsServer?.close();
    await communication?.close();
    await agentTls?.close();
    await Promise.allSettled(servers.map((s) => s.close()));
    await monitoring?.close();
    await store.close();
    throw e;
  }
}
