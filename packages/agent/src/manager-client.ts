import { createHash, X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { createWriteStream, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { isIP } from 'node:net';
import type { PeerCertificate, SecureContext, TLSSocket } from 'node:tls';
import { BUSY_RETRY_ATTEMPTS, busyRetryDelayMs } from '@palisade/core';
import { ErrorBody, matchesSchema, PROTOCOL_VERSION, schemaProblem } from '@palisade/protocol';
import type { Static, TSchema } from '@sinclair/typebox';
import { AgentError, type AgentErrorCode } from './agent-error.js';
import type { ManagerAddress } from './manager-url.js';

export interface TlsIdentity {
  /** Agent key and certificate (absent during activation, which has no identity yet). */
  key?: string;
  cert?: string;
  /** The pinned manager CA; the server certificate must chain to it and name the host. */
  ca: string;
}

export interface Reply<T> {
  status: number;
  body: T;
  tlsProtocol: string | null;
  tlsCipher: string | null;
  /** The connection resumed an earlier TLS session (RFC 8446 §2.2) instead of a full handshake. */
  tlsResumed: boolean;
  /** The manager certificate's key (`ECDSA P-256`, `RSA 2048`), as {@link certificateKeyKind} names it. */
  tlsServerKey: string | null;
  /** The socket the reply came on: results must go back on the same one. */
  socket: TLSSocket;
}

const TIMEOUT_MS = 30_000;

/** Looks the manager up by name first, so a name missing from DNS is reported as exactly that. */
export async function resolveManager(host: string): Promise<void> {
  try {
    await lookup(host);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'lookup failed';
    throw new AgentError(
      'MANAGER_NAME_UNRESOLVED',
      `"${host}" (${code}); agents find the manager by its host name, so add it to DNS or /etc/hosts`,
      { cause: e },
    );
  }
}

function connectionError(m: ManagerAddress, e: NodeJS.ErrnoException): AgentError {
  const fail = (code: AgentErrorCode, detail: string) => new AgentError(code, detail, { cause: e });
  const where = `${m.host}:${m.port}`;
  switch (e.code) {
    case 'ECONNREFUSED':
      return fail(
        'MANAGER_UNREACHABLE',
        `${where} refused the connection (is the manager running, is the port right?)`,
      );
    case 'ETIMEDOUT':
    case 'ESOCKETTIMEDOUT':
      return fail('MANAGER_UNREACHABLE', `${where} did not answer in time (firewall?)`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return fail('MANAGER_UNREACHABLE', `${where}: ${e.code}`);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return fail(
        'MANAGER_NAME_UNRESOLVED',
        `"${m.host}" (${e.code}); agents find the manager by its host name, so add it to DNS or /etc/hosts`,
      );
    case 'ERR_TLS_CERT_ALTNAME_INVALID':
      return fail(
        'MANAGER_TLS_FAILED',
        `the manager certificate does not name "${m.host}" (${e.message.replace(/^[^:]*: /, '')}); start the manager with --hostname ${m.host} or use a name it has`,
      );
    case 'UNABLE_TO_VERIFY_LEAF_SIGNATURE':
    case 'SELF_SIGNED_CERT_IN_CHAIN':
    case 'DEPTH_ZERO_SELF_SIGNED_CERT':
    case 'CERT_SIGNATURE_FAILURE':
      return fail(
        'MANAGER_TLS_FAILED',
        `${where} presented a certificate not issued by the pinned manager CA (${e.code})`,
      );
    default:
      return fail('MANAGER_TLS_FAILED', `${where}: ${e.code ? `${e.code}: ` : ''}${e.message}`);
  }
}

export interface ConnectionOptions {
  /** Force the protocol range (tests and troubleshooting); default: TLS 1.2 up to the best both sides support. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /**
   * A TLS session (ticket) from an earlier connection to this manager, offered for resumption:
   * the handshake then skips the certificate exchange and its signatures (RFC 8446 §2.2). The
   * manager still checks the certificate the session was made with on every request. Absent:
   * a full handshake.
   */
  session?: Buffer | undefined;
  /**
   * A TLS context already holding this identity, its CA and version range
   * (`tls.createSecureContext`), for a caller that connects very often with the same identity
   * (the fleet simulator): each connection then skips parsing the key and certificates, about
   * 1 ms of CPU. Absent: one is built from the identity for each connection.
   */
  secureContext?: SecureContext | undefined;
}

/**
 * HTTPS to the manager's agent endpoint over ONE kept-alive connection: the heartbeat, then
 * the operation results on the same socket before it closes (docs/architecture.md "One exchange").
 * TLS: Node's defaults negotiate the highest version both sides support (TLS 1.3 with our
 * manager); the server certificate is verified against the pinned CA and the host name.
 */
export class ManagerConnection {
  private readonly agent: Agent;
  private readonly watched = new WeakSet<TLSSocket>();
  private latestSession: Buffer | null = null;

  constructor(
    private readonly manager: ManagerAddress,
    identity: TlsIdentity,
    extra: ConnectionOptions = {},
  ) {
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: 1,
      ca: identity.ca,
      key: identity.key,
      cert: identity.cert,
      // SNI carries names only (RFC 6066 §3); for an IP address the certificate's IP SAN is checked.
      ...(isIP(manager.host) ? {} : { servername: manager.host }),
      minVersion: extra.minVersion ?? 'TLSv1.2',
      ...(extra.maxVersion ? { maxVersion: extra.maxVersion } : {}),
      ...(extra.session ? { session: extra.session } : {}),
      ...(extra.secureContext ? { secureContext: extra.secureContext } : {}),
    });
  }

  /**
   * The last session (ticket) the manager issued on this connection, to offer at the next one;
   * null when it issued none. TLS 1.3 tickets arrive after the handshake (RFC 8446 §4.6.1), so
   * read this once a reply has come.
   */
  get session(): Buffer | null {
    return this.latestSession;
  }

  close(): void {
    this.agent.destroy();
  }

  /**
   * One request on the kept-alive connection. The reply is checked against `schema` (the
   * protocol's, as the manager checks requests and the listener checks the manager's calls) and
   * any `protocolVersion` in it against this agent's, before anything uses it: a reply that does
   * not match is `MANAGER_REPLY_INVALID` naming the path and the first problem.
   */
  request<S extends TSchema>(
    method: 'GET' | 'POST',
    path: string,
    body: unknown,
    schema: S,
  ): Promise<Reply<Static<S>>> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolvePromise, reject) => {
      const req = request(
        {
          host: this.manager.host,
          port: this.manager.port,
          method,
          path,
          agent: this.agent,
          timeout: TIMEOUT_MS,
          headers: payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {},
        },
        (res) => {
          // Read the socket now: once the body ends, a kept-alive socket goes back to the pool.
          const socket = res.socket as TLSSocket;
          const cipher = socket.getCipher();
          const tlsProtocol = socket.getProtocol();
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (e) => reject(connectionError(this.manager, e)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            if ((res.headers['content-type'] ?? '').includes('json')) {
              try {
                parsed = JSON.parse(text);
              } catch {
                reject(new AgentError('MANAGER_REPLY_INVALID', `${path}: body is not JSON`));
                return;
              }
            }
            const status = res.statusCode ?? 0;
            if (status >= 400) {
              const err = matchesSchema(ErrorBody, parsed) ? parsed.error : undefined;
              // RFC 9110 §10.2.3: delay-seconds (the manager sends no HTTP-date form).
              const retryAfter = Number(res.headers['retry-after']);
              reject(
                new AgentError(
                  'MANAGER_REFUSED',
                  err ? `${err.code}: ${err.message}`.slice(0, 2048) : `HTTP ${status}`,
                  {
                    managerCode: err?.code,
                    retryAfterSeconds: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : null,
                  },
                ),
              );
              return;
            }
            const problem = replyProblem(schema, parsed);
            if (problem) {
              reject(new AgentError('MANAGER_REPLY_INVALID', `${method} ${path}: ${problem}`));
              return;
            }
            resolvePromise({
              status,
              body: parsed as Static<S>,
              tlsProtocol: tlsProtocol ?? null,
              tlsCipher: cipher?.standardName ?? cipher?.name ?? null,
              tlsResumed: socket.isSessionReused(),
              tlsServerKey: certificateKeyKind(socket.getPeerCertificate()),
              socket,
            });
          });
        },
      );
      req.on('socket', (s) => {
        const tls = s as TLSSocket;
        if (this.watched.has(tls)) return;
        this.watched.add(tls);
        tls.on('session', (session: Buffer) => {
          this.latestSession = session;
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) =>
        reject(e instanceof AgentError ? e : connectionError(this.manager, e)),
      );
      req.end(payload);
    });
  }
}

