import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { PeerCertificate, TLSSocket } from 'node:tls';
import {
  AGENT_IDENTITY_OU,
  AGENT_LISTENER_PATHS,
  HeartbeatReply,
  type HeartbeatReport,
  HeartbeatRequest,
  ListenerDeactivation,
  ListenerRefusal,
  type ListenerRefusalReply,
  MANAGER_IDENTITY_OU,
  MAX_BODY_BYTES,
  type OperationResults,
  PROTOCOL_VERSION,
  schemaProblem,
} from '@palisade/protocol';
import type { Logger } from 'pino';
import { AgentError } from './agent-error.js';
import { LISTENER_ERRORS, ListenerError } from './listener-error.js';

/** OID of the TLS client authentication extended key usage (RFC 5280 §4.2.1.12). */
const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';

/** What the listener does for the manager; the communication controller supplies it. */
export interface ListenerHandlers {
  /** Builds the report the agent would POST (under the state lock). */
  report(): Promise<HeartbeatReport>;
  /** Takes the manager's reply to that report: acknowledges events, runs operations, returns results. */
  reply(reply: HeartbeatReply & { exchangeId: string }): Promise<OperationResults>;
  /** The manager deactivated this computer: the agent resets itself once the answer is sent. */
  deactivated?(): void;
  /**
   * The manager refused this exchange's report (a copy of another computer's host); called once
   * the answer is sent. Without it the agent answers that it does nothing.
   */
  refused?(notice: ListenerRefusal): void;
}

export interface ListenerOptions {
  /** Port to bind; 0 = any free port (tests). */
  port: number;
  /** Address to bind; default all interfaces (`::`, or `0.0.0.0` without IPv6). */
  host?: string;
  /** The agent's key and certificate (it serves TLS with its own identity) and the pinned manager CA. */
  credentials: { key: string; cert: string; ca: string };
  handlers: ListenerHandlers;
  logger: Logger;
  /** Called for each refused peer (wrong certificate, plain TCP, bad TLS), for counters. */
  onRejected?: (why: string) => void;
  /**
   * Checks each peer as its TCP connection arrives, before TLS (the firewall's listener guard,
   * firewall/listener-guard.ts); a refused peer is dropped. Default: every peer gets to the handshake.
   */
  guard?: (socket: Socket) => { permitted: boolean; reason: string };
  /** Connection caps; see {@link ConnectionLimits}. */
  limits?: Partial<ConnectionLimits>;
}

/**
 * How many connections the listener holds. Only the manager has any business here, and it
 * opens one connection per exchange, so the caps are small; what they guard against is a host
 * on the network holding every slot with connections that never start TLS (40 idle sockets
 * used to fill the 32 slots Node was given, and Send Policy failed until they timed out).
 */
export interface ConnectionLimits {
  /** Connections open at once, all peers together. Default 32. */
  total: number;
  /** Connections open at once from one address (several manager nodes may share one behind NAT). Default 8. */
  perSource: number;
  /** A TLS handshake not finished by then is cut (RFC 8446 leaves it to the server). Default 5 s. */
  handshakeTimeoutMs: number;
}

const DEFAULT_LIMITS: ConnectionLimits = { total: 32, perSource: 8, handshakeTimeoutMs: 5_000 };

/**
 * Warnings about refused peers, at most one line per kind every 10 s with the count of those
 * left out, so that a flood of bad connections cannot become a flood of log lines as well.
 */
class RefusalLog {
  private readonly quiet = new Map<string, { until: number; suppressed: number }>();

  constructor(private readonly logger: Logger) {}

  warn(kind: string, fields: Record<string, unknown>, message: string): void {
    const now = Date.now();
    const q = this.quiet.get(kind);
    if (q && now < q.until) {
      q.suppressed += 1;
      return;
    }
    this.logger.warn({ ...fields, ...(q?.suppressed ? { alsoRefusedSinceLastLine: q.suppressed } : {}) }, message);
    this.quiet.set(kind, { until: now + 10_000, suppressed: 0 });
  }
}

/** IPv4-mapped IPv6 (`::ffff:198.18.0.9`) counts as the IPv4 address. */
const sourceOf = (socket: Socket) => (socket.remoteAddress ?? '?').replace(/^::ffff:(?=\d+\.)/, '');
/** One TCP connection, as both its raw socket and the TLS socket over it see it. */
const peerKey = (socket: Socket) => `${sourceOf(socket)}|${socket.remotePort}`;

