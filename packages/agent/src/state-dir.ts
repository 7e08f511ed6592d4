import { createPrivateKey, type KeyObject, randomBytes, X509Certificate } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
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

/**
 * An upgrade under way (docs/deployment.md "Upgrades"): written before `current` is switched,
 * confirmed by the new version once it heartbeats, or given its outcome by the watcher that
 * rolled it back; the version that runs afterwards reports it and removes the file.
 */
export interface UpgradeRecord {
  id: number;
  from: string;
  to: string;
  /** The version folder `current` pointed at before the switch: where a rollback goes back to. */
  fromDir: string;
  /** The install folder (`/opt/palisade-agent`): `versions/<v>/`, `current`. */
  root: string;
  switchedAt: number;
  /** How long the new version has to heartbeat, ms. */
  confirmWithinMs: number;
  /** Set by the new version after its first heartbeat. */
  confirmedAt?: number;
  /** Set when it ended otherwise: `rolled-back` (with the reason). */
  outcome?: 'rolled-back';
  reason?: string;
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

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The informational files: what they hold can be lost without losing anything the agent or the
 * manager relies on, so they are written without fsync (a power cut can leave one empty or torn)
 * and, when unreadable, rebuilt with a warning instead of failing every command that reads them.
 * Each entry checks a parsed file's shape and says what rebuilding it means.
 */
const INFORMATIONAL = {
  'counters.json': {
    valid: (v: unknown) => isObject(v) && Object.keys(ZERO_COUNTERS).every((k) => v[k] === undefined || isCount(v[k])),
    rebuilt: 'the counters start again from 0',
  },
  'last-contact.json': {
    valid: (v: unknown) => isObject(v) && isCount(v.time) && typeof v.ok === 'boolean',
    rebuilt: 'the last contact is unknown until the next exchange',
  },
  'policy.json': {
    valid: (v: unknown) => isObject(v) && Number.isSafeInteger(v.policyId) && typeof v.policyName === 'string',
    rebuilt: 'status shows the policy of the activation until the manager answers',
  },
  'schedule.json': {
    valid: (v: unknown) =>
      isObject(v) && Number.isSafeInteger(v.heartbeatIntervalSeconds) && (v.heartbeatIntervalSeconds as number) >= 1,
    rebuilt: 'the default interval (600 s) applies until the manager answers',
  },
} as const;
type InformationalFile = keyof typeof INFORMATIONAL;

export interface StateDirOptions {
  /**
   * Told each time a damaged informational file is rebuilt (one line, no stack). Default: a
   * `palisade-agent: warning:` line on stderr; the daemon logs it instead.
   */
  warn?: (message: string) => void;
}

/**
 * The agent's state directory: its private key (0600, generated here, never sent), its
 * certificate and the pinned manager CA, activation facts, the applied configuration, the
 * event spool, counters, the last contact and the last TLS session (0600). Small JSON files, each replaced atomically.
 */
export class StateDir {
  readonly dir: string;
  /** See {@link StateDirOptions.warn}; replaceable (the daemon points it at its log). */
  warn: (message: string) => void;

