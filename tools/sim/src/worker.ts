import { type AgentKeyType, type AgentListener, parseManagerUrl } from '@palisade/agent';
import { jitteredDelayMs } from '@palisade/core';
import type { CommunicationDirection } from '@palisade/protocol';
import pino from 'pino';
import { type ContinuityTokens, Identities } from './identities.js';
import { listenAddress } from './listen-address.js';
import { errorKind, SimAgent } from './sim-agent.js';
import { addCount, emptyTally, type Tally } from './tally.js';

/** Activate the agents numbered `indices` and keep their identities. */
export interface ActivateJob {
  kind: 'activate';
  dir: string;
  manager: string;
  ca: string;
  token: string;
  keyType: AgentKeyType;
  hostPrefix: string;
  indices: number[];
  concurrency: number;
  /** Epoch ms after which nothing new starts. */
  deadline: number;
  /** Announce a listener at activation on each agent's own address (listen-address.ts) and this port. */
  listenPort?: number;
}

/** Open the agents' listeners and answer the manager's calls until the deadline or `untilApplied`. */
export interface ListenJob {
  kind: 'listen';
  dir: string;
  indices: number[];
  /** Announcement heartbeats in flight. */
  concurrency: number;
  deadline: number;
  /** Port for agents that announced no listener at activation (0: any free one); they announce theirs by heartbeat. */
  port: number;
  /** The direction the agents say they follow until a configuration names one. */
  direction: CommunicationDirection;
  /** Stop once every agent applied this many operations through its listener; 0: at the deadline. */
  untilApplied: number;
}

/** Heartbeat with the agents numbered `indices`. */
export interface RunJob {
  kind: 'run';
  dir: string;
  indices: number[];
  concurrency: number;
  deadline: number;
  /** Most exchanges this worker makes. */
  maxHeartbeats: number;
  resume: boolean;
  eventsPerHeartbeat: number;
  /** Each agent every this many seconds (jittered ±10 %); null: back to back, `concurrency` at a time. */
  intervalSeconds: number | null;
  /**
   * A reconnect storm: every agent once, all at the same moment (up to `concurrency` per process
   * in flight), each retrying while the manager answers "busy" as agents do.
   */
  storm?: boolean;
}

export type Job = ActivateJob | RunJob | ListenJob;

export type WorkerMessage =
  | { type: 'progress'; tally: Tally }
  /** `listen`: every listener of this worker is open and known to the manager. */
  | { type: 'ready'; tally: Tally; listening: number }
  | {
      type: 'done';
      tally: Tally;
      latencies: number[];
      perSecond: Record<string, number>;
      startedAt: number;
      /** `listen`: when each agent first applied an operation through its listener, epoch ms. */
      appliedAt?: number[];
      /** `listen` with `untilApplied`: when each agent had applied that many, epoch ms. */
      reachedAt?: number[];
    };

const PROGRESS_MS = 500;

/** Runs one job in this process and reports through `send`. */
export async function runJob(job: Job, send: (m: WorkerMessage) => void): Promise<void> {
  const tally = emptyTally();
  const latencies: number[] = [];
  const perSecond: Record<string, number> = {};
  const startedAt = Date.now();
  const timer = setInterval(() => send({ type: 'progress', tally }), PROGRESS_MS);
  const record = (latencyMs: number) => {
    tally.ok += 1;
    latencies.push(latencyMs);
    addCount(perSecond, String(Math.floor((Date.now() - startedAt) / 1000)));
  };
  let applied: { appliedAt: number[]; reachedAt: number[] } | undefined;
  try {
    if (job.kind === 'activate') await activateAll(job, tally, record);
    else if (job.kind === 'listen') applied = await listenAll(job, tally, record, send);
    else await runAll(job, tally, record);
  } finally {
    clearInterval(timer);
  }
  send({ type: 'done', tally, latencies, perSecond, startedAt, ...applied });
}

async function activateAll(job: ActivateJob, tally: Tally, record: (ms: number) => void): Promise<void> {
  const identities = new Identities(job.dir);
  identities.ensure();
  const manager = parseManagerUrl(job.manager);
  let next = 0;
  const loop = async () => {
    while (next < job.indices.length && Date.now() < job.deadline) {
      const index = job.indices[next++]!;
      const t0 = performance.now();
      try {
        const { identity, continuity } = await SimAgent.activate({
          index,
          manager,
          ca: job.ca,
          token: job.token,
          keyType: job.keyType,
          hostPrefix: job.hostPrefix,
          ...(job.listenPort !== undefined
            ? { listener: { address: listenAddress(index), port: job.listenPort } }
            : {}),
          onBusy: () => {
            tally.retriesAfterBusy += 1;
          },
        });
        identities.save(identity);
        if (continuity.current) identities.saveContinuity(index, continuity);
        record(performance.now() - t0);
      } catch (e) {
        addCount(tally.errors, errorKind(e));
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, job.concurrency) }, loop));
}

