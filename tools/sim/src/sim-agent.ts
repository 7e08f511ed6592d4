import { randomBytes } from 'node:crypto';
import { createSecureContext, type SecureContext } from 'node:tls';
import {
  AGENT_VERSION,
  AgentError,
  type AgentKeyType,
  AgentListener,
  generateKeyAndCsr,
  type ManagerAddress,
  ManagerConnection,
  retryWhileBusy,
} from '@palisade/agent';
import {
  ActivationReply,
  AGENT_PATHS,
  type CommunicationDirection,
  type CommunicationState,
  HeartbeatReply,
  type HeartbeatReport,
  type Operation,
  type OperationResults,
  PROTOCOL_VERSION,
  ResultsReply,
} from '@palisade/protocol';
import type { Logger } from 'pino';
import type { ContinuityTokens, SimIdentity } from './identities.js';

/** What one exchange did, for the fleet's tallies. */
export interface ExchangeOutcome {
  latencyMs: number;
  resumed: boolean;
  tls: string;
  operations: number;
}

/** A short, stable name for a failure: the agent's error code, with the manager's when it refused. */
export function errorKind(e: unknown): string {
  if (e instanceof AgentError) return e.managerCode ? `${e.code}:${e.managerCode}` : e.code;
  const code = (e as NodeJS.ErrnoException)?.code;
  return typeof code === 'string' ? code : 'other';
}

/** TLS contexts kept per worker process, least recently used first ({@link secureContextOf}). */
const contexts = new Map<SimIdentity, SecureContext>();
/** About 33 KB each: 4,096 is about 135 MB per worker process. */
const MAX_CONTEXTS = 4_096;

/**
 * An agent's TLS context (its key and certificate, the manager's CA), built at its first
 * exchange and kept: building one parses the key and certificates, about 1 ms of CPU, and a
 * simulator runs many exchanges per agent (a real agent, one every ten minutes, builds it each
 * time). Bounded: beyond MAX_CONTEXTS agents in one process the least recently used is built
 * again when needed.
 */
function secureContextOf(identity: SimIdentity, ca: string): SecureContext {
  let context = contexts.get(identity);
  if (context) contexts.delete(identity);
  else {
    context = createSecureContext({ ca, key: identity.key, cert: identity.cert, minVersion: 'TLSv1.2' });
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value!);
  }
  contexts.set(identity, context);
  return context;
}

/** What a simulated agent keeps between exchanges and runs, and where it is told to keep it. */
export interface SimAgentState {
  /** The TLS session to offer first (kept from an earlier run). */
  session?: Buffer | undefined;
  /** Told of each new session the manager issues, to keep it. */
  onSession?: (session: Buffer) => void;
  /** The continuity tokens it holds (kept from activation or an earlier run). */
  continuity?: ContinuityTokens;
  /** Told of each new continuity token, with the one held before it, to keep them. */
  onContinuity?: (tokens: ContinuityTokens) => void;
}

/**
 * One simulated agent: the agent package's own TLS client (`ManagerConnection`), key
 * generation and wire messages, without a state directory — the identity lives in memory and
 * in the identities directory, the TLS session (ticket) and the continuity tokens in memory and
 * there too. Each exchange is what a real agent does: a new connection, the report with the
 * continuity token it holds, then the operations' results on the same connection, and the next
 * token kept.
 */
export class SimAgent {
  private lastRoundTripMs: number | undefined;
  private sent = 0;
  /** Configurations "applied" (operations taken), as the agent counts them. */
  private applied = 0;
  private readonly started = Date.now();
  /** What it reports doing, once it listens ({@link listen}); absent: it says nothing, as older agents. */
  private communication: CommunicationState | undefined;
  private session: Buffer | undefined;
  private continuity: ContinuityTokens;

  constructor(
    readonly identity: SimIdentity,
    private readonly manager: ManagerAddress,
    private readonly ca: string,
    private readonly kept: SimAgentState = {},
  ) {
    this.session = kept.session;
    this.continuity = { ...kept.continuity };
  }

