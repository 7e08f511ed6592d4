import { type AgentKeyType, parseManagerUrl } from '@palisade/agent';
import { jitteredDelayMs } from '@palisade/core';
import { Identities } from './identities.js';
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

export type Job = ActivateJob | RunJob;

export type WorkerMessage =
  | { type: 'progress'; tally: Tally }
  | { type: 'done'; tally: Tally; latencies: number[]; perSecond: Record<string, number>; startedAt: number };

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
  try {
    if (job.kind === 'activate') await activateAll(job, tally, record);
    else await runAll(job, tally, record);
  } finally {
    clearInterval(timer);
  }
  send({ type: 'done', tally, latencies, perSecond, startedAt });
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
        const id = await SimAgent.activate({
          index,
          manager,
          ca: job.ca,
          token: job.token,
          keyType: job.keyType,
          hostPrefix: job.hostPrefix,
          onBusy: () => {
            tally.retriesAfterBusy += 1;
          },
        });
        identities.save(id);
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
      new SimAgent(identities.load(i), manager, fleet.ca, identities.session(i), (s) => identities.saveSession(i, s)),
  );
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

// Started by fork() from fleet.ts: take one job, report, exit.
if (process.send && process.argv.includes('--palisade-sim-worker')) {
  process.once('message', (job: Job) => {
    runJob(job, (m) => process.send!(m)).then(
      () => process.disconnect?.(),
      (e) => {
        process.stderr.write(`palisade-sim worker: ${(e as Error).stack ?? e}\n`);
        process.exit(1);
      },
    );
  });
}