async function runAll(job: RunJob, tally: Tally, record: (ms: number) => void): Promise<void> {
  const identities = new Identities(job.dir);
  const fleet = identities.fleet();
  const manager = parseManagerUrl(fleet.manager);
  const agents = job.indices.map(
    (i) =>
      new SimAgent(identities.load(i), manager, fleet.ca, {
        session: identities.session(i),
        onSession: (s) => identities.saveSession(i, s),
        ...keptContinuity(identities, i),
      }),
  );
  const applied = keepApplied(identities, agents);
  try {
    await heartbeatAll(job, tally, record, agents);
  } finally {
    applied();
  }
}

/**
 * An agent's continuity tokens from the identities directory, and each new one written back as
 * it comes (a real agent writes its `continuity` file at every exchange): the next run, or
 * `listen` after `run`, presents the token the manager issued last.
 */
function keptContinuity(identities: Identities, index: number) {
  return {
    continuity: identities.continuity(index),
    onContinuity: (tokens: ContinuityTokens) => identities.saveContinuity(index, tokens),
  };
}

/**
 * Once the run is over, stores the fingerprint each agent applied meanwhile, as a real agent
 * keeps its applied configuration: its next run reports that one, and a later change back to
 * the fingerprint it had before is an operation to apply again, not "already applied".
 */
function keepApplied(identities: Identities, agents: readonly SimAgent[]): () => void {
  const before = agents.map((a) => a.identity.fingerprint);
  return () => {
    for (const [i, a] of agents.entries()) if (a.identity.fingerprint !== before[i]) identities.save(a.identity);
  };
}

async function heartbeatAll(
  job: RunJob,
  tally: Tally,
  record: (ms: number) => void,
  agents: readonly SimAgent[],
): Promise<void> {
  let started = 0;
  const once = async (a: SimAgent) => {
    started += 1;
    try {
      const o = await a.heartbeat({
        resume: job.resume,
        eventsPerHeartbeat: job.eventsPerHeartbeat,
        // Agents at an interval behave like agents: a busy manager is waited for. Back to back
        // (capacity runs), a refusal is counted as what it is.
        ...(job.intervalSeconds !== null || job.storm ? { retryWhenBusy: () => (tally.retriesAfterBusy += 1) } : {}),
      });
      record(o.latencyMs);
      if (o.resumed) tally.resumed += 1;
      else tally.full += 1;
      tally.operations += o.operations;
      addCount(tally.tls, o.tls);
    } catch (e) {
      addCount(tally.errors, errorKind(e));
    }
  };
  const more = () => started < job.maxHeartbeats && Date.now() < job.deadline;
  if (job.storm) {
    const pending = [...agents];
    const loop = async () => {
      while (more() && pending.length > 0) await once(pending.shift()!);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, agents.length)) }, loop));
    return;
  }
  if (job.intervalSeconds === null) {
    // As fast as allowed: `concurrency` exchanges in flight, each with the agent idle longest.
    const idle = [...agents];
    const loop = async () => {
      while (more() && idle.length > 0) {
        const a = idle.shift()!;
        await once(a);
        idle.push(a);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, agents.length)) }, loop));
    return;
  }
  // At an interval: each agent first at a random point of one interval (a fleet already
  // running), then every interval, jittered; at most `concurrency` in flight, the rest wait.
  const intervalMs = job.intervalSeconds * 1000;
  let inFlight = 0;
  const waiting: Array<() => void> = [];
  const slot = async () => {
    if (inFlight >= job.concurrency) await new Promise<void>((r) => waiting.push(r));
    inFlight += 1;
  };
  const release = () => {
    inFlight -= 1;
    waiting.shift()?.();
  };
  await Promise.all(
    agents.map(async (a) => {
      let wait = Math.random() * intervalMs;
      for (;;) {
        if (Date.now() + wait >= job.deadline) return;
        await new Promise((r) => setTimeout(r, wait));
        if (!more()) return;
        await slot();
        try {
          await once(a);
        } finally {
          release();
        }
        wait = jitteredDelayMs(job.intervalSeconds!);
      }
    }),
  );
}

/**
 * Each agent opens its listener — where it announced one at activation, else on its own address
 * (listen-address.ts) and `job.port` — and those that announced none (or whose port was taken)
 * tell the manager by one heartbeat. Then the worker says it is ready and answers the manager's
 * calls: `record` counts each call, `tally.operations` what was applied. Returns when each agent
 * first applied an operation through its listener, and when it had applied `untilApplied` of
 * them (epoch ms, ascending; those that did not are absent).
 */
