import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ProgressBar } from './progress-bar.js';
import { emptyTally, errorCount, mergeTally, percentile, type Tally } from './tally.js';
import type { Job, WorkerMessage } from './worker.js';

/** What a fleet command did, as printed (`--json` prints exactly this). */
export interface FleetResult {
  command: 'activate' | 'run' | 'listen';
  agents: number;
  processes: number;
  seconds: number;
  /** Successful exchanges (activations for `activate`). */
  ok: number;
  perSecond: number;
  latencyMs: { p50: number | null; p99: number | null; max: number | null };
  errors: Record<string, number>;
  /** TLS sessions resumed vs full handshakes (run only). */
  handshakes: { resumed: number; full: number };
  /** Exchanges by negotiated `PROTOCOL SUITE`. */
  tls: Record<string, number>;
  operations: number;
  /** Times an agent was told "busy" (503, Retry-After) and waited to retry. */
  retriesAfterBusy: number;
  /** Successes in each second since the start: the recovery curve of a storm. */
  timeline: number[];
  /** `listen`: listeners that were open, and when each agent first applied an operation through its own (epoch ms, ascending). */
  listening?: number;
  appliedAt?: number[];
  /** `listen --until-applied N`: when each agent had applied N operations through its listener (epoch ms, ascending). */
  reachedAt?: number[];
}

const WORKER = fileURLToPath(new URL('./worker.js', import.meta.url));

/** Deals `indices` round-robin into `k` slices (each process gets a spread of the fleet). */
export function split<T>(items: T[], k: number): T[][] {
  const out: T[][] = Array.from({ length: k }, () => []);
  for (const [i, x] of items.entries()) out[i % k]!.push(x);
  return out.filter((s) => s.length > 0);
}

/**
 * Runs one job per slice, each in its own process (forked workers: the load generator must not
 * be the bottleneck on a small machine, and processes are what a fleet is), shows progress,
 * and merges what they report. Workers are killed if still alive at `hardStopMs`.
 */
