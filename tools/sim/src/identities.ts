import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentKeyType } from '@palisade/agent';

/** What the fleet shares: the manager it enrolled with and the CA it pinned. */
export interface FleetInfo {
  /** `dsm://HOST:PORT/` */
  manager: string;
  ca: string;
  caFingerprint: string;
  keyType: AgentKeyType;
}

/** The continuity tokens an agent holds (see {@link Identities.continuity}). */
export interface ContinuityTokens {
  current?: string;
  previous?: string;
}

/** One simulated agent's identity, kept so later runs heartbeat without activating again. */
export interface SimIdentity {
  index: number;
  computerId: number;
  hostName: string;
  key: string;
  cert: string;
  /** Fingerprint of the configuration it has "applied". */
  fingerprint: string | null;
  /**
   * Its host identity (32 random bytes, base64url), sent at activation as a real agent sends
   * its own; absent from identities made before the simulator kept one (they carry no
   * continuity token either).
   */
  hostIdentity?: string;
  /**
   * The listener it announced at activation (`activate --listen-port`), where `palisade-sim
   * listen` opens it; absent: it announced none (it then announces one by heartbeat).
   */
  listener?: { address: string; port: number };
}

/**
 * The identities directory: `fleet.json` and one `agents/NNNNNNN.json` per agent (written by the
 * worker that activated it, 0600: they hold private keys), with `NNNNNNN.session` beside it once
 * the manager issued a TLS session and `NNNNNNN.continuity` once it issued a continuity token.
 * Reused by `palisade-sim run` and `listen`.
 */
export class Identities {
  constructor(readonly dir: string) {}

  private agentFile(index: number): string {
    return join(this.dir, 'agents', `${String(index).padStart(7, '0')}.json`);
  }

  ensure(): void {
    mkdirSync(join(this.dir, 'agents'), { recursive: true, mode: 0o700 });
  }

  fleet(): FleetInfo {
    const file = join(this.dir, 'fleet.json');
    if (!existsSync(file))
      throw new Error(`${this.dir} holds no fleet; run "palisade-sim activate --dir ${this.dir}" first`);
    return JSON.parse(readFileSync(file, 'utf8')) as FleetInfo;
  }

  saveFleet(f: FleetInfo): void {
    this.ensure();
    writeFileSync(join(this.dir, 'fleet.json'), `${JSON.stringify(f, null, 2)}\n`, { mode: 0o600 });
  }

  save(a: SimIdentity): void {
    writeFileSync(this.agentFile(a.index), JSON.stringify(a), { mode: 0o600 });
  }

  /** Indices of the agents activated so far, ascending. */
  indices(): number[] {
    const d = join(this.dir, 'agents');
    if (!existsSync(d)) return [];
    return readdirSync(d)
      .filter((n) => /^\d+\.json$/.test(n))
      .map((n) => Number(n.slice(0, -5)))
      .sort((a, b) => a - b);
  }

  load(index: number): SimIdentity {
    return JSON.parse(readFileSync(this.agentFile(index), 'utf8')) as SimIdentity;
  }

  /** The agent's last TLS session (ticket), kept like a real agent keeps it in its state dir. */
  session(index: number): Buffer | undefined {
    const f = this.agentFile(index).replace(/\.json$/, '.session');
    return existsSync(f) ? readFileSync(f) : undefined;
  }

  saveSession(index: number, session: Buffer): void {
    writeFileSync(this.agentFile(index).replace(/\.json$/, '.session'), session, { mode: 0o600 });
  }

  /**
   * The continuity tokens the agent holds: the last the manager issued and the one before it,
   * kept like a real agent's `continuity` file and presented at every exchange (docs/deployment.md
   * "Cloned hosts").
   */
  continuity(index: number): ContinuityTokens {
    const f = this.agentFile(index).replace(/\.json$/, '.continuity');
    if (!existsSync(f)) return {};
    const [current, previous] = readFileSync(f, 'utf8').split('\n');
    return { ...(current ? { current } : {}), ...(previous ? { previous } : {}) };
  }

  saveContinuity(index: number, tokens: ContinuityTokens): void {
    const text = `${tokens.current ?? ''}\n${tokens.previous ?? ''}\n`;
    writeFileSync(this.agentFile(index).replace(/\.json$/, '.continuity'), text, { mode: 0o600 });
  }
}