async function listenAll(
  job: ListenJob,
  tally: Tally,
  record: (ms: number) => void,
  send: (m: WorkerMessage) => void,
): Promise<{ appliedAt: number[]; reachedAt: number[] }> {
  const identities = new Identities(job.dir);
  const fleet = identities.fleet();
  const manager = parseManagerUrl(fleet.manager);
  const logger = pino({ level: process.env.PALISADE_SIM_LOG ?? 'silent' });
  const applied = new Map<number, { count: number; first: number; reached?: number }>();
  const listeners: AgentListener[] = [];
  const agents: SimAgent[] = [];
  const announce: SimAgent[] = [];
  let done: () => void = () => {};
  const allApplied = new Promise<void>((r) => (done = r));
  let opened = 0;
  let reached = 0;
  for (const index of job.indices) {
    if (Date.now() >= job.deadline) break;
    const identity = identities.load(index);
    const agent = new SimAgent(identity, manager, fleet.ca, keptContinuity(identities, index));
    agents.push(agent);
    const open = (address: string, port: number) =>
      agent.listen({
        address,
        port,
        direction: job.direction,
        logger,
        onCall: (ms) => record(ms),
        onApplied: (n, at) => {
          tally.operations += n;
          const a = applied.get(index) ?? { count: 0, first: at };
          a.count += n;
          applied.set(index, a);
          if (job.untilApplied > 0 && a.count - n < job.untilApplied && a.count >= job.untilApplied) {
            a.reached = at;
            reached += 1;
            if (reached === opened) done();
          }
        },
      });
    try {
      const want = identity.listener ?? { address: listenAddress(index), port: job.port };
      let listener: AgentListener;
      try {
        listener = await open(want.address, want.port);
      } catch (e) {
        // Its port is taken on its address (something else listens on all of them): any free one, announced.
        if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE' || want.port === 0) throw e;
        listener = await open(want.address, 0);
      }
      listeners.push(listener);
      opened += 1;
      if (!identity.listener || identity.listener.port !== listener.port) announce.push(agent);
    } catch (e) {
      addCount(tally.errors, `listen:${errorKind(e)}`);
    }
  }
  const keep = keepApplied(identities, agents);
  let next = 0;
  const announceOne = async () => {
    while (next < announce.length && Date.now() < job.deadline) {
      const agent = announce[next++]!;
      try {
        await agent.heartbeat({
          resume: false,
          eventsPerHeartbeat: 0,
          retryWhenBusy: () => (tally.retriesAfterBusy += 1),
        });
      } catch (e) {
        addCount(tally.errors, `announce:${errorKind(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(job.concurrency, announce.length)) }, announceOne));
  // Operations applied while announcing (a stale configuration) are not the manager's calls.
  applied.clear();
  reached = 0;
  tally.operations = 0;
  send({ type: 'ready', tally, listening: opened });
  if (opened > 0) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, job.deadline - Date.now())))),
      job.untilApplied > 0 ? allApplied : new Promise<never>(() => {}),
    ]);
    clearTimeout(timer);
  }
  await Promise.all(listeners.map((l) => l.close()));
  keep();
  const all = [...applied.values()];
  return {
    appliedAt: all.map((a) => a.first).sort((a, b) => a - b),
    reachedAt: all.flatMap((a) => (a.reached === undefined ? [] : [a.reached])).sort((a, b) => a - b),
  };
}

/**
 * A worker's messages to fleet.ts over the IPC channel, and its leaving. `process.send` queues
 * what the channel cannot take at once, and `process.disconnect()` drops whatever is still
 * queued: a last report larger than the channel's socket buffer (about 200 KiB here; a run's
 * latencies take about 18 bytes each, so 10,000 or more per worker) was lost, and the run
 * failed with "worker N ended (exit 0) before reporting". `leave` waits for the last message's
 * callback first; IPC writes in order, so every message before it is out too.
 */
export function ipcReporter(): {
  send: (m: WorkerMessage) => void;
  leave: () => Promise<void>;
} {
  let last: Promise<void> = Promise.resolve();
  return {
    send(m) {
      if (!process.send) return;
      // A failed send (the parent gone) settles too: there is nobody left to tell.
      last = new Promise((resolve) => process.send!(m, undefined, undefined, () => resolve()));
    },
    async leave() {
      await last;
      process.disconnect?.();
    },
  };
}

// Started by fork() from fleet.ts: take one job, report, exit.
if (process.send && process.argv.includes('--palisade-sim-worker')) {
  process.once('message', (job: Job) => {
    const parent = ipcReporter();
    runJob(job, parent.send).then(
      () => parent.leave(),
      (e) => {
        process.stderr.write(`palisade-sim worker: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
      },
    );
  });
}