  /**
   * Generates a key and a host identity, sends the CSR and the identity with the token, and
   * returns the new identity with the first continuity token the manager issued.
   */
  static async activate(o: {
    index: number;
    manager: ManagerAddress;
    ca: string;
    token: string;
    keyType: AgentKeyType;
    hostPrefix: string;
    /** Announce this listener at activation (where `listen` will open it). */
    listener?: { address: string; port: number };
    /** Told each time the manager answered "busy" and the agent waits to retry. */
    onBusy?: () => void;
  }): Promise<{ identity: SimIdentity; continuity: ContinuityTokens }> {
    const hostName = `${o.hostPrefix}-${String(o.index).padStart(6, '0')}`;
    const { keyPem, csrPem } = await generateKeyAndCsr(hostName, o.keyType);
    // As the agent's state directory makes its own (state-dir.ts, hostIdentity).
    const hostIdentity = randomBytes(32).toString('base64url');
    // As the agent: a busy manager's Retry-After, with backoff and jitter, a bounded number of times.
    const body = await retryWhileBusy(
      async () => {
        const conn = new ManagerConnection(o.manager, { ca: o.ca });
        try {
          const r = await conn.request(
            'POST',
            AGENT_PATHS.activate,
            {
              protocolVersion: PROTOCOL_VERSION,
              token: o.token,
              csr: csrPem,
              hostName,
              platform: 'linux',
              agentVersion: AGENT_VERSION,
              hostIdentity,
              ...(o.listener ? { listener: o.listener } : {}),
            },
            ActivationReply,
          );
          return r.body;
        } finally {
          conn.close();
        }
      },
      { onBusy: () => o.onBusy?.() },
    );
    return {
      identity: {
        index: o.index,
        computerId: body.computerId,
        hostName,
        key: keyPem,
        cert: body.certificate,
        fingerprint: body.fingerprint,
        hostIdentity: body.hostIdentity ?? hostIdentity,
        ...(o.listener ? { listener: o.listener } : {}),
      },
      continuity: body.continuity ? { current: body.continuity } : {},
    };
  }

  /** Keeps the manager's next continuity token (its reply's), the one held becoming the previous. */
  private rotate(next: string | undefined): void {
    if (next === undefined || next === this.continuity.current) return;
    this.continuity = { current: next, ...(this.continuity.current ? { previous: this.continuity.current } : {}) };
    this.kept.onContinuity?.(this.continuity);
  }

  private report(eventsPerHeartbeat: number): HeartbeatReport {
    const now = Date.now();
    const events = Array.from({ length: eventsPerHeartbeat }, (_, i) => ({
      seq: this.sent * eventsPerHeartbeat + i + 1,
      time: now,
      type: 'sim.event',
      severity: 'info' as const,
      message: `simulated event ${this.sent * eventsPerHeartbeat + i + 1}`,
    }));
    return {
      protocolVersion: PROTOCOL_VERSION,
      agent: {
        version: AGENT_VERSION,
        platform: 'linux',
        hostName: this.identity.hostName,
        uptimeSeconds: Math.floor((now - this.started) / 1000),
        clockTime: now,
        ...(this.lastRoundTripMs !== undefined ? { lastRoundTripMs: this.lastRoundTripMs } : {}),
      },
      // A real agent's firewall is on under the default policy: its driver online, and the
      // agent's own counters (not the per-rule packet counters nftables would give).
      drivers: [{ name: 'firewall', status: 'online' }],
      events,
      counters: {
        heartbeatsSent: this.sent,
        heartbeatsFailed: 0,
        configurationsApplied: this.applied,
        configurationsFailed: 0,
        eventsSpooled: 0,
      },
      configurationFingerprint: this.identity.fingerprint,
      ...(this.communication ? { communication: this.communication } : {}),
      // As report-builder.ts: the token of the last reply, and the one before it.
      ...(this.continuity.current ? { continuity: this.continuity.current } : {}),
      ...(this.continuity.current && this.continuity.previous ? { continuityPrevious: this.continuity.previous } : {}),
    };
  }

  /**
   * "Applying" an operation is taking its fingerprint — what a real agent reports once its
   * applier succeeded — and, while listening, the direction its configuration names.
   */
  private apply(operations: readonly Operation[]): OperationResults['results'] {
    return operations.map((op) => {
      this.identity.fingerprint = op.fingerprint;
      this.applied += 1;
      const direction = (op.configuration as { communication?: { direction?: unknown } } | null)?.communication
        ?.direction;
      if (this.communication && isDirection(direction)) this.communication = { ...this.communication, direction };
      return { id: op.id, status: 'succeeded' as const, fingerprint: op.fingerprint };
    });
  }

