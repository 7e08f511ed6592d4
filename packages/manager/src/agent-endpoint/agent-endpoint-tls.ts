import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import {
  isTlsPolicyName,
  MAX_CLIENT_HELLO_BYTES,
  peekClientHello,
  TLS_POLICY_NAMES,
  TLS_VERSION_CODES,
  type TlsPolicyName,
  tlsContextOptions,
  tlsPolicy,
} from '@palisade/core';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { PalisadeError } from '../errors.js';
import type { ManagerMetrics } from '../metrics/manager-metrics.js';
import type { Store, StoreTransaction } from '../store/store.js';
import type { HeldCertificates } from './served-certificate.js';
import { type TicketKeys, TLS_SESSION_ID_CONTEXT, TLS_SESSION_TIMEOUT_SECONDS } from './ticket-keys.js';

/** System setting (store `system_settings`) holding the agent endpoint's TLS policy name. */
export const TLS_POLICY_SETTING = 'agentTlsPolicy';

/** Where the legacy TLS 1.0/1.1 listener listens when nothing else is said. */
export const DEFAULT_LEGACY_TLS_PORT = 4122;

/**
 * How often a node re-reads the stored policy, so that a change made through another node's API
 * (nodes share one PostgreSQL database) or with `palisade-manager tls set` reaches this node's
 * listeners without a restart. A change through this node's own API applies at once.
 */
export const TLS_POLICY_POLL_MS = 30_000;

/**
 * The server's identity on 4120: its key/certificate pairs (each chain leaf, then CA) and the CA
 * agents' certificates chain to. Two pairs side by side in one context, ECDSA P-256 and
 * RSA-2048: OpenSSL picks per handshake the certificate the client's signature algorithms and
 * suites can use — ECDSA for TLS 1.3 clients (Palisade agents; it costs the server a fraction
 * of an RSA signature), RSA for the `TLS_ECDHE_RSA_*` and `TLS_RSA_*` suites of the cipher-suite
 * table's Deep Security rows.
 */
export interface AgentTlsCredentials {
  key: string[];
  cert: string[];
  ca: string;
}

/** Node TLS options for the agent endpoint's context (port 4120) under a policy. */
export type AgentTlsOptions = SecureContextOptions & { minVersion: SecureVersion; maxVersion: SecureVersion };

/**
 * The policy the main agent endpoint (4120) serves. `legacy` needs OpenSSL security level 0,
 * which applies to a whole SSL_CTX — every protocol and every handshake of that context, TLS 1.3
 * included (tls-policy.ts, measured). So under `legacy` the main endpoint stays exactly
 * `compatible` and only the legacy context (its own SSL_CTX) runs at level 0.
 */
export function mainEndpointPolicy(name: TlsPolicyName): TlsPolicyName {
  return name === 'legacy' ? 'compatible' : name;
}

/**
 * Session resumption settings shared by every context of the agent endpoint (ticket-keys.ts):
 * a ticket lifetime longer than the heartbeat interval and a session ID context that is the same
 * on every node. Exported for the capacity benchmark's bare server, which must resume alike.
 */
export const AGENT_TLS_SESSION_OPTIONS = {
  sessionTimeout: TLS_SESSION_TIMEOUT_SECONDS,
  sessionIdContext: TLS_SESSION_ID_CONTEXT,
} as const;

/** The context options of the main agent endpoint for a policy, with that context's ticket keys. */
export function agentTlsOptions(
  credentials: AgentTlsCredentials,
  name: TlsPolicyName,
  tickets: TicketKeys | null,
): AgentTlsOptions {
  const policy = mainEndpointPolicy(name);
  return {
    ...credentials,
    ...tlsContextOptions(policy),
    ...AGENT_TLS_SESSION_OPTIONS,
    ...(tickets ? { ticketKeys: tickets.keysFor(policy) } : {}),
  };
}

/** True when a ClientHello's best version is below TLS 1.2: only the legacy context can answer it. */
function wantsLegacy(maxVersion: number): boolean {
  return maxVersion < TLS_VERSION_CODES['TLSv1.2'];
}

/** How long 4120 waits for a ClientHello while the `legacy` policy makes it read one. */
const CLIENT_HELLO_WAIT_MS = 10_000;

/** Where the policy in force came from. */
export type TlsPolicySource = 'stored' | 'start-option' | 'default';

/**
 * The policy a starting node runs, and what it stores. Precedence (docs/tls.md): the stored
 * system setting wins once one exists; `--tls-policy` only seeds it when none is stored. The
 * setting is shared by every node of the database and survives restarts, and a stale flag in a
 * service unit must never silently undo a tightening an operator made in the API — so a flag that
 * disagrees with the stored value is reported, not applied. Without a flag and without a stored
 * value the node runs the default (`modern`) and stores nothing, so the first explicit choice
 * (flag or API) is the one recorded.
 */