/** Has the subject this organizational unit? Node gives one OU as a string and several as an array. */
function hasUnit(peer: PeerCertificate, unit: string): boolean {
  const ou = (peer.subject as unknown as Record<string, string | string[] | undefined>)?.OU;
  return Array.isArray(ou) ? ou.includes(unit) : ou === unit;
}

/**
 * Why a verified peer is not the manager, or null when it is. The handshake already required a
 * certificate chaining to the pinned manager CA (`rejectUnauthorized`); from that CA only the
 * manager's dialer identity carries `OU=Palisade Manager` (the CA picks every subject itself;
 * agents always get `OU=Palisade Agents`), and it must be meant for client authentication.
 */
export function notTheManager(peer: PeerCertificate | undefined): string | null {
  if (!peer || Object.keys(peer).length === 0) return 'no client certificate';
  if (hasUnit(peer, AGENT_IDENTITY_OU)) return 'an agent certificate';
  if (!hasUnit(peer, MANAGER_IDENTITY_OU)) return `subject ${JSON.stringify(peer.subject)} is not the manager's`;
  const eku = (peer as PeerCertificate & { ext_key_usage?: string[] }).ext_key_usage;
  if (eku && !eku.includes(CLIENT_AUTH_EKU)) return 'certificate is not for client authentication';
  return null;
}

/**
 * The agent's listening port in Bidirectional and Manager Initiated (docs/architecture.md "Processes and
 * ports"): HTTPS with mutual TLS, serving the agent's own certificate, accepting only the
 * manager. A plain TCP connection, a certificate from another CA or none fail the handshake;
 * another agent's certificate gets 403 and the connection is closed. None of it touches the
 * agent's state: refused peers are counted and logged, nothing more. Timeouts are short so an
 * idle or slow peer cannot hold a connection slot.
 */