/**
 * Downloads `path` from the manager into `dest` (0600) over `conn`'s identity, hashing it on the
 * way: an agent package for an upgrade. A refusal is MANAGER_REFUSED with the manager's code; a
 * body longer than `maxBytes` is cut off (MANAGER_REPLY_INVALID) and nothing is left at `dest`.
 */
export function downloadFromManager(
  manager: ManagerAddress,
  identity: TlsIdentity,
  path: string,
  dest: string,
  maxBytes: number,
): Promise<{ sha256: string; size: number }> {
  const agent = new Agent({
    ca: identity.ca,
    key: identity.key,
    cert: identity.cert,
    ...(isIP(manager.host) ? {} : { servername: manager.host }),
    minVersion: 'TLSv1.2',
  });
  return new Promise<{ sha256: string; size: number }>((resolvePromise, reject) => {
    const fail = (e: Error) => {
      rmSync(dest, { force: true });
      reject(e);
    };
    const req = request(
      { host: manager.host, port: manager.port, method: 'GET', path, agent, timeout: TIMEOUT_MS },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let err: { code: string; message: string } | undefined;
            try {
              const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
              err = matchesSchema(ErrorBody, parsed) ? parsed.error : undefined;
            } catch {
              /* not JSON: the status says it */
            }
            reject(
              new AgentError('MANAGER_REFUSED', err ? `${err.code}: ${err.message}` : `HTTP ${status}`, {
                managerCode: err?.code,
              }),
            );
          });
          return;
        }
        const hash = createHash('sha256');
        const out = createWriteStream(dest, { mode: 0o600 });
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            res.destroy();
            out.destroy();
            fail(new AgentError('MANAGER_REPLY_INVALID', `${path}: longer than ${maxBytes} bytes`));
            return;
          }
          hash.update(c);
          out.write(c);
        });
        res.on('error', (e) => fail(connectionError(manager, e)));
        res.on('end', () => {
          if (size > maxBytes) return;
          out.end(() => resolvePromise({ sha256: hash.digest('hex'), size }));
        });
        out.on('error', fail);
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => fail(connectionError(manager, e)));
    req.end();
  }).finally(() => agent.destroy());
}

