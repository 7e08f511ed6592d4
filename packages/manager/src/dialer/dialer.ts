import { randomUUID } from 'node:crypto';
import { DEFAULT_TLS_POLICY, jitteredDelayMs, type TlsPolicyName } from '@palisade/core';
import { AGENT_LISTENER_PATHS, ListenerDeactivationReply, PROTOCOL_VERSION, schemaProblem } from '@palisade/protocol';
import type { Logger } from 'pino';
import type { HeartbeatIngest } from '../ingest.js';
import type { AgentNotice } from '../services/computer-lifecycle.js';
import type { ClaimedDial, ComputerRecord, Store } from '../store/store.js';
import { AgentListenerConnection, DialError } from './agent-listener-client.js';
import type { DialerIdentity } from './dialer-identity.js';
import { dialerTlsOptions } from './dialer-tls.js';
import { agentListenerAllowList, listenerDialAddress } from './listener-address-policy.js';
import { type DialOutcome, runManagerExchange } from './manager-exchange.js';

/** Calls to agents' listeners one node runs at once unless told otherwise (see {@link DialerOptions.concurrency}). */
export const DEFAULT_DIALER_CONCURRENCY = 32;
/** The most `--dialer-concurrency` may ask for: each call holds a socket, a TLS session and its exchange in memory. */
export const MAX_DIALER_CONCURRENCY = 1_024;

export interface DialerOptions {
  /** Most exchanges this node runs at once (sockets open to agents). Default {@link DEFAULT_DIALER_CONCURRENCY}. */
  concurrency?: number;
  /** How often an idle node looks for due work, ms. Default a tenth of the heartbeat interval, within 200 ms – 5 s. */
  pollIntervalMs?: number;
  /** Timeout of each request to an agent, ms. Default 30 s. */
  requestTimeoutMs?: number;
  /** A claim lapses after this long, so work a dead node held is dialled again, ms. Default 3 × the request timeout. */
  leaseMs?: number;
}

export interface DialerDeps {
  store: Store;
  ingest: HeartbeatIngest;
  identity: DialerIdentity;
  heartbeatIntervalSeconds: number;
  logger: Logger;
  options?: DialerOptions;
  now?: () => number;
  /** The manager TLS policy in force, read at each dial (dialer-tls.ts). Default `modern`. */
  tlsPolicy?: () => TlsPolicyName;
  /**
   * Told of every dial this node made, once it ended: why it was made (`schedule`, or an
   * action's reason) and whether the agent answered (`ok`, else its failure). Metrics.
   */
  onDial?: (reason: string, outcome: 'ok' | string) => void;
}

/**
 * The manager's side of Manager Initiated and Bidirectional communication: a bounded pool of
 * exchanges fed from the store. Nothing is kept per computer in memory — no timer, no socket
 * between dials: each poll claims at most as many due rows as there are free slots (a
 * conditional update, so several nodes share the work without dialling a computer twice), and
 * an exchange's own contact schedules the next one. 100,000 manager-initiated computers cost a
 * 100,000-row index, `concurrency` sockets and one timer.
 */
export class Dialer {
  private readonly now: () => number;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly requestTimeoutMs: number;
  private readonly leaseMs: number;
  /** Identifies this node's claims; one token per claim, so a lapsed one cannot be released by its old holder. */
  private readonly node = randomUUID().slice(0, 8);
  private readonly running = new Set<Promise<unknown>>();
  private inFlight = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  /** A wake came while a poll ran: look again as soon as it ends. */
  private woken = false;
  private closed = false;

  constructor(private readonly deps: DialerDeps) {
    this.now = deps.now ?? Date.now;
    const o = deps.options ?? {};
    this.concurrency = Math.min(MAX_DIALER_CONCURRENCY, Math.max(1, o.concurrency ?? DEFAULT_DIALER_CONCURRENCY));
    this.pollIntervalMs =
      o.pollIntervalMs ?? Math.min(5_000, Math.max(200, Math.round(deps.heartbeatIntervalSeconds * 100)));
    this.requestTimeoutMs = o.requestTimeoutMs ?? 30_000;
    this.leaseMs = o.leaseMs ?? 3 * this.requestTimeoutMs;
  }