export class AgentListener {
  private readonly server: Server;
  /** Exchanges asked for on each connection: the reply must come on the same one. */
  private readonly exchanges = new WeakMap<Socket, Set<string>>();
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly o: ListenerOptions,
    readonly port: number,
    readonly host: string,
    server: Server,
  ) {
    this.server = server;
  }

  static async open(o: ListenerOptions): Promise<AgentListener> {
    let listener: AgentListener | undefined;
    const limits = { ...DEFAULT_LIMITS, ...o.limits };
    const server = createServer(
      {
        key: o.credentials.key,
        cert: o.credentials.cert,
        ca: o.credentials.ca,
        requestCert: true,
        rejectUnauthorized: true,
        minVersion: 'TLSv1.2',
        handshakeTimeout: limits.handshakeTimeoutMs,
      },
      (req, res) => void listener?.handle(req, res),
    );
    server.headersTimeout = 10_000;
    server.requestTimeout = 60_000;
    server.keepAliveTimeout = 5_000;
    const refusals = new RefusalLog(o.logger);
    /** Peers dropped before TLS (guard, caps): counted there, not again when TLS reports the reset. */
    const dropped = new Set<string>();
    // Not server.maxConnections: at the cap Node drops every new connection, the manager's too.
    // The caps below keep room for it instead (connectionCaps).
    connectionCaps(server, limits, o, refusals, dropped);
    server.on('tlsClientError', (e: NodeJS.ErrnoException, socket: TLSSocket) => {
      socket.destroy();
      if (dropped.delete(peerKey(socket))) return;
      o.onRejected?.(`TLS: ${e.code ?? e.message}`);
      refusals.warn(
        'tls',
        { peer: socket.remoteAddress, reason: e.code ?? e.message },
        'listener: refused a connection (TLS handshake failed: not the manager, or not TLS)',
      );
    });
    server.on('clientError', (_e, socket) => socket.destroy());
    // Prepended, so it runs before TLS wraps the socket: a peer the firewall rules deny costs no
    // handshake.
    if (o.guard) {
      const guard = o.guard;
      server.prependListener('connection', (socket: Socket) => {
        const verdict = guard(socket);
        if (verdict.permitted) return;
        o.onRejected?.(`firewall: ${verdict.reason}`);
        refusals.warn(
          'guard',
          { peer: socket.remoteAddress, reason: verdict.reason },
          'listener: dropped a peer the firewall rules deny',
        );
        dropped.add(peerKey(socket));
        socket.destroy();
      });
    }
    const host = await bind(server, o.port, o.host);
    const port = (server.address() as AddressInfo).port;
    listener = new AgentListener(o, port, host, server);
    return listener;
  }

  /** Stops accepting new connections at once; exchanges in flight finish (cut after 10 s). */
  close(): Promise<void> {
    if (!this.closing) {
      this.closing = new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeIdleConnections();
        // An exchange still running after this long is cut: the manager counts it as a missed heartbeat.
        setTimeout(() => this.server.closeAllConnections(), 10_000).unref();
      });
    }
    return this.closing;
  }

  private send(res: ServerResponse, status: number, body: unknown, close = false): void {
    const payload = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(payload),
      ...(close ? { connection: 'close' } : {}),
    });
    res.end(payload);
  }

  private fail(res: ServerResponse, e: ListenerError, close = false): void {
    this.send(res, LISTENER_ERRORS[e.code].status, { error: { code: e.code, message: e.message } }, close);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const socket = req.socket as TLSSocket;
    const refused = notTheManager(socket.getPeerCertificate());
    if (refused) {
      this.o.onRejected?.(refused);
      this.o.logger.warn(
        { peer: socket.remoteAddress, reason: refused },
        'listener: refused a peer that is not the manager',
      );
      req.resume();
      this.fail(res, new ListenerError('NOT_THE_MANAGER', refused), true);
      return;
    }
    try {
      if (
        req.method !== 'POST' ||
        (req.url !== AGENT_LISTENER_PATHS.heartbeatRequest &&
          req.url !== AGENT_LISTENER_PATHS.operations &&
          req.url !== AGENT_LISTENER_PATHS.deactivate &&
          req.url !== AGENT_LISTENER_PATHS.refused)
      ) {
        req.resume();
        throw new ListenerError('NOT_FOUND', `${req.method} ${req.url}`);
      }
      const body = await readJson(req);
      if (req.url === AGENT_LISTENER_PATHS.deactivate) {
        const problem = schemaProblem(ListenerDeactivation, body);
        if (problem) throw new ListenerError('INVALID_REQUEST', problem);
        const notice = body as ListenerDeactivation;
        checkVersion(notice.protocolVersion);
        const resetting = this.o.handlers.deactivated !== undefined;
        this.send(res, 200, { protocolVersion: PROTOCOL_VERSION, resetting }, true);
        // After the answer is on its way: resetting closes this listener.
        res.once('finish', () => this.o.handlers.deactivated?.());
        return;
      }
      if (req.url === AGENT_LISTENER_PATHS.refused) {
        const problem = schemaProblem(ListenerRefusal, body);
        if (problem) throw new ListenerError('INVALID_REQUEST', problem);
        const notice = body as ListenerRefusal;
        checkVersion(notice.protocolVersion);
        // Only the report this connection sent can be refused.
        if (!this.exchanges.get(socket)?.delete(notice.exchangeId))
          throw new ListenerError('EXCHANGE_NOT_ON_THIS_CONNECTION');
        const reactivating = notice.reactivate && this.o.handlers.refused !== undefined;
        this.send(res, 200, { protocolVersion: PROTOCOL_VERSION, reactivating } satisfies ListenerRefusalReply, true);
        res.once('finish', () => this.o.handlers.refused?.(notice));
        return;
      }
      if (req.url === AGENT_LISTENER_PATHS.heartbeatRequest) {
        const problem = schemaProblem(HeartbeatRequest, body);
        if (problem) throw new ListenerError('INVALID_REQUEST', problem);
        const ask = body as HeartbeatRequest;
        checkVersion(ask.protocolVersion);
        const report = await this.o.handlers.report();
        let open = this.exchanges.get(socket);
        if (!open) {
          open = new Set();
          this.exchanges.set(socket, open);
        }
        open.add(ask.exchangeId);
        this.send(res, 200, report);
        return;
      }
      const problem = schemaProblem(HeartbeatReply, body);
      if (problem) throw new ListenerError('INVALID_REQUEST', problem);
      const reply = body as HeartbeatReply;
      checkVersion(reply.protocolVersion);
      if (!this.exchanges.get(socket)?.delete(reply.exchangeId))
        throw new ListenerError('EXCHANGE_NOT_ON_THIS_CONNECTION');
      this.send(res, 200, await this.o.handlers.reply(reply));
    } catch (e) {
      if (e instanceof ListenerError) {
        this.fail(res, e);
        return;
      }
      if (e instanceof AgentError && e.code === 'STATE_LOCKED') {
        this.fail(res, new ListenerError('BUSY', e.message, { cause: e }));
        return;
      }
      this.o.logger.error({ err: e }, 'listener: exchange failed');
      this.fail(res, new ListenerError('INTERNAL', (e as Error).message, { cause: e }));
    }
  }
}

