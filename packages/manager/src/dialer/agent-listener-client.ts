import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import { createSecureContext, type PeerCertificate, type SecureContext, type TLSSocket } from 'node:tls';
import { MAX_BODY_BYTES } from '@palisade/protocol';
import { normalizeSerial } from '../pki/certificate-authority.js';
import type { DialerIdentity } from './dialer-identity.js';
import { type DialerTlsOptions, dialerTlsOptions } from './dialer-tls.js';

/** Why a dial failed, for the log, the API and the dial record. */
export type DialFailure = 'unreachable' | 'tls' | 'refused' | 'invalid-reply';

export class DialError extends Error {
  override readonly name = 'DialError';
  constructor(
    readonly kind: DialFailure,
    message: string,
    /** `cause`: the socket or TLS error behind it, kept for the logs. */
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface ListenerReply<T> {
  status: number;
  body: T;
  tlsProtocol: string | null;
  tlsCipher: string | null;
  socket: TLSSocket;
  /** From writing the request to the end of the reply, ms. */
  roundTripMs: number;
}

/** `::ffff:10.0.0.5` (an IPv4 peer on a dual-stack socket) → `10.0.0.5`. */
export function dialableAddress(ip: string): string {
  return ip.startsWith('::ffff:') && isIP(ip.slice(7)) === 4 ? ip.slice(7) : ip;
}

/** The dialer's TLS contexts, by identity and by the policy's versions and suites. */
const contexts = new WeakMap<DialerIdentity, Map<string, SecureContext>>();

/**
 * One TLS context per dialer identity and TLS policy, shared by every dial. Building one parses
 * the RSA key and checks it against the certificate — about 1.7 ms of CPU measured on Node 20,
 * a fifth of the manager's work per call when each dial built its own (benchmarks/fanout). The
 * policy in force is still read at each dial (dialer-tls.ts): another policy is another context.
 */
function secureContextFor(identity: DialerIdentity, tls: DialerTlsOptions): SecureContext {
  let byPolicy = contexts.get(identity);
  if (!byPolicy) {
    byPolicy = new Map();
    contexts.set(identity, byPolicy);
  }
  const key = `${tls.minVersion} ${tls.maxVersion} ${tls.ciphers}`;
  let context = byPolicy.get(key);
  if (!context) {
    context = createSecureContext({
      // ECDSA first where there is one (dialer-identity.ts); OpenSSL picks per handshake.
      key: identity.ecdsa ? [identity.ecdsa.key, identity.key] : identity.key,
      cert: identity.ecdsa ? [identity.ecdsa.cert, identity.cert] : identity.cert,
      ca: identity.ca,
      minVersion: tls.minVersion,
      maxVersion: tls.maxVersion,
      ciphers: tls.ciphers,
    });
    byPolicy.set(key, context);
  }
  return context;
}

/** Most TLS sessions the dialer keeps for resumption; the oldest goes first (about 1–2 KB each). */
export const MAX_DIALER_SESSIONS = 20_000;

/**
 * TLS sessions to agents' listeners, for resumption on the next dial (RFC 8446 §2.2): one entry
 * per listener address AND certificate serial AND TLS policy. A resumed handshake skips Node's
 * `checkServerIdentity` (the peer certificate is not sent again), so a session may only be
 * offered to the listener whose identity the full handshake behind it verified: keying by
 * the serial means a computer re-issued another certificate, or an address now answering for
 * another computer, starts with a full handshake that checks it again. Resuming skips the ECDHE
 * key agreement, the certificate signature and verifying the agent's chain — the bulk of the
 * manager's CPU per dial (benchmarks/fanout).
 */
const sessions = new WeakMap<DialerIdentity, Map<string, Buffer>>();

function sessionsFor(identity: DialerIdentity): Map<string, Buffer> {
  let m = sessions.get(identity);
  if (!m) {
    m = new Map();
    sessions.set(identity, m);
  }
  return m;
}

/**
 * Node's TLS client calls `getPeerCertificate(true)` at the end of every full handshake to hand
 * the certificate to `checkServerIdentity`: the whole chain as objects, fingerprints and public
 * keys included — 0.4 ms of CPU measured on Node 20, for the one field the dialer's check reads.
 * Until the handshake is done, this socket answers that call with the serial alone (from
 * `getPeerX509Certificate`, a few µs); afterwards the method is Node's own again. The chain is
 * verified by OpenSSL either way (`rejectUnauthorized`).
 */
function serialOnlyIdentityCheck(socket: TLSSocket): void {
  const own = socket as { getPeerCertificate: TLSSocket['getPeerCertificate'] };
  own.getPeerCertificate = (() => {
    const x = socket.getPeerX509Certificate();
    return (x ? { serialNumber: x.serialNumber } : {}) as PeerCertificate;
  }) as TLSSocket['getPeerCertificate'];
  socket.once('secureConnect', () => {
    delete (own as Partial<typeof own>).getPeerCertificate;
  });
}

/** An HTTPS agent whose sockets check the listener's identity by its serial cheaply (above). */
class ListenerAgent extends Agent {
  override createConnection(...args: Parameters<Agent['createConnection']>): ReturnType<Agent['createConnection']> {
    const socket = super.createConnection(...args);
    if (socket) serialOnlyIdentityCheck(socket as TLSSocket);
    return socket;
  }
}

/**
 * HTTPS to one agent's listener over ONE kept-alive connection (the exchange's requests and
 * its results travel on the same socket, as in the agent-initiated direction). The manager
 * presents its dialer identity; it accepts the agent only if the certificate chains to the
 * manager CA AND its serial is the one the computer was issued at activation — the address may
 * since belong to another machine, and host names in agent certificates mean nothing. Its
 * protocol versions and suites are those of the manager TLS policy in force (dialer-tls.ts).
 */
export class AgentListenerConnection {
  private readonly agent: Agent;
  private readonly sessions: Map<string, Buffer>;
  private readonly sessionKey: string;
  private readonly watched = new WeakSet<TLSSocket>();
  /** Whether the last handshake on this connection resumed a session. */
  resumed = false;
  readonly where: string;

  constructor(
    private readonly target: { host: string; port: number; certSerial: string },
    identity: DialerIdentity,
    private readonly timeoutMs = 30_000,
    tls: DialerTlsOptions = dialerTlsOptions(),
  ) {
    this.where = `${isIP(target.host) === 6 ? `[${target.host}]` : target.host}:${target.port}`;
    this.sessions = sessionsFor(identity);
    this.sessionKey = `${this.where} ${target.certSerial} ${tls.minVersion} ${tls.maxVersion} ${tls.ciphers}`;
    const session = this.sessions.get(this.sessionKey);
    this.agent = new ListenerAgent({
      keepAlive: true,
      maxSockets: 1,
      secureContext: secureContextFor(identity, tls),
      ...(session ? { session } : {}),
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        const serial = normalizeSerial(cert.serialNumber ?? '');
        return serial === target.certSerial
          ? undefined
          : Object.assign(
              new Error(
                `the agent at ${this.where} presented certificate serial ${serial}, not this computer's (${target.certSerial})`,
              ),
              { code: 'ERR_AGENT_IDENTITY' },
            );
      },
    });
  }

  close(): void {
    this.agent.destroy();
  }

  /** Keeps the session the listener issued, newest last (the Map's order is the eviction order). */
  private keepSession(session: Buffer): void {
    this.sessions.delete(this.sessionKey);
    this.sessions.set(this.sessionKey, session);
    if (this.sessions.size > MAX_DIALER_SESSIONS) {
      const oldest = this.sessions.keys().next().value;
      if (oldest !== undefined) this.sessions.delete(oldest);
    }
  }

  private failure(e: NodeJS.ErrnoException): DialError {
    // Whatever went wrong, the next dial starts afresh with a full handshake.
    this.sessions.delete(this.sessionKey);
    const fail = (kind: DialFailure, message: string) => new DialError(kind, message, { cause: e });
    switch (e.code) {
      case 'ECONNREFUSED':
        return fail(
          'unreachable',
          `${this.where} refused the connection (is the agent running and listening? the manager must reach the agent's listening port)`,
        );
      case 'ETIMEDOUT':
      case 'ECONNRESET':
      case 'EPIPE':
        return fail(
          'unreachable',
          `${this.where}: ${e.code === 'ETIMEDOUT' ? 'no answer in time (firewall?)' : `${e.code} (${e.message})`}`,
        );
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
      case 'EADDRNOTAVAIL':
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return fail('unreachable', `${this.where}: ${e.code}`);
      case 'ERR_AGENT_IDENTITY':
        return fail('tls', e.message);
      default:
        return fail(
          e.code?.startsWith('ERR_TLS') || /certificate|SSL|TLS|alert/i.test(e.message) ? 'tls' : 'unreachable',
          `${this.where}: ${e.code ? `${e.code}: ` : ''}${e.message}`,
        );
    }
  }

  request<T>(path: string, body: unknown): Promise<ListenerReply<T>> {
    const payload = Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const started = Date.now();
      const req = request(
        {
          host: this.target.host,
          port: this.target.port,
          method: 'POST',
          path,
          agent: this.agent,
          timeout: this.timeoutMs,
          headers: { 'content-type': 'application/json', 'content-length': payload.length },
        },
        (res) => {
          const socket = res.socket as TLSSocket;
          const cipher = socket.getCipher();
          const tlsProtocol = socket.getProtocol();
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_BODY_BYTES) {
              req.destroy(
                new DialError('invalid-reply', `${this.where}${path}: reply larger than ${MAX_BODY_BYTES} bytes`),
              );
              return;
            }
            chunks.push(c);
          });
          res.on('error', (e) => reject(e instanceof DialError ? e : this.failure(e)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = JSON.parse(text);
            } catch {
              reject(new DialError('invalid-reply', `${this.where}${path}: HTTP ${res.statusCode}, body is not JSON`));
              return;
            }
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              const err = (parsed as { error?: { code?: string; message?: string } })?.error;
              reject(
                new DialError(
                  'refused',
                  `${this.where} answered HTTP ${status}${err ? ` ${err.code}: ${err.message}` : ''}`,
                ),
              );
              return;
            }
            resolve({
              status,
              body: parsed as T,
              tlsProtocol: tlsProtocol ?? null,
              tlsCipher: cipher?.standardName ?? cipher?.name ?? null,
              socket,
              roundTripMs: Date.now() - started,
            });
          });
        },
      );
      req.once('socket', (socket: TLSSocket) => {
        // The exchange's later requests ride the same kept-alive socket: watch it once.
        if (this.watched.has(socket)) return;
        this.watched.add(socket);
        socket.on('session', (session: Buffer) => this.keepSession(session));
        socket.once('secureConnect', () => {
          this.resumed = socket.isSessionReused();
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => reject(e instanceof DialError ? e : this.failure(e)));
      req.end(payload);
    });
  }
}
