import { readFileSync } from 'node:fs';
import type { Server, Socket } from 'node:net';
import type { Logger } from 'pino';

/**
 * How many connections one port holds and how long it waits for each. Every connection is a
 * file descriptor; when the process runs out of them, `accept` fails on every port at once —
 * heartbeats, the API and `/healthz` together (issue 12: 1,100 idle sockets from one host did
 * that). Caps per port keep one port's flood from taking another's descriptors, the cap per
 * source keeps one host from taking a port's, and the timeouts return what idle peers hold.
 */
export interface PortLimits {
  /** Most connections open at once on the port. */
  total: number;
  /** Most open at once from one source address. Behind a NAT or TCP load balancer, raise it. */
  perSource: number;
  /** A connection that has not finished the TLS handshake by then is closed. */
  handshakeTimeoutMs: number;
  /** A request whose headers have not all arrived by then is answered 408 and closed. */
  headersTimeoutMs: number;
  /** A request whose body has not all arrived by then is answered 408 and closed. */
  requestTimeoutMs: number;
  /** A kept-alive connection idle this long between requests is closed. */
  keepAliveTimeoutMs: number;
}

/** Limits of the agent endpoint (4120) and the API (4119). */
export interface ConnectionLimits {
  agent: PortLimits;
  api: PortLimits;
}

/** Descriptors kept for the store, the dialer, notifiers, logs and the legacy TLS listener. */
const RESERVED_DESCRIPTORS = 256;

/** The process's open-file limit (soft), from /proc on Linux; null where it cannot be read. */
export function openFileLimit(): number | null {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft === undefined || soft === 'unlimited' ? null : Number(soft);
  } catch {
    return null;
  }
}

/**
 * Defaults from the descriptor limit: the agent endpoint gets 70 % of what is not reserved
 * (at most 10,000), the API 20 % (at most 2,000), each source a quarter of a port's total — so
 * the two ports together never exhaust the process, and one host never fills a port. Agents
 * hold a connection for one exchange (a heartbeat, then the results of the operations it got);
 * `palisade-sim` keeps 32 in flight by default from one address. Timeouts: the handshake well
 * under Node's 120 s (a TLS handshake takes a few round trips), headers and bodies (at most
 * 1 MiB) in seconds, and kept-alive agent connections long enough to apply a configuration
 * before posting its result on the same connection.
 */
export function defaultConnectionLimits(fileLimit: number | null = openFileLimit()): ConnectionLimits {
  const usable = Math.max(256, (fileLimit ?? 4096) - RESERVED_DESCRIPTORS);
  const agentTotal = Math.min(10_000, Math.floor(usable * 0.7));
  const apiTotal = Math.min(2_000, Math.floor(usable * 0.2));
  const timeouts = { handshakeTimeoutMs: 10_000, headersTimeoutMs: 15_000, requestTimeoutMs: 30_000 };
  return {
    agent: {
      total: agentTotal,
      perSource: Math.max(32, Math.floor(agentTotal / 4)),
      ...timeouts,
      keepAliveTimeoutMs: 30_000,
    },
    // Browsers keep a few connections each and the dashboard stream one more; it writes every 25 s.
    api: {
      total: apiTotal,
      perSource: Math.max(16, Math.floor(apiTotal / 4)),
      ...timeouts,
      keepAliveTimeoutMs: 72_000,
    },
  };
}

/**
 * A port's timeouts as server options: `https` for Node's `https.createServer` (which Fastify
 * calls with its `https` option), the rest for Fastify, which sets them on the server itself.
 */
export function serverTimeouts(l: PortLimits) {
  return {
    https: {
      handshakeTimeout: l.handshakeTimeoutMs,
      headersTimeout: l.headersTimeoutMs,
      // Node checks the header and request deadlines on this tick (default 30 s): a fraction of them.
      connectionsCheckingInterval: Math.max(250, Math.min(5_000, Math.floor(l.headersTimeoutMs / 3))),
    },
    fastify: { requestTimeout: l.requestTimeoutMs, keepAliveTimeout: l.keepAliveTimeoutMs },
  };
}

/** How often a cap that keeps being hit is logged again (with the count refused meanwhile). */
const LOG_EVERY_MS = 60_000;

/** IPv4 clients of a dual-stack socket show as `::ffff:a.b.c.d`; one source either way. */
function sourceOf(socket: Socket): string {
  const a = socket.remoteAddress ?? 'unknown';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/**
 * Counts a port's open connections, in total and per source address, and closes at once any
 * connection beyond a cap — before TLS, so a refused peer costs no handshake. Each cap hit is
 * logged (a warning naming the port, the cap and the source), then at most once a minute per
 * cap and source with the number refused since.
 */
export class ConnectionGuard {
  private open = 0;
  private readonly bySource = new Map<string, number>();
  private readonly lastLog = new Map<string, { at: number; refusedSince: number }>();
  private refusedCount = 0;

  constructor(
    /** Named in the log, e.g. `agent endpoint`. */
    private readonly name: string,
    private readonly limits: Pick<PortLimits, 'total' | 'perSource'>,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Connections refused since the guard was made. */
  get refused(): number {
    return this.refusedCount;
  }

  /** Connections open now. */
  get connections(): number {
    return this.open;
  }

  /**
   * Puts the guard before the server's `connection` listeners (Node's TLS or HTTP handler, and
   * whatever took them over): a refused socket never reaches them.
   */
  install(server: Server): void {
    const handlers = server.listeners('connection') as Array<(socket: Socket) => void>;
    server.removeAllListeners('connection');
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      for (const h of handlers) h.call(server, socket);
    });
  }

  private admit(socket: Socket): boolean {
    const source = sourceOf(socket);
    const fromSource = this.bySource.get(source) ?? 0;
    const cap =
      this.open >= this.limits.total
        ? { key: 'total', text: `total connection cap (${this.limits.total}) reached` }
        : fromSource >= this.limits.perSource
          ? {
              key: `source ${source}`,
              text: `per-source connection cap (${this.limits.perSource}) reached by ${source}`,
            }
          : null;
    if (cap) {
      this.refusedCount += 1;
      socket.destroy();
      this.note(cap.key, cap.text, source);
      return false;
    }
    this.open += 1;
    this.bySource.set(source, fromSource + 1);
    socket.once('close', () => {
      this.open -= 1;
      const left = (this.bySource.get(source) ?? 1) - 1;
      if (left > 0) this.bySource.set(source, left);
      else this.bySource.delete(source);
    });
    return true;
  }

  private note(key: string, text: string, source: string): void {
    const t = this.now();
    const last = this.lastLog.get(key);
    if (last && t - last.at < LOG_EVERY_MS) {
      last.refusedSince += 1;
      return;
    }
    this.logger.warn(
      {
        port: this.name,
        source,
        open: this.open,
        fromSource: this.bySource.get(source) ?? 0,
        refusedSinceLastLine: (last?.refusedSince ?? 0) + 1,
      },
      `${this.name}: ${text}; refusing new connections (raise the cap if this is legitimate traffic, e.g. behind a NAT)`,
    );
    this.lastLog.set(key, { at: t, refusedSince: 0 });
    // Forget sources that stopped, so the map stays as small as the attack.
    if (this.lastLog.size > 1_000) {
      for (const [k, v] of this.lastLog) if (t - v.at >= LOG_EVERY_MS) this.lastLog.delete(k);
    }
  }
}
