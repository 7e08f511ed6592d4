import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { continuityOf, decideActivation, heartbeatContinuity, type KnownComputer } from '@palisade/core';
import {
  type ActivationReply,
  ActivationRequest,
  AGENT_PACKAGE_FILE,
  AGENT_PATHS,
  AgentDeactivation,
  type DeactivationReply,
  type HeartbeatReply,
  HeartbeatReport,
  MAX_EVENT_DATA_DEPTH,
  nestedDeeperThan,
  OperationResults,
  PROTOCOL_VERSION,
  ReactivationRequest,
} from '@palisade/protocol';
import { Type } from '@sinclair/typebox';
import Fastify, { type FastifyInstance, type FastifyRequest, type FastifySchemaCompiler } from 'fastify';
import type { Logger } from 'pino';
import { PalisadeError } from '../errors.js';
import { type PortLimits, serverTimeouts } from '../http/connection-guard.js';
import { errorAnswer, installErrorHandling, validationFailed } from '../http/error-handling.js';
import { commonFastifyOptions } from '../http/fastify-options.js';
import { activeHolder, type HeartbeatIngest, type ReportFrom } from '../ingest.js';
import type { ManagerMetrics } from '../metrics/manager-metrics.js';
import { type CertificateAuthority, CsrError, normalizeSerial } from '../pki/certificate-authority.js';
import { hashSecret, randomToken } from '../secrets.js';
import { agentActivationSettingsOf } from '../services/agent-activation-settings.js';
import type { AgentPackages } from '../services/agent-packages.js';
import { ComputerLifecycleService } from '../services/computer-lifecycle.js';
import type { ConfigurationService } from '../services/configuration-service.js';
import { BASE_POLICY_NAME } from '../store/repositories/policy-repository.js';
import type { AgentComputerRecord, ComputerRecord, Store } from '../store/store.js';
import { AdmissionQueue, type AdmissionQueueOptions, QueueFullError } from './admission-queue.js';
import { type JsonBody, leanJsonLength, readJsonBody, sendJson } from './lean-heartbeat.js';
import { type HeldCertificates, handshakeCertificate } from './served-certificate.js';
import { sessionPeerSerial } from './session-peer-serial.js';

export interface AgentEndpointDeps {
  store: Store;
  ca: CertificateAuthority;
  configurations: ConfigurationService;
  heartbeatIntervalSeconds: number;
  logger: Logger;
  /** TLS options for the listener: certificate, key, CA, protocol bounds and ciphers. */
  tls: import('node:tls').SecureContextOptions & {
    minVersion?: import('node:tls').SecureVersion;
    maxVersion?: import('node:tls').SecureVersion;
  };
  /**
   * What the `tls` pairs are (served-certificate.ts): `agent` for the manager's ECDSA P-256 and
   * RSA-2048 pairs of one CA, which lets a full handshake's certificate be told from what was
   * negotiated. Default `unknown`: OpenSSL is asked.
   */
  heldCertificates?: HeldCertificates | undefined;
  /** Timeouts of the port (http/connection-guard.ts); its connection caps are installed by the caller. */
  limits?: PortLimits | undefined;
  /** The ingest path shared with the dialer (ingest.ts): reports, results and activations are stored there. */
  ingest: HeartbeatIngest;
  /**
   * Bounds on activations and heartbeats served at once and waiting (admission-queue.ts);
   * defaults {@link DEFAULT_ACTIVATION_QUEUE} and {@link DEFAULT_HEARTBEAT_QUEUE}.
   */
  queues?: { activations?: AdmissionQueueOptions; heartbeats?: AdmissionQueueOptions } | undefined;
  /** Counts replies by route and outcome, and heartbeat latency (`GET /metrics`). */
  metrics?: ManagerMetrics | undefined;
  /** Deactivation when the agent leaves (reset, uninstall); default one over the store. */
  lifecycle?: ComputerLifecycleService;
  /** The agent packages this node serves: upgrades download theirs over the agent's mutual TLS. */
  packages?: AgentPackages | undefined;
  /** Test hook only (PALISADE_TEST_HOLD_HEARTBEAT_REPLY_MS): hold each heartbeat reply this long after its commit. */
  holdReplyMs?: number;
  now?: () => number;
}