export async function resolveStartupTlsPolicy(
  store: Store,
  flag: TlsPolicyName | undefined,
  logger: Logger,
): Promise<{ name: TlsPolicyName; source: TlsPolicySource }> {
  const stored = await store.systemSettings.get(TLS_POLICY_SETTING);
  if (stored !== null) {
    if (!isTlsPolicyName(stored)) {
      throw new Error(
        `the stored TLS policy "${stored}" is not one of ${TLS_POLICY_NAMES.join(', ')}; set a valid one with "palisade-manager tls set --policy NAME"`,
      );
    }
    if (flag !== undefined && flag !== stored) {
      logger.warn(
        { tlsPolicy: stored, ignoredStartOption: flag },
        `--tls-policy ${flag} ignored: the stored TLS policy "${stored}" wins once set; change it with POST /api/tls/policy or "palisade-manager tls set --policy ${flag}"`,
      );
    }
    return { name: stored, source: 'stored' };
  }
  if (flag !== undefined) {
    await store.systemSettings.set(TLS_POLICY_SETTING, flag);
    return { name: flag, source: 'start-option' };
  }
  return { name: 'modern', source: 'default' };
}

export interface AgentEndpointTlsDeps {
  /** The agent endpoint (listening on 4120); its `server` gets the new context on each change. */
  endpoint: FastifyInstance;
  credentials: AgentTlsCredentials;
  /** What `credentials` are (served-certificate.ts); default `unknown`. */
  heldCertificates?: HeldCertificates | undefined;
  store: Store;
  logger: Logger;
  /** Policy the endpoint was created with (its initial context must already match it). */
  initial: { name: TlsPolicyName; source: TlsPolicySource };
  /** Session-ticket keys shared by every node (ticket-keys.ts). */
  tickets: TicketKeys;
  /** Counts the legacy context's handshakes too (`GET /metrics`). */
  metrics?: ManagerMetrics | undefined;
  /** Port of the legacy listener; 0 picks a free one (tests). Default {@link DEFAULT_LEGACY_TLS_PORT}. */
  legacyPort?: number | undefined;
  /** Address the legacy listener binds; default all interfaces, as the main endpoint. */
  bindAddress?: string | undefined;
  /** Default {@link TLS_POLICY_POLL_MS}; 0 turns re-reading off. */
  pollMs?: number;
  /** The legacy listener's TLS handshake timeout, as the main endpoint's; default Node's 120 s. */
  handshakeTimeoutMs?: number | undefined;
}

/**
 * The agent endpoint's TLS policy, applied to the running listeners without a restart.
 *
 * - Main endpoint (4120): `server.setSecureContext()` swaps the context every *new* handshake
 *   uses. Connections already open keep what they negotiated until they close (an agent's
 *   exchange ends with its connection; idle keep-alive connections close after the port's
 *   `keepAliveTimeoutMs`, 30 s, http/connection-guard.ts). The new context also has a fresh session cache and ticket keys
 *   of its own policy (ticket-keys.ts), so a client cannot resume a session negotiated under the
 *   looser policy (measured: `openssl s_client -sess_in` with an AES256-SHA256 session is
 *   refused after compatible → modern).
 * - Legacy context: only while the policy is `legacy`, TLS 1.0+ at security level 0 (see
 *   {@link mainEndpointPolicy}), serving the same routes through `fastify.routing`. It answers
 *   the TLS 1.0/1.1 clients of 4120 itself (their ClientHello is read first, {@link route}) and
 *   everyone on the alias port (`--legacy-tls-port`, default 4122) for agents already pointed
 *   there.
 *
 * Changes are serialized: an API change and a re-read of the stored value never interleave.
 */
export class AgentEndpointTls {
  private current: TlsPolicyName;
  private source: TlsPolicySource;
  private legacy: HttpsServer | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private rotation: NodeJS.Timeout | null = null;
  private closed = false;
  /** The main server's own TLS connection handler, which sockets reach after routing. */
  private tlsConnection: ((socket: Socket) => void) | null = null;
  private readonly legacyPortOption: number;
  private readonly mainServer: HttpsServer;

  constructor(private readonly deps: AgentEndpointTlsDeps) {
    // createAgentEndpoint passes `https` options, so fastify's server is an https.Server; its
    // type parameter is not carried through FastifyInstance.
    this.mainServer = deps.endpoint.server as unknown as HttpsServer;
    this.current = deps.initial.name;
    this.source = deps.initial.source;
    this.legacyPortOption = deps.legacyPort ?? DEFAULT_LEGACY_TLS_PORT;
    this.takeOverConnections();
  }

