import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AgentError } from './agent-error.js';
import { writeFileAtomic } from './atomic-file.js';
import { EventSpool } from './event-spool.js';
import type { ManagerAddress } from './manager-url.js';

/** What activation leaves behind, besides the key and certificates. */
export interface Activation {
  manager: ManagerAddress;
  computerId: number;
  /** The name the agent activated with (default: the OS host name), reported in every heartbeat. */
  hostName: string;
  policyId: number;
  policyName: string;
  caFingerprint: string;
  activatedAt: number;
}

/** The configuration the agent has applied, with its fingerprint. */
export interface AppliedConfiguration {
  fingerprint: string;
  configuration: unknown;
  appliedAt: number;
}

/** Outcome of the last exchange, for `palisade-agent status`. */
export interface LastContact {
  time: number;
  ok: boolean;
  error?: string;
  tlsProtocol?: string;
  tlsCipher?: string;
  /** Key of the manager certificate the connection used (`ECDSA P-256`, `RSA 2048`). */
  tlsServerKey?: string;
  /** The connection resumed the previous TLS session. */
  tlsResumed?: boolean;
  clockOffsetMs?: number;
  /** Round trip of the last exchange, ms; sent with the next heartbeat to correct the clock offset. */
  roundTripMs?: number;
}

export interface AgentCounters {
  heartbeatsSent: number;
  heartbeatsFailed: number;
  configurationsApplied: number;
  configurationsFailed: number;
}

const ZERO_COUNTERS: AgentCounters = {
  heartbeatsSent: 0,
  heartbeatsFailed: 0,
  configurationsApplied: 0,
  configurationsFailed: 0,
};

/**
 * The agent's state directory: its private key (0600, generated here, never sent), its
 * certificate and the pinned manager CA, activation facts, the applied configuration, the
 * event spool, counters, the last contact and the last TLS session (0600). Small JSON files, each replaced atomically.
 */
export class StateDir {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  ensure(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  isActivated(): boolean {
    return existsSync(this.path('activation.json'));
  }

  private readJson<T>(name: string): T | null {
    const file = this.path(name);
    if (!existsSync(file)) return null;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (e) {
      throw new AgentError('STATE_INVALID', `${file}: ${(e as Error).message}`);
    }
  }

  private writeJson(name: string, value: unknown, mode?: number, durable = true): void {
    writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`, mode, durable);
  }

  activation(): Activation {
    const a = this.readJson<Activation>('activation.json');
    if (!a) throw new AgentError('NOT_ACTIVATED', `no activation in ${this.dir}; run "palisade-agent activate" first`);
    return a;
  }

  credentials(): { key: string; cert: string; ca: string } {
    try {
      return {
        key: readFileSync(this.path('agent.key'), 'utf8'),
        cert: readFileSync(this.path('agent.crt'), 'utf8'),
        ca: readFileSync(this.path('ca.crt'), 'utf8'),
      };
    } catch (e) {
      throw new AgentError(
        'STATE_INVALID',
        `credentials missing in ${this.dir} (${(e as Error).message}); reset and activate again`,
      );
    }
  }

  /** Writes everything activation produced; `activation.json` last, so a crash leaves "not activated". */
  saveActivation(a: Activation, creds: { key: string; cert: string; ca: string }): void {
    this.ensure();
    writeFileAtomic(this.path('agent.key'), creds.key, 0o600);
    writeFileAtomic(this.path('agent.crt'), creds.cert);
    writeFileAtomic(this.path('ca.crt'), creds.ca);
    this.writeJson('activation.json', a);
  }

  appliedConfiguration(): AppliedConfiguration | null {
    return this.readJson<AppliedConfiguration>('configuration.json');
  }

  saveAppliedConfiguration(c: AppliedConfiguration): void {
    this.writeJson('configuration.json', c);
  }

  heartbeatIntervalSeconds(): number | null {
    return this.readJson<{ heartbeatIntervalSeconds: number }>('schedule.json')?.heartbeatIntervalSeconds ?? null;
  }

  saveHeartbeatInterval(seconds: number): void {
    // Written on every heartbeat reply; unchanged is the common case, so skip the write then.
    if (this.heartbeatIntervalSeconds() === seconds) return;
    this.writeJson('schedule.json', { heartbeatIntervalSeconds: seconds });
  }

  lastContact(): LastContact | null {
    return this.readJson<LastContact>('last-contact.json');
  }

  saveLastContact(c: LastContact): void {
    this.writeJson('last-contact.json', c, undefined, false);
  }

  counters(): AgentCounters {
    return { ...ZERO_COUNTERS, ...(this.readJson<Partial<AgentCounters>>('counters.json') ?? {}) };
  }

  bumpCounter(name: keyof AgentCounters, by = 1): void {
    const c = this.counters();
    c[name] += by;
    this.writeJson('counters.json', c, undefined, false);
  }

  /**
   * The TLS session (ticket) the manager issued on the last mutual-TLS exchange, offered at the
   * next one so the handshake skips the certificate exchange and its signatures. It holds the
   * session's secrets (0600, like the key); undefined when none is kept.
   */
  tlsSession(): Buffer | undefined {
    try {
      return readFileSync(this.path('tls-session'));
    } catch {
      return undefined;
    }
  }

  /** Keeps `session` for the next exchange. Not fsynced: losing it costs one full handshake. */
  saveTlsSession(session: Buffer): void {
    writeFileAtomic(this.path('tls-session'), session, 0o600, false);
  }

  forgetTlsSession(): void {
    rmSync(this.path('tls-session'), { force: true });
  }

  spool(): EventSpool {
    return new EventSpool(this.path('spool'));
  }

  /**
   * Runs `fn` holding the state directory's lock, so a `heartbeat` command beside a running
   * agent never interleaves with it (both read and acknowledge the same spool). A lock left by a
   * dead process is taken over. Waits up to `waitMs` for a live holder.
   */
  async withLock<T>(fn: () => Promise<T>, waitMs = 15_000): Promise<T> {
    this.ensure();
    const lock = this.path('agent.lock');
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const holder = Number(readFileSync(lock, 'utf8').trim());
        if (!holder || !isAlive(holder)) {
          rmSync(lock, { force: true });
          continue;
        }
        if (Date.now() > deadline) throw new AgentError('STATE_LOCKED', `process ${holder} holds ${lock}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    try {
      return await fn();
    } finally {
      try {
        unlinkSync(lock);
      } catch {
        /* already gone */
      }
    }
  }

  /** Forgets the activation: key, certificates, configuration, spool. */
  reset(): void {
    for (const name of [
      'activation.json',
      'agent.key',
      'agent.crt',
      'ca.crt',
      'configuration.json',
      'schedule.json',
      'last-contact.json',
      'counters.json',
      'tls-session',
      'spool',
    ]) {
      rmSync(this.path(name), { recursive: true, force: true });
    }
  }
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