/** Operations handed out on one connection, awaiting their results on that same connection. */
interface Exchange {
  id: string;
  computerId: number;
  operationIds: Set<number>;
}

declare module 'fastify' {
  interface FastifyRequest {
    computer?: AgentComputerRecord;
  }
}

/**
 * Activations: CPU-bound (a CSR signature check and a certificate signed with the CA's RSA-3072
 * key), so few at once on a small node; a thousand wait, the rest are told when to come back.
 */
export const DEFAULT_ACTIVATION_QUEUE: AdmissionQueueOptions = { concurrency: 4, maxQueued: 1_000 };
/** Heartbeats: mostly store time; many in flight, a reconnecting fleet's burst waits. */
export const DEFAULT_HEARTBEAT_QUEUE: AdmissionQueueOptions = { concurrency: 64, maxQueued: 4_096 };

const TOKEN_ERRORS = {
  unknown: 'TOKEN_UNKNOWN',
  expired: 'TOKEN_EXPIRED',
  'used-up': 'TOKEN_USED_UP',
  revoked: 'TOKEN_REVOKED',
} as const;

/**
 * The peer's address, read from the TCP socket the TLS socket wraps (Node's `_parent`), where
 * the connection guard read it at accept and Node keeps it. Asked of the TLS socket itself, Node
 * asks the kernel again (`getpeername` through the TLS wrap): a system call per heartbeat.
 */
function peerAddress(socket: TLSSocket): string | null {
  const tcp = (socket as TLSSocket & { _parent?: unknown })._parent;
  return (tcp instanceof Socket ? tcp : socket).remoteAddress ?? null;
}

/**
 * The agent endpoint (4120): activation with server-authenticated TLS and a token, then
 * heartbeats and operation results with mutual TLS, the client certificate being the agent's
 * identity. Its auth never shares code with the admin API's (docs/architecture.md "Security").
 */