export async function runWorkers(
  jobs: Job[],
  o: {
    label: string;
    total: number | null;
    hardStopMs: number;
    progress: boolean;
    /** `listen`: told once every worker has its listeners open, with how many are. */
    onReady?: (listening: number) => void;
  },
): Promise<FleetResult> {
  const t0 = Date.now();
  const bar = o.progress ? new ProgressBar(o.label, o.total) : null;
  const live = jobs.map(() => emptyTally());
  const finals: Array<Extract<WorkerMessage, { type: 'done' }> | null> = jobs.map(() => null);
  const ready: Array<number | null> = jobs.map(() => null);
  const sum = () => {
    const t = emptyTally();
    for (const x of live) mergeTally(t, x);
    return t;
  };
  const redraw = () => {
    const t = sum();
    const s = (Date.now() - t0) / 1000;
    bar?.update(t.ok, `${(t.ok / Math.max(s, 0.001)).toFixed(1)}/s  errors ${errorCount(t)}  ${s.toFixed(0)} s`);
  };
  const ticker = setInterval(redraw, 250);
  try {
    await Promise.all(
      jobs.map(
        (job, i) =>
          new Promise<void>((resolve, reject) => {
            const child = fork(WORKER, ['--palisade-sim-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
            const kill = setTimeout(() => child.kill('SIGKILL'), Math.max(0, o.hardStopMs - Date.now()));
            child.on('message', (m: WorkerMessage) => {
              live[i] = m.tally;
              if (m.type === 'done') finals[i] = m;
              if (m.type === 'ready') {
                ready[i] = m.listening;
                if (ready.every((n) => n !== null)) o.onReady?.(ready.reduce((a: number, b) => a + (b ?? 0), 0));
              }
            });
            // 'close', not 'exit': it comes only once the IPC channel is read to its end, so a
            // last report still in the channel when the worker exits is not taken for none.
            child.once('close', (code, signal) => {
              clearTimeout(kill);
              if (finals[i]) resolve();
              else reject(new Error(`worker ${i + 1} ended (${signal ?? `exit ${code}`}) before reporting`));
            });
            child.send(job);
          }),
      ),
    );
  } finally {
    clearInterval(ticker);
  }
  const seconds = (Date.now() - t0) / 1000;
  const total: Tally = emptyTally();
  const latencies: number[] = [];
  const timeline: number[] = [];
  const appliedAt: number[] = [];
  const reachedAt: number[] = [];
  for (const f of finals) {
    mergeTally(total, f!.tally);
    for (const t of f!.appliedAt ?? []) appliedAt.push(t);
    for (const t of f!.reachedAt ?? []) reachedAt.push(t);
    for (const l of f!.latencies) latencies.push(l);
    for (const [s, n] of Object.entries(f!.perSecond)) {
      const at = Math.floor((f!.startedAt - t0) / 1000) + Number(s);
      while (timeline.length <= at) timeline.push(0);
      timeline[at]! += n;
    }
  }
  bar?.finish(total.ok, `${(total.ok / seconds).toFixed(1)}/s  errors ${errorCount(total)}  ${seconds.toFixed(1)} s`);
  latencies.sort((a, b) => a - b);
  const round = (x: number | null) => (x === null ? null : Math.round(x * 10) / 10);
  return {
    command: jobs[0]?.kind ?? 'run',
    agents: jobs.reduce((n, j) => n + j.indices.length, 0),
    processes: jobs.length,
    seconds: Math.round(seconds * 100) / 100,
    ok: total.ok,
    perSecond: Math.round((total.ok / seconds) * 10) / 10,
    latencyMs: {
      p50: round(percentile(latencies, 50)),
      p99: round(percentile(latencies, 99)),
      max: round(percentile(latencies, 100)),
    },
    errors: total.errors,
    handshakes: { resumed: total.resumed, full: total.full },
    tls: total.tls,
    operations: total.operations,
    retriesAfterBusy: total.retriesAfterBusy,
    timeline,
    ...(jobs[0]?.kind === 'listen'
      ? {
          listening: ready.reduce((a: number, b) => a + (b ?? 0), 0),
          appliedAt: appliedAt.sort((a, b) => a - b),
          reachedAt: reachedAt.sort((a, b) => a - b),
        }
      : {}),
  };
}

/** The result as lines for a person. */
export function formatResult(r: FleetResult): string {
  const what = r.command === 'activate' ? 'activations' : r.command === 'listen' ? 'calls answered' : 'heartbeats';
  const lines = [
    `${r.ok} ${what} in ${r.seconds} s over ${r.processes} process(es), ${r.agents} agents: ${r.perSecond}/s`,
    `latency ms: p50 ${r.latencyMs.p50 ?? '-'}  p99 ${r.latencyMs.p99 ?? '-'}  max ${r.latencyMs.max ?? '-'}`,
  ];
  if (r.command === 'run') {
    const n = r.handshakes.resumed + r.handshakes.full;
    lines.push(
      `TLS: ${r.handshakes.resumed} resumed, ${r.handshakes.full} full${n ? ` (${Math.round((100 * r.handshakes.resumed) / n)} % resumed)` : ''}; ${Object.entries(
        r.tls,
      )
        .map(([k, v]) => `${k} ×${v}`)
        .join(', ')}`,
    );
    if (r.operations) lines.push(`operations applied: ${r.operations}`);
  }
  if (r.command === 'listen') {
    const at = r.appliedAt ?? [];
    const first = at[0];
    const span = (p: number) => {
      const t = percentile(at, p);
      return t === null || first === undefined ? '-' : `${((t - first) / 1000).toFixed(2)} s`;
    };
    lines.push(
      `listening: ${r.listening ?? 0}; applied an operation through the listener: ${at.length} agents, ${r.operations} operations`,
      `after the first: 50 % ${span(50)}, 99 % ${span(99)}, 100 % ${span(100)}`,
    );
  }
  if (r.retriesAfterBusy) lines.push(`waited after "busy" (503 + Retry-After): ${r.retriesAfterBusy} times`);
  const errors = Object.entries(r.errors);
  lines.push(errors.length === 0 ? 'errors: none' : `errors: ${errors.map(([k, v]) => `${k} ×${v}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}