  /**
   * Opens the agent's listening port (Bidirectional, Manager Initiated) with the agent package's
   * own listener: mutual TLS with this agent's certificate, only the manager's dialer accepted.
   * The manager asks for a report and sends operations on the same connection; each operation
   * applied through it is told to `onApplied` (epoch ms). From then on heartbeats also report
   * the listener.
   */
  async listen(o: {
    address: string;
    port: number;
    direction: CommunicationDirection;
    logger: Logger;
    onApplied: (operations: number, at: number) => void;
    onCall: (latencyMs: number) => void;
  }): Promise<AgentListener> {
    /** When the manager asked for the report now being answered. */
    let askedAt: number | undefined;
    const listener = await AgentListener.open({
      port: o.port,
      host: o.address,
      credentials: { key: this.identity.key, cert: this.identity.cert, ca: this.ca },
      logger: o.logger,
      handlers: {
        report: async () => {
          askedAt = performance.now();
          const report = this.report(0);
          this.sent += 1;
          return report;
        },
        reply: async (reply) => {
          this.rotate(reply.continuity);
          const results = this.apply(reply.operations);
          if (results.length > 0) o.onApplied(results.length, Date.now());
          if (askedAt !== undefined) o.onCall(performance.now() - askedAt);
          askedAt = undefined;
          return {
            protocolVersion: PROTOCOL_VERSION,
            exchangeId: reply.exchangeId,
            results,
            ...(this.communication ? { communication: this.communication } : {}),
          };
        },
      },
    });
    this.communication = { direction: o.direction, listener: { port: listener.port, address: o.address } };
    return listener;
  }

  /**
   * One agent-initiated exchange on a new connection. `resume`: offer the session the manager
   * issued last time (a full handshake when there is none or it is refused).
   */
  async heartbeat(o: {
    resume: boolean;
    eventsPerHeartbeat: number;
    retryWhenBusy?: () => void;
  }): Promise<ExchangeOutcome> {
    if (o.retryWhenBusy) {
      const onBusy = o.retryWhenBusy;
      return retryWhileBusy(() => this.exchange(o), { onBusy: () => onBusy() });
    }
    return this.exchange(o);
  }

  private async exchange(o: { resume: boolean; eventsPerHeartbeat: number }): Promise<ExchangeOutcome> {
    const conn = new ManagerConnection(
      this.manager,
      { ca: this.ca, key: this.identity.key, cert: this.identity.cert },
      {
        secureContext: secureContextOf(this.identity, this.ca),
        ...(o.resume && this.session ? { session: this.session } : {}),
      },
    );
    const t0 = performance.now();
    try {
      const r = await conn.request('POST', AGENT_PATHS.heartbeat, this.report(o.eventsPerHeartbeat), HeartbeatReply);
      const reply = r.body;
      this.rotate(reply.continuity);
      if (reply.operations.length > 0) {
        const results = this.apply(reply.operations);
        await conn.request(
          'POST',
          AGENT_PATHS.results,
          {
            protocolVersion: PROTOCOL_VERSION,
            exchangeId: reply.exchangeId,
            results,
            ...(this.communication ? { communication: this.communication } : {}),
          },
          ResultsReply,
        );
      }
      const latencyMs = performance.now() - t0;
      this.lastRoundTripMs = Math.round(latencyMs);
      this.sent += 1;
      return {
        latencyMs,
        resumed: r.tlsResumed,
        tls: `${r.tlsProtocol} ${r.tlsCipher}`,
        operations: reply.operations.length,
      };
    } finally {
      if (conn.session && conn.session !== this.session) {
        this.session = conn.session;
        this.kept.onSession?.(conn.session);
      }
      conn.close();
    }
  }
}

const DIRECTIONS: ReadonlySet<unknown> = new Set<CommunicationDirection>([
  'agent-initiated',
  'manager-initiated',
  'bidirectional',
]);
const isDirection = (v: unknown): v is CommunicationDirection => DIRECTIONS.has(v);