  /** Exchanges running on this node now. */
  get active(): number {
    return this.inFlight;
  }

  start(): void {
    if (this.closed || this.timer) return;
    this.schedulePoll(0);
  }

  /**
   * Work was just made due (a configuration change for listening agents, expected-fingerprints.ts):
   * look for it now rather than at the next poll. One timer, whatever the number of computers.
   */
  wake(): void {
    if (this.closed) return;
    this.woken = true;
    if (!this.polling) this.schedulePoll(0);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.polling;
    await Promise.allSettled([...this.running]);
  }

  private schedulePoll(ms: number): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.polling = this.poll().finally(() => (this.polling = undefined));
    }, ms);
    this.timer.unref?.();
  }

  private token(): string {
    return `${this.node}:${randomUUID()}`;
  }

  private async poll(): Promise<void> {
    let full = false;
    this.woken = false;
    try {
      const free = this.concurrency - this.inFlight;
      if (free > 0) {
        // In the group commit: claims made while exchanges' results commit share their fsync.
        const claimed = await this.deps.ingest.unit((tx) =>
          tx.dialTargets.claimDue({
            now: this.now(),
            limit: free,
            leaseMs: this.leaseMs,
            token: this.token(),
          }),
        );
        for (const c of claimed) void this.launch(c, 'schedule');
        full = claimed.length === free;
      }
    } catch (e) {
      this.deps.logger.error({ err: e }, 'dialer: could not read due work; retrying');
    }
    // More may be due: look again as soon as a slot frees (see launch), else at the poll interval.
    if (!full) this.schedulePoll(this.woken ? 0 : this.pollIntervalMs);
  }

  private launch(c: ClaimedDial, reason: string): Promise<DialOutcome> {
    this.inFlight += 1;
    const p = this.dial(c, reason).finally(() => {
      this.inFlight -= 1;
      this.running.delete(p);
      if (!this.closed && !this.timer && !this.polling) this.schedulePoll(0);
    });
    this.running.add(p);
    return p;
  }

  private nextScheduled(c: ClaimedDial, t: number): number | null {
    return c.mode === 'scheduled' ? t + jitteredDelayMs(this.deps.heartbeatIntervalSeconds) : null;
  }

  private async dial(c: ClaimedDial, reason: string): Promise<DialOutcome> {
    const releasedOk = (at: number) => ({
      computerId: c.computerId,
      token: c.claimToken,
      now: at,
      ok: true as const,
      nextDialAt: this.nextScheduled(c, at),
    });
    let outcome: DialOutcome;
    try {
      const tls = dialerTlsOptions(this.deps.tlsPolicy?.() ?? DEFAULT_TLS_POLICY);
      outcome = await runManagerExchange(c, {
        store: this.deps.store,
        ingest: this.deps.ingest,
        identity: this.deps.identity,
        requestTimeoutMs: this.requestTimeoutMs,
        now: this.now,
        tls,
        finish: (tx) => tx.dialTargets.release(releasedOk(this.now())),
      });
    } catch (e) {
      // A store failure mid-exchange: the agent keeps its events (they were not acknowledged).
      outcome = {
        computerId: c.computerId,
        ok: false,
        startedAt: this.now(),
        address: null,
        failure: 'unreachable',
        error: `manager error: ${(e as Error).message}`,
        exchanges: 0,
        eventsStored: 0,
        operations: [],
      };
      this.deps.logger.error({ err: e, computerId: c.computerId }, 'dialer: exchange failed on the manager side');
    }
    const t = this.now();
    try {
      // The release rides in the group commit with other exchanges' writes (ingest.unit).
      const release = (o: Parameters<Store['dialTargets']['release']>[0]) =>
        this.deps.ingest.unit((tx) => tx.dialTargets.release(o));
      if (outcome.failure === 'deactivated') {
        await release({
          computerId: c.computerId,
          token: c.claimToken,
          now: t,
          ok: false,
          error: outcome.error ?? 'deactivated',
          nextDialAt: null,
        });
      } else if (outcome.ok) {
        // Usually released already, in the unit of the last results (finish above).
        if (!outcome.finished) await release(releasedOk(t));
      } else {
        // Unreachable counts as a missed heartbeat: nothing on the computer is touched, so its
        // offline deadline passes as if the agent had not heartbeated. Tried again next interval.
        await release({
          computerId: c.computerId,
          token: c.claimToken,
          now: t,
          ok: false,
          error: outcome.error ?? 'failed',
          nextDialAt: this.nextScheduled(c, t),
        });
      }
    } catch (e) {
      this.deps.logger.error(
        { err: e, computerId: c.computerId },
        'dialer: could not release the claim; it lapses by itself',
      );
    }
    const log = {
      computerId: c.computerId,
      reason,
      address: outcome.address,
      exchanges: outcome.exchanges,
      operations: outcome.operations.length,
      ms: t - outcome.startedAt,
    };
    this.deps.onDial?.(reason, outcome.ok ? 'ok' : (outcome.failure ?? 'failed'));
    if (outcome.ok) this.deps.logger.info(log, 'dialed agent');
    else this.deps.logger.warn({ ...log, failure: outcome.failure }, `could not reach agent: ${outcome.error}`);
    return outcome;
  }

  /**
   * Tells a just-deactivated computer's agent so, where it listens (Bidirectional, Manager
   * Initiated): it resets itself at once instead of at its next contact — which, in Manager
   * Initiated, would never come. The connection authenticates the agent by the serial it was
   * issued, as every dial does; one attempt, bounded by the request timeout.
   */
  async notifyDeactivated(computer: ComputerRecord): Promise<AgentNotice> {
    const target = await this.deps.store.dialTargets.get(computer.id);
    if (!target || target.mode === 'none')
      return { told: false, reason: 'the agent does not listen; it learns at its next heartbeat' };
    const port = target.listener?.port ?? target.defaultPort;
    const where = await listenerDialAddress(await agentListenerAllowList(this.deps.store), {
      announced: target.listener?.address ?? null,
      lastIp: computer.lastIp,
      port,
    });
    if ('refusal' in where) return { told: false, reason: where.refusal };
    const conn = new AgentListenerConnection(
      { host: where.address, port, certSerial: computer.certSerial },
      this.deps.identity,
      this.requestTimeoutMs,
      dialerTlsOptions(this.deps.tlsPolicy?.() ?? DEFAULT_TLS_POLICY),
    );
    try {
      const r = await conn.request<unknown>(AGENT_LISTENER_PATHS.deactivate, {
        protocolVersion: PROTOCOL_VERSION,
        computerId: computer.id,
      });
      const problem = schemaProblem(ListenerDeactivationReply, r.body);
      if (problem) return { told: false, reason: `${conn.where}: the answer does not match the schema (${problem})` };
      this.deps.logger.info({ computerId: computer.id, address: conn.where }, 'told the agent it was deactivated');
      return { told: true };
    } catch (e) {
      const reason = e instanceof DialError ? e.message : (e as Error).message;
      this.deps.logger.warn({ computerId: computer.id }, `could not tell the agent it was deactivated: ${reason}`);
      return { told: false, reason };
    } finally {
      conn.close();
    }
  }

  /**
   * Contacts one computer now (Check Status, Send Policy), due or not. If another exchange
   * with it is running (a scheduled dial, another node's action), waits for that one to end,
   * up to `waitMs`, then runs its own: the operator gets a fresh answer.
   */
  async dialNow(computerId: number, reason: string, waitMs = this.leaseMs): Promise<DialOutcome> {
    const started = this.now();
    const token = this.token();
    for (;;) {
      const c = await this.deps.store.dialTargets.claimOne({
        computerId,
        now: this.now(),
        leaseMs: this.leaseMs,
        token,
      });
      if (c === null) {
        return {
          computerId,
          ok: false,
          startedAt: started,
          address: null,
          failure: 'no-address',
          error: 'the manager has not heard from this agent since it could listen: no listener address is known',
          exchanges: 0,
          eventsStored: 0,
          operations: [],
        };
      }
      if (c !== 'busy') return this.launch(c, reason);
      if (this.closed || this.now() - started > waitMs) {
        return {
          computerId,
          ok: false,
          startedAt: started,
          address: null,
          failure: 'busy',
          error: 'another exchange with this agent is still running',
          exchanges: 0,
          eventsStored: 0,
          operations: [],
        };
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