  constructor(dir: string, o: StateDirOptions = {}) {
    this.dir = resolve(dir);
    this.warn = o.warn ?? ((m) => process.stderr.write(`palisade-agent: warning: ${m}\n`));
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
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      // Absent, or removed since it was looked for (the service clears `upgrade.json` while
      // `status` or another reader looks): none, not a damaged state directory.
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new AgentError('STATE_INVALID', `${file}: ${(e as Error).message}`, { cause: e });
    }
    try {
      return JSON.parse(text) as T;
    } catch (e) {
      throw new AgentError('STATE_INVALID', `${file}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * An informational file (see INFORMATIONAL), or null when there is none. One that cannot be
   * read or has the wrong shape is removed, with a warning and an event for the manager, and
   * read as absent: the next write rebuilds it.
   */
  private readInformational<T>(name: InformationalFile): T | null {
    const file = this.path(name);
    let problem: string;
    try {
      const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
      if (INFORMATIONAL[name].valid(v)) return v as T;
      problem = 'unexpected content';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      problem = (e as Error).message.split('\n')[0] ?? 'unreadable';
    }
    const message = `${file} could not be read (${problem}); rebuilt: ${INFORMATIONAL[name].rebuilt}`;
    this.warn(message);
    try {
      rmSync(file, { force: true });
      if (this.isActivated())
        this.spool().append({ type: 'agent.state.rebuilt', severity: 'warning', message, data: { file: name } });
    } catch {
      /* a read-only look (status as another user): the warning said it; the next write rebuilds it */
    }
    return null;
  }

  private writeJson(name: string, value: unknown, mode?: number, durable = true): void {
    writeFileAtomic(this.path(name), `${JSON.stringify(value, null, 2)}\n`, mode, durable);
  }

  activation(): Activation {
    const a = this.readJson<Activation>('activation.json');
    if (!a) throw new AgentError('NOT_ACTIVATED', `no activation in ${this.dir}; run "palisade-agent activate" first`);
    return a;
  }

  /**
   * The key, certificate and pinned CA, checked before any TLS context sees them: a file that is
   * not PEM, or a key that is not the certificate's, is one clear error naming the file rather
   * than OpenSSL's decoder stack from deep inside a handshake.
   */
  credentials(): { key: string; cert: string; ca: string } {
    const read = (name: string) => {
      try {
        return readFileSync(this.path(name), 'utf8');
      } catch (e) {
        throw this.damaged(`${this.path(name)} cannot be read (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    };
    const creds = { key: read('agent.key'), cert: read('agent.crt'), ca: read('ca.crt') };
    let key: KeyObject;
    try {
      key = createPrivateKey(creds.key);
    } catch (e) {
      throw this.damaged(`${this.path('agent.key')} is not a PEM private key (${opensslReason(e)})`);
    }
    const certificate = (name: string, pem: string) => {
      try {
        return new X509Certificate(pem);
      } catch (e) {
        throw this.damaged(`${this.path(name)} is not a PEM certificate (${opensslReason(e)})`);
      }
    };
    const cert = certificate('agent.crt', creds.cert);
    certificate('ca.crt', creds.ca);
    if (!cert.checkPrivateKey(key))
      throw this.damaged(`${this.path('agent.key')} is not the key of the certificate in ${this.path('agent.crt')}`);
    return creds;
  }

  private damaged(what: string): AgentError {
    return new AgentError('STATE_INVALID', `${what}; run "palisade-agent reset --yes" and activate again`);
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
    return (
      this.readInformational<{ heartbeatIntervalSeconds: number }>('schedule.json')?.heartbeatIntervalSeconds ?? null
    );
  }

  saveHeartbeatInterval(seconds: number): void {
    // Written on every heartbeat reply; unchanged is the common case, so skip the write then.
    if (this.heartbeatIntervalSeconds() === seconds) return;
    this.writeJson('schedule.json', { heartbeatIntervalSeconds: seconds });
  }

  /** The computer's policy as the manager's last reply named it; null before any reply named one. */
  currentPolicy(): { policyId: number; policyName: string } | null {
    return this.readInformational<{ policyId: number; policyName: string }>('policy.json');
  }

  /** Keeps the policy a manager reply names (`HeartbeatReply.policyId`/`policyName`); a reply naming none changes nothing. */
  saveCurrentPolicy(p: { policyId?: number | undefined; policyName?: string | undefined }): void {
    if (p.policyId === undefined || p.policyName === undefined) return;
    const now = this.currentPolicy();
    if (now?.policyId === p.policyId && now.policyName === p.policyName) return;
    this.writeJson('policy.json', { policyId: p.policyId, policyName: p.policyName }, undefined, false);
  }

  lastContact(): LastContact | null {
    return this.readInformational<LastContact>('last-contact.json');
  }

  saveLastContact(c: LastContact): void {
    this.writeJson('last-contact.json', c, undefined, false);
  }

  counters(): AgentCounters {
    const stored = this.readInformational<Partial<AgentCounters>>('counters.json') ?? {};
    return Object.fromEntries(
      Object.entries(ZERO_COUNTERS).map(([k, zero]) => [k, stored[k as keyof AgentCounters] ?? zero]),
    ) as unknown as AgentCounters;
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

  /**
   * The host identity: 32 random bytes (base64url) made the first time it is asked for, kept
   * (0600, fsynced) across resets, so activating again gets this host's computer back
   * (docs/deployment.md, "Reactivation"). Only uninstalling without --keep-state removes it. An
   * unreadable one is replaced with a warning: the manager then sees a new host.
   */
  hostIdentity(): string {
    const file = this.path('host-identity');
    let held: string | null = null;
    try {
      held = readFileSync(file, 'utf8').trim();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    if (held !== null && /^[A-Za-z0-9_-]{43}$/.test(held)) return held;
    if (held !== null) this.warn(`${file} is not a host identity; a new one is made (the manager will see a new host)`);
    this.ensure();
    const made = randomBytes(32).toString('base64url');
    writeFileAtomic(file, `${made}\n`, 0o600);
    return made;
  }

  /**
   * Replaces the host identity: the manager found this host to be a copy of another and gave it
   * one of its own (docs/deployment.md, "Cloned hosts"); `null` makes a new one here (a copy
   * refused as a computer of its own, so that activating it later is never taken for the original).
   */
  replaceHostIdentity(identity: string | null): void {
    this.ensure();
    writeFileAtomic(this.path('host-identity'), `${identity ?? randomBytes(32).toString('base64url')}\n`, 0o600);
  }

  /**
   * The continuity token of the manager's last reply, presented at the next heartbeat: a copy
   * of this state that falls behind shows it (docs/deployment.md, "Cloned hosts"). Undefined
   * before the first. Kept 0600, fsynced: losing it would make this host look like the copy.
   */
  continuity(): string | undefined {
    return this.continuityTokens()[0];
  }

  /** Keeps `token` as the one to present next, and the one held until now as the previous (one file, replaced atomically). */
  saveContinuity(token: string): void {
    const held = this.continuity();
    if (held === token) return;
    writeFileAtomic(this.path('continuity'), held ? `${token}\n${held}\n` : `${token}\n`, 0o600);
  }

  /**
   * {@link continuity} and the token held before it, read at once: the report presents both, so
   * that if the manager lost the last rotation (its commit was not yet on disk when its host lost
   * power) it still knows the previous one.
   */
  continuityTokens(): [current: string | undefined, previous: string | undefined] {
    try {
      const lines = readFileSync(this.path('continuity'), 'utf8').split('\n');
      const [current, previous] = lines.map((l) => (/^[A-Za-z0-9_-]{43}$/.test(l.trim()) ? l.trim() : undefined));
      return [current, previous];
    } catch {
      return [undefined, undefined];
    }
  }

  /** The upgrade under way or just ended (upgrade.ts); null when none. */
  upgrade(): UpgradeRecord | null {
    return this.readJson<UpgradeRecord>('upgrade.json');
  }

  saveUpgrade(u: UpgradeRecord): void {
    this.writeJson('upgrade.json', u, 0o600);
  }

  clearUpgrade(): void {
    rmSync(this.path('upgrade.json'), { force: true });
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

  /**
   * Claims the state directory for this process's `start` for as long as it runs, so a second
   * agent daemon on the same directory is refused instead of reporting its events as the first's
   * and fighting over the firewall table. The claim (`daemon.lock`: pid and boot id) left by a
   * process that died, or from before a reboot (a recycled pid must not keep the service down),
   * is taken over. Returns the release, which also runs at process exit.
   */
  claimDaemon(): () => void {
    this.ensure();
    const lock = this.path('daemon.lock');
    const mine = `${process.pid}\n${bootId()}\n`;
    for (let attempt = 0; ; attempt++) {
      try {
        const fd = openSync(lock, 'wx', 0o600);
        writeSync(fd, mine);
        closeSync(fd);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 3) throw e;
        let held = ['', ''];
        try {
          held = readFileSync(lock, 'utf8').split('\n');
        } catch {
          /* removed meanwhile: try again */
        }
        const holder = Number(held[0]);
        const boot = held[1] ?? '';
        if (Number.isInteger(holder) && holder > 1 && holder !== process.pid && boot === bootId() && isAlive(holder))
          throw new AgentError('AGENT_RUNNING', `process ${holder} (${lock})`);
        rmSync(lock, { force: true });
      }
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.removeListener('exit', release);
      try {
        if (readFileSync(lock, 'utf8') === mine) unlinkSync(lock);
      } catch {
        /* already gone */
      }
    };
    process.on('exit', release);
    return release;
  }

  /** When the daemon holding this state directory started (its `daemon.lock`), or null when none runs. */
  daemonStartedAt(): number | null {
    const lock = this.path('daemon.lock');
    try {
      const [pid, boot] = readFileSync(lock, 'utf8').split('\n');
      if (boot !== bootId() || !isAlive(Number(pid))) return null;
      return statSync(lock).mtimeMs;
    } catch {
      return null;
    }
  }

  /** Forgets the activation: key, certificates, configuration, spool. The host identity stays. */
  reset(): void {
    for (const name of [
      'activation.json',
      'agent.key',
      'agent.crt',
      'ca.crt',
      'configuration.json',
      'schedule.json',
      'policy.json',
      'last-contact.json',
      'counters.json',
      'tls-session',
      'continuity',
      'spool',
    ]) {
      rmSync(this.path(name), { recursive: true, force: true });
    }
  }
}

/** OpenSSL's reason without its `error:1E08010C:DECODER routines::` prefix. */
function opensslReason(e: unknown): string {
  return ((e as Error).message ?? String(e)).replace(/^error:[0-9A-F]+:[^:]*::?/, '').split('\n')[0] ?? 'invalid';
}

/** This boot's id (Linux); empty elsewhere, where a claim is judged by its pid alone. */
function bootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return '';
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