export function createAgentEndpoint(deps: AgentEndpointDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const exchanges = new WeakMap<object, Map<string, Exchange>>();
  const { ingest } = deps;
  const lifecycle = deps.lifecycle ?? new ComputerLifecycleService({ store: deps.store, now });
  const timeouts = deps.limits ? serverTimeouts(deps.limits) : undefined;
  /** The heartbeat's own path (below); it declines what is Fastify's. */
  let leanHeartbeat: (req: IncomingMessage, res: ServerResponse) => boolean = () => false;
  const app = Fastify({
    ...commonFastifyOptions(deps.logger),
    ...timeouts?.fastify,
    // The server Fastify would make (lib/server.js: its timeouts included), with the ordinary
    // heartbeat answered before Fastify's pipeline (lean-heartbeat.ts). The handshake asks for a
    // certificate but does not demand one: activation comes before the agent has any. Routes that
    // need identity check `authorized` themselves.
    serverFactory: (handler) => {
      const server = createHttpsServer(
        { ...deps.tls, ...timeouts?.https, requestCert: true, rejectUnauthorized: false },
        (req, res) => {
          if (!leanHeartbeat(req, res)) handler(req, res);
        },
      );
      // Fastify's defaults where the port has no limits (tests): 72 s kept alive, no request or idle timeout.
      server.keepAliveTimeout = timeouts?.fastify.keepAliveTimeout ?? 72_000;
      server.requestTimeout = timeouts?.fastify.requestTimeout ?? 0;
      server.setTimeout(0);
      return server as unknown as import('node:http').Server;
    },
  });
  installErrorHandling(app);
  const metrics = deps.metrics;
  const activations = new AdmissionQueue(deps.queues?.activations ?? DEFAULT_ACTIVATION_QUEUE);
  const heartbeats = new AdmissionQueue(deps.queues?.heartbeats ?? DEFAULT_HEARTBEAT_QUEUE);
  /** Runs `fn` through `queue`; a full queue answers 503 MANAGER_BUSY with Retry-After (`setHeader`). */
  const admitted = async <T>(
    queue: AdmissionQueue,
    cap: string,
    setHeader: (name: string, value: string) => unknown,
    fn: () => Promise<T>,
  ) => {
    try {
      return await queue.run(fn);
    } catch (e) {
      if (e instanceof QueueFullError) {
        setHeader('retry-after', String(e.retryAfterSeconds));
        metrics?.refusals.inc({ port: '4120', cap });
      }
      throw e;
    }
  };
  if (metrics)
    app.addHook('onResponse', async (req, reply) =>
      metrics.observeAgentReply(req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000),
    );

  const checkProtocol = (v: number) => {
    if (v !== PROTOCOL_VERSION) {
      throw new PalisadeError('PROTOCOL_VERSION_UNSUPPORTED', `got ${v}, this manager speaks ${PROTOCOL_VERSION}`);
    }
  };

  /** The client certificate's serial per connection: its results come on the same one (below). */
  const peerSerials = new WeakMap<TLSSocket, string | null>();
  /**
   * The serial of the connection's client certificate, null without one, read the cheapest way
   * for how the connection began (measured on Node 20, ECDSA agent certificates, first read on
   * a fresh connection): on a resumed session, which keeps only the leaf, from
   * `getPeerX509Certificate()` (about 20 µs; the session's DER, below, 30–50 µs there); after a
   * full handshake, which also holds the peer's chain, from the TLS session's DER
   * (session-peer-serial.ts, about 40 µs against 190 µs for `getPeerX509Certificate()` and 115 µs
   * for `getPeerCertificate()`). Should the DER not read as expected, Node's `getPeerCertificate()`.
   */
  const peerSerial = (socket: TLSSocket): string | null => {
    let serial = peerSerials.get(socket);
    if (serial === undefined) {
      const fromNode = (raw: string | undefined) => (raw ? normalizeSerial(raw) : null);
      if (socket.isSessionReused()) serial = fromNode(socket.getPeerX509Certificate()?.serialNumber);
      else {
        const session = socket.getSession();
        const read = session ? sessionPeerSerial(session) : undefined;
        serial = read === undefined ? fromNode(socket.getPeerCertificate()?.serialNumber) : read;
      }
      peerSerials.set(socket, serial);
    }
    return serial;
  };

  /**
   * The serial of the client certificate this manager's CA signed (read once per connection,
   * `peerSerial`); refused without one. Which computer holds it is the store's to say.
   */
  const certifiedSerial = (socket: TLSSocket): string => {
    const serial = peerSerial(socket);
    if (serial === null) throw new PalisadeError('CLIENT_CERTIFICATE_REQUIRED');
    if (!socket.authorized)
      throw new PalisadeError(
        'CERTIFICATE_NOT_RECOGNIZED',
        String(socket.authorizationError ?? 'not signed by this manager CA'),
      );
    return serial;
  };
  /**
   * Identifies the agent by its client certificate before the body is even read: the computer
   * issued it, active (ingest.ts `activeHolder`), on every request. The lean heartbeat checks the
   * certificate here too, but reads the computer inside its report's unit of work.
   */
  const authenticate = async (socket: TLSSocket): Promise<AgentComputerRecord> => {
    const serial = certifiedSerial(socket);
    return activeHolder(deps.store, serial, await deps.store.computers.findByCertSerial(serial));
  };
  /** Fastify's `onRequest` for the routes of an activated agent. */
  const authenticateAgent = async (req: FastifyRequest) => {
    req.computer = await authenticate(req.raw.socket as TLSSocket);
  };

  app.get('/agent/v1/ca', async (_req, reply) => {
    reply.type('application/x-pem-file');
    return deps.ca.certificatePem;
  });

  app.post<{ Body: ActivationRequest }>(
    AGENT_PATHS.activate,
    { schema: { body: ActivationRequest } },
    async (req, reply): Promise<ActivationReply> =>
      admitted(
        activations,
        'activation-queue',
        (n, v) => reply.header(n, v),
        () => activateOne(req),
      ),
  );

  const activateOne = async (req: FastifyRequest<{ Body: ActivationRequest }>): Promise<ActivationReply> => {
    const body = req.body;
    checkProtocol(body.protocolVersion);
    // A host the manager knows by its identity gets its computer back (docs/deployment.md,
    // "Reactivation"), unless it is a second live copy of that host (its continuity token is
    // stale: "Cloned hosts").
    const hostIdentity = body.hostIdentity === undefined ? undefined : hashSecret(body.hostIdentity);
    const known = hostIdentity === undefined ? null : await deps.store.computers.findByHostIdentity(hostIdentity);
    // The system settings before the token (docs/deployment.md, "Who may activate"): a manager
    // that allows no activation says so, whatever the token, and uses none of it.
    const decision = decideActivation(await agentActivationSettingsOf(deps.store), {
      kind: 'token',
      known: known ? await knownComputer(known, body.continuity) : null,
    });
    if (decision.action === 'refuse') throw new PalisadeError(decision.code, decision.reason);
    const again = decision.action === 'reactivate' ? known : null;
    const token = await deps.store.activationTokens.check(hashSecret(body.token), now());
    if (!token.ok) throw new PalisadeError(TOKEN_ERRORS[token.reason]);
    return enrol(req, body, {
      tokenId: token.tokenId,
      // A reactivated computer keeps its policy unless the agent names one.
      policyId: again ? again.policyId : token.policyId,
      again,
      hostIdentity: decision.action === 'create-clone' ? undefined : hostIdentity,
      newIdentity: decision.action === 'create-clone',
    });
  };

  /** A known computer as the activation decision sees it: its state and how `continuity` compares. */
  const knownComputer = async (c: AgentComputerRecord, continuity: string | undefined): Promise<KnownComputer> => {
    const id = await deps.store.computers.identityOf(c.id);
    return {
      id: c.id,
      state: c.state,
      continuity: continuityOf(
        continuity === undefined ? null : hashSecret(continuity),
        id?.continuityCurrent ?? null,
        id?.continuityPrevious ?? null,
      ),
    };
  };

  /**
   * Issues the certificate and writes the computer — new, the known one again (`again`), or a
   * copy's own (`newIdentity`: the host is given a new identity, docs/deployment.md "Cloned
   * hosts") — with the first continuity token; the reply the agent keeps.
   */
  const enrol = async (
    req: FastifyRequest,
    body: Pick<ActivationRequest, 'csr' | 'hostName' | 'platform' | 'agentVersion' | 'policy' | 'listener'>,
    o: {
      tokenId: number | null;
      policyId: number;
      again: ComputerRecord | null;
      hostIdentity: string | undefined;
      newIdentity: boolean;
    },
  ): Promise<ActivationReply> => {
    const { again } = o;
    const t = now();
    let policyId = o.policyId;
    if (body.policy !== undefined) {
      const p = await deps.store.policies.findByName(body.policy);
      if (!p) throw new PalisadeError('POLICY_NOT_FOUND', `"${body.policy}"`);
      policyId = p.id;
    }
    const policy = await deps.store.policies.get(policyId);
    if (!policy) throw new PalisadeError('POLICY_NOT_FOUND', `the token's policy ${policyId} was deleted`);
    let issued: { certificate: string; serial: string };
    try {
      issued = await deps.ca.issueAgentCertificate(body.csr, body.hostName);
    } catch (e) {
      if (e instanceof CsrError) throw new PalisadeError('CSR_INVALID', e.message);
      throw e;
    }
    const identity = o.newIdentity ? randomToken(32) : undefined;
    const hostIdentity = identity === undefined ? o.hostIdentity : hashSecret(identity);
    // The first continuity token, where there is an identity to hold it.
    const continuity = hostIdentity === undefined ? undefined : randomToken(32);
    // A reactivated computer's own settings and firewall assignments count, as at any heartbeat.
    const effective = again
      ? await deps.configurations.forComputer({ id: again.id, policyId, platform: body.platform }, deps.store)
      : await deps.configurations.forNewComputer(policyId, body.platform, deps.store);
    const created = await ingest.activate(
      o.tokenId,
      {
        hostName: body.hostName,
        platform: body.platform,
        agentVersion: body.agentVersion,
        policyId,
        certSerial: issued.serial,
        expectedFingerprint: effective.fingerprint,
        now: t,
        hostIdentity,
        continuity: continuity === undefined ? undefined : hashSecret(continuity),
      },
      effective,
      req.ip ?? null,
      body.listener,
      again?.id,
    );
    if (created === 'token-used-up') throw new PalisadeError('TOKEN_USED_UP');
    if (created === 'gone')
      throw new PalisadeError('COMPUTER_NOT_FOUND', `computer ${again?.id} was deleted meanwhile; activate again`);
    req.log.info(
      {
        computerId: created.id,
        hostName: created.hostName,
        policy: policy.name,
        reactivated: again !== null,
        withToken: o.tokenId !== null,
      },
      again ? 'computer activated again' : 'computer activated',
    );
    return {
      protocolVersion: PROTOCOL_VERSION,
      computerId: created.id,
      policyId,
      policyName: policy.name,
      certificate: issued.certificate,
      caCertificate: deps.ca.certificatePem,
      configuration: effective.configuration,
      fingerprint: effective.fingerprint,
      heartbeatIntervalSeconds: deps.heartbeatIntervalSeconds,
      ...(continuity ? { continuity } : {}),
      ...(again ? { reactivated: true } : {}),
      ...(identity ? { hostIdentity: identity } : {}),
    };
  };

  /**
   * Activation without a token, on the mutual-TLS connection of the certificate the agent holds
   * (docs/deployment.md "Cloned hosts", "Unknown agents"). `cloned`: a heartbeat found this
   * host to be a live copy of its computer's host (its continuity token is stale): it becomes a
   * computer of its own where the settings allow. `unknown`: a certificate this CA issued that
   * the manager has no record of (a database restored from before the activation): the host
   * gets its computer back if the manager knows its identity, else a new one.
   */
  app.post<{ Body: ReactivationRequest }>(
    AGENT_PATHS.reactivate,
    { schema: { body: ReactivationRequest } },
    async (req, reply): Promise<ActivationReply> =>
      admitted(
        activations,
        'activation-queue',
        (n, v) => reply.header(n, v),
        () => reactivateOne(req),
      ),
  );

  const reactivateOne = async (req: FastifyRequest<{ Body: ReactivationRequest }>): Promise<ActivationReply> => {
    const body = req.body;
    checkProtocol(body.protocolVersion);
    const socket = req.raw.socket as TLSSocket;
    const peer = socket.getPeerX509Certificate();
    if (!peer) throw new PalisadeError('CLIENT_CERTIFICATE_REQUIRED');
    if (!socket.authorized)
      throw new PalisadeError(
        'CERTIFICATE_NOT_RECOGNIZED',
        String(socket.authorizationError ?? 'not signed by this manager CA'),
      );
    const serial = normalizeSerial(peer.serialNumber);
    const holder = await deps.store.computers.findByCertSerial(serial);
    if ((!holder && (await deps.store.computers.isRevokedSerial(serial))) || (holder && holder.state !== 'active'))
      throw new PalisadeError('CERTIFICATE_REVOKED');
    const settings = await agentActivationSettingsOf(deps.store);
    const hostIdentity = hashSecret(body.hostIdentity);
    if (body.reason === 'cloned') {
      if (!holder) throw new PalisadeError('CERTIFICATE_NOT_RECOGNIZED', `serial ${peer.serialNumber}`);
      const id = await deps.store.computers.identityOf(holder.id);
      const k = await knownComputer(holder, body.continuity);
      // Only the copy the heartbeat refused may ask: same identity, a continuity token gone stale
      // (or none, where one was issued), by the rule that refused it.
      if (id?.hostIdentity !== hostIdentity || heartbeatContinuity(k.continuity).action !== 'cloned')
        throw new PalisadeError(
          'ACTIVATION_NOT_ALLOWED',
          `this host is not a copy of computer ${holder.id}: its host identity and continuity token are that computer's own; it carries on heartbeating`,
        );
      const decision = decideActivation(settings, { kind: 'cloned', originalId: holder.id });
      if (decision.action === 'refuse') throw new PalisadeError(decision.code, decision.reason);
      return enrol(req, body, {
        tokenId: null,
        policyId: await policyFor(body.policy, holder.policyId),
        again: null,
        hostIdentity: undefined,
        newIdentity: true,
      });
    }
    if (holder)
      throw new PalisadeError(
        'ACTIVATION_NOT_ALLOWED',
        `this certificate is computer ${holder.id}'s, which the manager knows: it heartbeats as usual`,
      );
    const known = await deps.store.computers.findByHostIdentity(hostIdentity);
    const decision = decideActivation(settings, {
      kind: 'unknown',
      known: known ? await knownComputer(known, body.continuity) : null,
    });
    if (decision.action === 'refuse') throw new PalisadeError(decision.code, decision.reason);
    const again = decision.action === 'reactivate' ? known : null;
    return enrol(req, body, {
      tokenId: null,
      policyId: again ? again.policyId : await policyFor(body.policy, null),
      again,
      hostIdentity: decision.action === 'create-clone' ? undefined : hostIdentity,
      newIdentity: decision.action === 'create-clone',
    });
  };

  /** The policy a token-less activation gets: the one named when it exists, else `fallback`, else the Base Policy. */
  const policyFor = async (name: string | undefined, fallback: number | null): Promise<number> => {
    const named = name === undefined ? null : await deps.store.policies.findByName(name);
    if (named) return named.id;
    if (fallback !== null) return fallback;
    const base = await deps.store.policies.findByName(BASE_POLICY_NAME);
    if (!base) throw new PalisadeError('POLICY_NOT_FOUND', `"${BASE_POLICY_NAME}"`);
    return base.id;
  };

  // A heartbeat Fastify serves: one the lean path declines (lean-heartbeat.ts), or any while closing.
  app.post<{ Body: HeartbeatReport }>(
    AGENT_PATHS.heartbeat,
    { schema: { body: HeartbeatReport }, onRequest: authenticateAgent },
    async (req, reply): Promise<HeartbeatReply> =>
      admitted(
        heartbeats,
        'heartbeat-queue',
        (n, v) => reply.header(n, v),
        () => heartbeatOne(req.computer!, req.raw.socket as TLSSocket, req.body, req.log),
      ),
  );

  /** Fastify's validator of a heartbeat's body, as the route's (compiled at the first lean heartbeat). */
  let validateReport: ReturnType<FastifySchemaCompiler<unknown>> | undefined;
  /** From Fastify's `preClose` on, Fastify answers: 503 to requests on connections still open, as for every route. */
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  leanHeartbeat = (req, res) => {
    if (closing || req.method !== 'POST' || req.url !== AGENT_PATHS.heartbeat) return false;
    const length = leanJsonLength(req.headers);
    if (length === null) return false;
    validateReport ??= app.validatorCompiler?.({
      schema: HeartbeatReport,
      method: 'POST',
      url: AGENT_PATHS.heartbeat,
      httpPart: 'body',
    });
    if (!validateReport) return false;
    void serveHeartbeat(req, res, length, validateReport);
    return true;
  };

  /**
   * An ordinary heartbeat, in Fastify's order: the agent's certificate before the body, the body
   * parsed and checked against the protocol, then the ingest through the admission queue; errors
   * answered as error-handling.ts answers them, replies counted as the `onResponse` hook counts.
   * The computer holding the certificate is read and checked inside the report's own unit of
   * work (ingest.ts `ReportFrom`): one transaction for the whole heartbeat, and none before it.
   * A body refused is refused after the certificate is checked, so every request gets the answer
   * Fastify's order gives; only a revoked agent's well-formed report now waits for admission
   * (503 with Retry-After when the queue is full) before its 403.
   */
  const serveHeartbeat = async (
    req: IncomingMessage,
    res: ServerResponse,
    length: number,
    validate: ReturnType<FastifySchemaCompiler<unknown>>,
  ): Promise<void> => {
    const started = performance.now();
    const socket = req.socket as TLSSocket;
    let status = 200;
    try {
      const from = { certSerial: certifiedSerial(socket) };
      const body: JsonBody = await readJsonBody(req, length);
      if (!body.ok) {
        if (body.error === null) {
          // The client left mid-body: nothing to answer, nothing broke.
          res.destroy();
          return;
        }
        // A refused certificate is answered before a refused body, as in Fastify's order.
        await authenticate(socket);
        status = body.error.status;
        sendJson(res, status, body.error.toBody(), true);
        return;
      }
      if (validate(body.value) !== true) {
        await authenticate(socket);
        throw validationFailed('body', (validate as { errors?: Parameters<typeof validationFailed>[1] }).errors ?? []);
      }
      const reply = await admitted(
        heartbeats,
        'heartbeat-queue',
        (n, v) => res.setHeader(n, v),
        () => heartbeatOne(from, socket, body.value as HeartbeatReport, deps.logger),
      );
      sendJson(res, status, reply);
    } catch (e) {
      const answer = errorAnswer(
        e as Parameters<typeof errorAnswer>[0],
        { method: 'POST', url: AGENT_PATHS.heartbeat },
        deps.logger,
      );
      status = answer.status;
      if (!res.headersSent) sendJson(res, status, answer.toBody());
    } finally {
      metrics?.observeAgentReply(AGENT_PATHS.heartbeat, status, (performance.now() - started) / 1000);
    }
  };

  /** One heartbeat: the report ingested, an exchange opened on `socket` for its operations' results. */
  const heartbeatOne = async (
    from: ReportFrom,
    socket: TLSSocket,
    report: HeartbeatReport,
    log: { warn(details: object, message: string): void },
  ): Promise<HeartbeatReply> => {
    checkProtocol(report.protocolVersion);
    const deep = report.events.findIndex((e) => nestedDeeperThan(e.data, MAX_EVENT_DATA_DEPTH));
    if (deep >= 0)
      throw new PalisadeError(
        'VALIDATION_FAILED',
        `body.events.${deep}.data nests deeper than ${MAX_EVENT_DATA_DEPTH} levels`,
      );
    const cipher = socket.getCipher();
    const { reply, operationIds } = await ingest.ingestReport(from, report, {
      initiatedBy: 'agent',
      remoteIp: peerAddress(socket),
      tlsProtocol: socket.getProtocol() ?? null,
      tlsCipherSuite: cipher?.standardName ?? cipher?.name ?? null,
      tlsCertificateType: handshakeCertificate(socket, deps.heldCertificates ?? 'unknown'),
    });
    const exchange: Exchange = { id: randomUUID(), computerId: reply.computerId, operationIds: new Set(operationIds) };
    let onSocket = exchanges.get(socket);
    if (!onSocket) {
      onSocket = new Map();
      exchanges.set(socket, onSocket);
    }
    onSocket.set(exchange.id, exchange);
    if (deps.holdReplyMs) {
      log.warn(
        { computerId: reply.computerId, eventsStored: reply.eventsStored, holdReplyMs: deps.holdReplyMs },
        'TEST HOOK: heartbeat committed; holding the reply',
      );
      await new Promise((r) => setTimeout(r, deps.holdReplyMs));
    }
    return { ...reply, exchangeId: exchange.id };
  };

  app.post<{ Body: OperationResults }>(
    AGENT_PATHS.results,
    { schema: { body: OperationResults }, onRequest: authenticateAgent },
    async (req) => {
      const body = req.body;
      checkProtocol(body.protocolVersion);
      const computer = req.computer!;
      const exchange = exchanges.get(req.raw.socket)?.get(body.exchangeId);
      if (!exchange || exchange.computerId !== computer.id) throw new PalisadeError('EXCHANGE_NOT_ON_THIS_CONNECTION');
      const { accepted, ignored } = await ingest.ingestResults(computer, exchange.operationIds, body);
      if (exchange.operationIds.size === 0) exchanges.get(req.raw.socket)?.delete(exchange.id);
      return { accepted, ignored };
    },
  );

  // An upgrade's package (docs/deployment.md "Upgrades"), to an activated agent only.
  const packages = deps.packages;
  if (packages)
    app.get<{ Params: { file: string } }>(
      `${AGENT_PATHS.packages}/:file`,
      {
        schema: {
          params: Type.Object(
            { file: Type.String({ pattern: AGENT_PACKAGE_FILE.source }) },
            { additionalProperties: false },
          ),
        },
        onRequest: authenticateAgent,
      },
      async (req, reply) => {
        const p = await packages.find({ fileName: req.params.file });
        if (!p) throw new PalisadeError('AGENT_PACKAGE_NOT_FOUND', req.params.file);
        return reply
          .type('application/gzip')
          .header('content-length', String(p.size))
          .header('x-checksum-sha256', p.sha256)
          .send(createReadStream(packages.path(p)));
      },
    );

  // The agent is leaving (palisade-agent reset, uninstall): its computer shows Deactivated.
  app.post<{ Body: AgentDeactivation }>(
    AGENT_PATHS.deactivate,
    { schema: { body: AgentDeactivation }, onRequest: authenticateAgent },
    async (req): Promise<DeactivationReply> => {
      checkProtocol(req.body.protocolVersion);
      const id = req.computer!.id;
      const { changed } = await lifecycle.deactivate(id, `agent:${id}`);
      req.log.info({ computerId: id, reason: req.body.reason }, 'computer deactivated by its agent');
      return { protocolVersion: PROTOCOL_VERSION, computerId: id, deactivated: changed };
    },
  );

  return app;
}