/**
 * Caps the listener's connections (see {@link ConnectionLimits}): a source at its cap gets no
 * more; at the total cap, the oldest connection still in its TLS handshake, from the source
 * holding the most, makes room for the new one. The manager completes its handshake in
 * milliseconds, so a flood of connections that never start TLS cannot keep it out, whether it
 * comes from one address or many. Each cap hit is logged, at most once per 10 s with a count.
 */
function connectionCaps(
  server: Server,
  limits: ConnectionLimits,
  o: ListenerOptions,
  refusals: RefusalLog,
  dropped: Set<string>,
): void {
  /** Open connections by source, oldest first, and whether each finished its TLS handshake. */
  const open = new Map<string, Array<{ socket: Socket; secure: boolean }>>();
  const byPeer = new Map<string, { socket: Socket; secure: boolean }>();
  let total = 0;
  const refuse = (socket: Socket, kind: string, source: string, why: string) => {
    o.onRejected?.(why);
    refusals.warn(kind, { peer: source, ...limits }, `listener: connection cap reached (${why})`);
    dropped.add(peerKey(socket));
    socket.destroy();
  };

  server.on('secureConnection', (tls: TLSSocket) => {
    const entry = byPeer.get(peerKey(tls));
    if (entry) entry.secure = true;
  });
  server.prependListener('connection', (socket: Socket) => {
    if (socket.destroyed) return; // the guard dropped it
    const source = sourceOf(socket);
    const mine = open.get(source) ?? [];
    if (mine.length >= limits.perSource) {
      refuse(
        socket,
        'per-source',
        source,
        `${source} already holds ${mine.length} connections, the most one address may`,
      );
      return;
    }
    if (total >= limits.total) {
      // From the source holding the most: its oldest connection still in the handshake.
      let victim: { socket: Socket; secure: boolean } | undefined;
      let most = 0;
      for (const list of open.values()) {
        const waiting = list.find((c) => !c.secure);
        if (waiting && list.length > most) {
          victim = waiting;
          most = list.length;
        }
      }
      if (!victim) {
        refuse(socket, 'total', source, `${total} connections open, all past their handshake`);
        return;
      }
      refuse(
        victim.socket,
        'total',
        sourceOf(victim.socket),
        `${total} connections open: closed one from ${sourceOf(victim.socket)} still in its handshake`,
      );
    }
    const entry = { socket, secure: false };
    const key = peerKey(socket);
    mine.push(entry);
    open.set(source, mine);
    byPeer.set(key, entry);
    total += 1;
    socket.once('close', () => {
      if (byPeer.get(key) === entry) byPeer.delete(key);
      total -= 1;
      const list = open.get(source);
      if (!list) return;
      list.splice(list.indexOf(entry), 1);
      if (list.length === 0) open.delete(source);
    });
  });
}

function checkVersion(version: number): void {
  if (version !== PROTOCOL_VERSION)
    throw new ListenerError('PROTOCOL_VERSION_UNSUPPORTED', `got ${version}, this agent speaks ${PROTOCOL_VERSION}`);
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ListenerError('BODY_TOO_LARGE', `over ${MAX_BODY_BYTES} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      } catch {
        reject(new ListenerError('INVALID_REQUEST', 'body is not JSON'));
      }
    });
  });
}

/** Binds `host`, or all interfaces: IPv6 and IPv4 (`::`), or IPv4 only where the host has no IPv6. */
async function bind(server: Server, port: number, host?: string): Promise<string> {
  const attempt = (h: string) =>
    new Promise<void>((resolve, reject) => {
      const onError = (e: Error) => {
        server.off('listening', onListening);
        reject(e);
      };
      const onListening = () => {
        server.off('error', onError);
        resolve();
      };
      server.once('error', onError);
      server.once('listening', onListening);
      server.listen(port, h);
    });
  if (host) {
    await attempt(host);
    return host;
  }
  try {
    await attempt('::');
    return '::';
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'EAFNOSUPPORT' && code !== 'EADDRNOTAVAIL') throw e;
    await attempt('0.0.0.0');
    return '0.0.0.0';
  }
}