/** Why `reply` is not a `schema` reply this agent can use (in this protocol version), or null. */
function replyProblem(schema: TSchema, reply: unknown): string | null {
  const problem = schemaProblem(schema, reply);
  if (problem) return `the reply does not match the protocol (${problem.slice(0, 300)})`;
  const version = (reply as { protocolVersion?: unknown }).protocolVersion;
  if (version !== undefined && version !== PROTOCOL_VERSION)
    return `the reply speaks protocol ${String(version)}, this agent ${PROTOCOL_VERSION}`;
  return null;
}

/**
 * What key a certificate holds, for people: `ECDSA P-256`, `RSA 2048`; null when unknown. The
 * agent endpoint serves both (docs/tls.md "Two certificates"); which one a connection used shows here.
 */
export function certificateKeyKind(cert: PeerCertificate | null | undefined): string | null {
  if (!cert || Object.keys(cert).length === 0) return null;
  const c = cert as PeerCertificate & { asn1Curve?: string; nistCurve?: string; bits?: number };
  if (c.modulus) return `RSA ${c.bits ?? ''}`.trim();
  if (c.asn1Curve || c.nistCurve) return `ECDSA ${c.nistCurve ?? c.asn1Curve}`;
  return null;
}

/** True when the manager refused because its queue was full (a storm): retry after a while. */
export function isManagerBusy(e: unknown): e is AgentError {
  return e instanceof AgentError && e.managerCode === 'MANAGER_BUSY';
}

/**
 * Runs `attempt` again while the manager answers `MANAGER_BUSY`, waiting its Retry-After hint
 * with backoff and jitter (core's `busyRetryDelayMs`) between tries, at most `attempts` times;
 * any other outcome, and the last refusal, go to the caller. `onBusy` hears each wait.
 */
export async function retryWhileBusy<T>(
  attempt: () => Promise<T>,
  o: { attempts?: number; onBusy?: (waitMs: number, attempt: number) => void } = {},
): Promise<T> {
  const attempts = o.attempts ?? BUSY_RETRY_ATTEMPTS;
  for (let n = 1; ; n++) {
    try {
      return await attempt();
    } catch (e) {
      if (!isManagerBusy(e) || n >= attempts) throw e;
      const wait = busyRetryDelayMs(e.retryAfterSeconds, n);
      o.onBusy?.(wait, n);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

/** `sha256:` + lowercase hex of the DER certificate. */
export function certificateFingerprint(pem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(pem).raw).digest('hex')}`;
}

/** Accepts `sha256:HEX`, bare HEX, upper or lower case, with or without colons. */
export function normalizeFingerprint(text: string): string | null {
  const hex = text
    .trim()
    .replace(/^sha256:/i, '')
    .replace(/:/g, '')
    .toLowerCase();
  return /^[0-9a-f]{64}$/.test(hex) ? `sha256:${hex}` : null;
}

/**
 * Fetches the manager CA without trusting anything yet, then checks it against the
 * fingerprint the operator copied from the manager. Only a match is ever trusted: no silent
 * trust on first use.
 */
export async function fetchPinnedCa(manager: ManagerAddress, expectedFingerprint: string): Promise<string> {
  const pem = await new Promise<string>((resolvePromise, reject) => {
    const req = request(
      {
        host: manager.host,
        port: manager.port,
        path: '/agent/v1/ca',
        method: 'GET',
        rejectUnauthorized: false,
        ...(isIP(manager.host) ? {} : { servername: manager.host }),
        timeout: TIMEOUT_MS,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200)
            reject(
              new AgentError(
                'MANAGER_REPLY_INVALID',
                `GET /agent/v1/ca answered HTTP ${res.statusCode}: is ${manager.host}:${manager.port} a Palisade manager's agent port?`,
              ),
            );
          else resolvePromise(Buffer.concat(chunks).toString('utf8'));
        });
      },
    );
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => reject(connectionError(manager, e)));
    req.end();
  });
  let actual: string;
  try {
    actual = certificateFingerprint(pem);
  } catch {
    throw new AgentError('MANAGER_REPLY_INVALID', 'GET /agent/v1/ca did not return a PEM certificate');
  }
  if (actual !== expectedFingerprint) {
    throw new AgentError(
      'FINGERPRINT_MISMATCH',
      `${manager.host}:${manager.port} has ${actual}, expected ${expectedFingerprint}; check the value from "palisade-manager ca fingerprint" — or this is not your manager`,
    );
  }
  return pem;
}