  /** The policy in force. */
  get policy(): TlsPolicyName {
    return this.current;
  }

  /** Where {@link policy} came from: the stored setting, the start option, or the default. */
  get policySource(): TlsPolicySource {
    return this.source;
  }

  /** The legacy listener's bound port while it is open, else null. */
  get legacyPort(): number | null {
    const a = this.legacy?.address();
    return a && typeof a === 'object' ? (a as AddressInfo).port : null;
  }

  /** The port the legacy listener opens on (the option, not the bound port). */
  get configuredLegacyPort(): number {
    return this.legacyPortOption;
  }

  /** Opens the legacy listener if the initial policy needs it, logs the warning, starts re-reading and rotating ticket keys. */
  async start(): Promise<void> {
    await this.serialized(async () => {
      if (this.current === 'legacy') await this.openLegacy();
      this.announce(this.current, this.source);
    });
    const pollMs = this.deps.pollMs ?? TLS_POLICY_POLL_MS;
    if (pollMs > 0) {
      this.timer = setInterval(() => void this.reload(), pollMs);
      this.timer.unref();
    }
    this.scheduleRotation();
  }

  /**
   * One port for every admitted TLS version (docs/architecture.md "TLS"): the main server's `connection`
   * handler (Node's, which starts TLS on the socket) is replaced by {@link route}, which under
   * `legacy` reads the ClientHello first and hands a TLS 1.0/1.1 client to the legacy context —
   * which runs at OpenSSL security level 0, so the main context never has to.
   */
  private takeOverConnections(): void {
    const handlers = this.mainServer.listeners('connection') as Array<(socket: Socket) => void>;
    const server = this.mainServer;
    this.tlsConnection = (socket) => {
      for (const h of handlers) h.call(server, socket);
    };
    server.removeAllListeners('connection');
    this.mainServer.on('connection', (socket: Socket) => this.route(socket));
  }

  private route(socket: Socket): void {
    const main = this.tlsConnection!;
    if (!this.legacy) {
      main(socket);
      return;
    }
    let received = Buffer.alloc(0);
    const done = (handler: (s: Socket) => void) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onError);
      socket.pause();
      // Node's TLS socket reads what was already taken from the stream before its own handle.
      socket.unshift(received);
      handler(socket);
    };
    const onData = (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      const hello = peekClientHello(received);
      if (hello.kind === 'incomplete' && received.length < MAX_CLIENT_HELLO_BYTES) return;
      const legacy = this.legacy;
      if (hello.kind === 'hello' && wantsLegacy(hello.maxVersion) && legacy) done((s) => legacy.emit('connection', s));
      else done(main);
    };
    const onError = () => {
      clearTimeout(timer);
      socket.destroy();
    };
    const timer = setTimeout(onError, CLIENT_HELLO_WAIT_MS);
    socket.on('data', onData);
    socket.once('error', onError);
    socket.once('end', onError);
  }

  /** At each rotation period's start, every context takes the new period's ticket keys. */
  private scheduleRotation(): void {
    if (this.closed) return;
    this.rotation = setTimeout(() => {
      void this.serialized(async () => this.rekey()).finally(() => this.scheduleRotation());
    }, this.deps.tickets.msUntilRotation() + 1_000);
    this.rotation.unref();
  }

  /** Hands each open context the current ticket keys (after a rotation or a new stored secret). */
  private rekey(): void {
    this.mainServer.setTicketKeys(this.deps.tickets.keysFor(mainEndpointPolicy(this.current)));
    this.legacy?.setTicketKeys(this.deps.tickets.keysFor('legacy'));
  }

  /**
   * Applies `name` to the running listeners, then stores it, with whatever `alsoStore` writes
   * (the audit row) in the same transaction. If the listeners cannot take it (the legacy port is
   * in use) nothing changes; if storing fails the listeners go back.
   */
  async set(
    name: TlsPolicyName,
    actor: string,
    alsoStore?: (tx: StoreTransaction, previous: TlsPolicyName) => Promise<void>,
  ): Promise<void> {
    await this.serialized(async () => {
      const previous = this.current;
      const previousSource = this.source;
      await this.apply(name);
      try {
        await this.deps.store.transaction(async (tx) => {
          await tx.systemSettings.set(TLS_POLICY_SETTING, name);
          await alsoStore?.(tx, previous);
        });
      } catch (e) {
        await this.apply(previous);
        this.source = previousSource;
        throw e;
      }
      this.source = 'stored';
      if (previous !== name)
        this.deps.logger.info(
          { tlsPolicy: name, previous, actor },
          `agent endpoint TLS policy changed from "${previous}" to "${name}"`,
        );
      this.announce(name, 'stored');
    });
  }

  /** Re-reads the stored policy and applies it when another node or the CLI changed it. */
  async reload(): Promise<void> {
    await this.serialized(async () => {
      if (this.closed) return;
      if (await this.deps.tickets.reload()) {
        this.rekey();
        this.deps.logger.info('agent endpoint: the stored TLS ticket secret changed; using it');
      }
      let stored: string | null;
      try {
        stored = await this.deps.store.systemSettings.get(TLS_POLICY_SETTING);
      } catch (e) {
        this.deps.logger.warn({ err: e }, 'could not re-read the stored TLS policy; keeping the current one');
        return;
      }
      if (stored === null || stored === this.current) return;
      if (!isTlsPolicyName(stored)) {
        this.deps.logger.error({ stored }, `stored TLS policy "${stored}" is not valid; keeping "${this.current}"`);
        return;
      }
      const previous = this.current;
      try {
        await this.apply(stored);
      } catch (e) {
        this.deps.logger.error(
          { err: e, tlsPolicy: stored },
          `could not apply the stored TLS policy "${stored}"; keeping "${previous}"`,
        );
        return;
      }
      this.source = 'stored';
      this.deps.logger.info(
        { tlsPolicy: stored, previous },
        `agent endpoint TLS policy changed from "${previous}" to "${stored}" (stored setting changed)`,
      );
      this.announce(stored, 'stored');
    });
  }

  /** Stops re-reading and closes the legacy listener. The main endpoint is closed by its owner. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.rotation) clearTimeout(this.rotation);
    this.timer = null;
    this.rotation = null;
    await this.serialized(() => this.closeLegacy(true));
  }

  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Loosening opens the legacy listener before anything else, so a port in use changes nothing. */
  private async apply(name: TlsPolicyName): Promise<void> {
    if (name === 'legacy') await this.openLegacy();
    this.mainServer.setSecureContext(agentTlsOptions(this.deps.credentials, name, this.deps.tickets));
    if (name !== 'legacy') await this.closeLegacy(false);
    this.current = name;
  }

  private announce(name: TlsPolicyName, source: TlsPolicySource): void {
    const p = tlsPolicy(name);
    const fields = { tlsPolicy: name, source, mainEndpoint: mainEndpointPolicy(name), legacyPort: this.legacyPort };
    if (p.warning !== null) this.deps.logger.warn(fields, p.warning);
    else this.deps.logger.info(fields, `agent endpoint TLS policy "${name}": ${p.summary}`);
  }

  private async openLegacy(): Promise<void> {
    if (this.legacy) return;
    const endpoint = this.deps.endpoint;
    const server = createHttpsServer(
      {
        ...this.deps.credentials,
        ...tlsContextOptions('legacy'),
        ...AGENT_TLS_SESSION_OPTIONS,
        ticketKeys: this.deps.tickets.keysFor('legacy'),
        // As on 4120: ask for the agent certificate, let the routes decide (activation has none).
        requestCert: true,
        rejectUnauthorized: false,
        ...(this.deps.handshakeTimeoutMs !== undefined ? { handshakeTimeout: this.deps.handshakeTimeoutMs } : {}),
      },
      (req, res) => endpoint.routing(req, res),
    );
    // The same limits fastify puts on its own server.
    server.keepAliveTimeout = endpoint.server.keepAliveTimeout;
    server.requestTimeout = endpoint.server.requestTimeout;
    server.headersTimeout = endpoint.server.headersTimeout;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        const host = this.deps.bindAddress;
        const done = () => {
          server.off('error', reject);
          resolve();
        };
        if (host) server.listen(this.legacyPortOption, host, done);
        else server.listen(this.legacyPortOption, done);
      });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
      throw new PalisadeError('LEGACY_TLS_PORT_UNAVAILABLE', `port ${this.legacyPortOption}: ${code}`);
    }
    server.on('tlsClientError', (err) =>
      this.deps.logger.debug({ err: err.message }, 'legacy TLS listener: handshake failed'),
    );
    server.on('error', (err) => this.deps.logger.error({ err }, 'legacy TLS listener failed'));
    this.deps.metrics?.watchTlsServer(server, 'legacy', this.deps.heldCertificates ?? 'unknown');
    this.legacy = server;
  }

  /**
   * Stops accepting at once and closes idle connections. Requests in flight finish; `wait` also
   * waits for them (shutdown), a policy change does not (the API answers without waiting).
   */
  private async closeLegacy(wait: boolean): Promise<void> {
    const server = this.legacy;
    if (!server) return;
    this.legacy = null;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    if (wait) await closed;
  }
}
