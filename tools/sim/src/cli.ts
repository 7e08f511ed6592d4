import { availableParallelism } from 'node:os';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { fetchPinnedCa, formatManagerUrl, normalizeFingerprint, parseManagerUrl } from '@palisade/agent';
import { type FleetResult, formatResult, runWorkers, split } from './fleet.js';
import { Identities } from './identities.js';
import { checkTarget } from './target-guard.js';
import type { ActivateJob, ListenJob, RunJob } from './worker.js';

/** Bounds on every load this tool makes: it must stop by itself. */
export const LIMITS = { agents: 100_000, seconds: 3_600, processes: 32, concurrency: 1_024 } as const;

const HELP = `palisade-sim — a fleet of simulated Palisade agents (real TLS, the agent's own client code)

Usage:
  palisade-sim activate dsm://HOST:PORT/ --token TOKEN --ca-fingerprint sha256:HEX --count N
               --dir DIR [--key-type ecdsa|rsa] [--host-prefix NAME] [--processes K]
               [--concurrency C] [--timeout SECONDS] [--listen-port P] [--json] [--no-progress]
      Activate N agents, each with its own key (generated here), host identity and certificate,
      and keep their identities in DIR (0600) for later runs; a DIR that already holds agents
      grows. Each keeps the continuity token the manager issues, as a real agent does, and
      presents it at every exchange ("run", "listen"): the manager rotates it each time. Prints
      activations/s and latency. The token must allow N uses ("--uses unlimited").
      --listen-port P: each agent announces a listener on its own loopback address
      (127.64.0.0/10, one per agent) and port P, where "listen" opens it.
  palisade-sim run --dir DIR --duration SECONDS [--interval SECONDS] [--concurrency C]
               [--processes K] [--agents N] [--max-heartbeats N] [--no-resume]
               [--events-per-heartbeat N] [--json] [--no-progress]
      Heartbeat with the agents in DIR: each exchange is a new TLS connection, the report, and
      the operations' results on the same connection. Without --interval, back to back with C
      exchanges in flight (capacity); with it, each agent every SECONDS (jittered ±10 %, first at
      a random point), at most C in flight. TLS sessions are resumed unless --no-resume.
      Prints heartbeats/s, latency p50/p99, handshakes resumed/full and errors by kind.
      --reconnect-storm: every agent once, all at the same moment (C in flight per process),
      each retrying while the manager answers 503 "busy" (its Retry-After, backoff, jitter);
      the timeline (heartbeats per second, --json) is the recovery curve.
      Activation retries "busy" the same way.
  palisade-sim listen --dir DIR --duration SECONDS [--agents N] [--processes K]
               [--listen-port P] [--direction bidirectional|manager-initiated]
               [--until-applied N] [--concurrency C] [--json] [--no-progress]
      Each agent opens its listening port with the agent's own listener code (mutual TLS, only
      the manager's dialer accepted) where it announced one at activation, else on its own
      loopback address and port P (default 0: any free one), which it then announces by one
      heartbeat (C in flight per process). Once all are open it prints "palisade-sim: N agents
      listening" on standard error, then answers the manager's calls (report, then operations,
      applied by taking their fingerprint) until SECONDS pass or, with --until-applied N, every
      agent applied N operations through its listener. Prints calls/s, latency, and the time
      from the first agent that applied an operation to 50/99/100 % of them (--json: "appliedAt",
      epoch ms per agent, and "reachedAt": when each had applied N).

Defaults: --processes = cores (${availableParallelism()}), --concurrency 16 (per process),
--key-type ecdsa, --host-prefix sim, --timeout 600.
Bounds: at most ${LIMITS.agents} agents, ${LIMITS.seconds} s, ${LIMITS.processes} processes, ${LIMITS.concurrency} in flight per process.
Targets: the manager must resolve to loopback (127.0.0.0/8, ::1) or a test namespace
address (198.18.0.0/15); anything else is refused.
Exit codes: 0 success (errors are counted, not fatal), 1 failure, 2 usage error.
`;

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };
const defaultOut: Out = { stdout: (s) => process.stdout.write(s), stderr: (s) => process.stderr.write(s) };

class UsageError extends Error {}

function parse(cmd: string, args: string[], opts: NonNullable<ParseArgsConfig['options']>, positionals = 0) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: {
        dir: { type: 'string' },
        processes: { type: 'string' },
        concurrency: { type: 'string' },
        json: { type: 'boolean' },
        'no-progress': { type: 'boolean' },
        ...opts,
      },
      strict: true,
      allowPositionals: positionals > 0,
    });
  } catch (e) {
    throw new UsageError(`${cmd}: ${(e as Error).message.split('\n')[0]} (see --help)`);
  }
  if (parsed.positionals.length > positionals)
    throw new UsageError(`${cmd}: unexpected argument "${parsed.positionals[positionals]}"`);
  return { values: parsed.values as Record<string, string | boolean | undefined>, positionals: parsed.positionals };
}

function int(
  cmd: string,
  name: string,
  v: string | boolean | undefined,
  dflt: number | null,
  min: number,
  max: number,
) {
  if (v === undefined) {
    if (dflt === null) throw new UsageError(`${cmd}: --${name} is required`);
    return dflt;
  }
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < min || n > max)
    throw new UsageError(`${cmd}: --${name} takes a whole number from ${min} to ${max}`);
  return n;
}

function common(cmd: string, v: Record<string, string | boolean | undefined>) {
  const dir = v.dir;
  if (typeof dir !== 'string' || !dir) throw new UsageError(`${cmd}: --dir DIR is required`);
  return {
    dir,
    processes: int(cmd, 'processes', v.processes, availableParallelism(), 1, LIMITS.processes),
    concurrency: int(cmd, 'concurrency', v.concurrency, 16, 1, LIMITS.concurrency),
    json: v.json === true,
    progress: v['no-progress'] !== true,
  };
}

function print(out: Out, r: FleetResult, json: boolean) {
  out.stdout(json ? `${JSON.stringify(r)}\n` : formatResult(r));
}

export async function main(argv: string[], out: Out = defaultOut): Promise<number> {
  try {
    const [cmd, ...rest] = argv;
    if (!cmd || cmd === '--help' || cmd === '-h' || cmd === 'help') {
      out.stdout(HELP);
      return cmd ? 0 : 2;
    }
    if (cmd === 'activate') return await activateCommand(rest, out);
    if (cmd === 'run') return await runCommand(rest, out);
    if (cmd === 'listen') return await listenCommand(rest, out);
    throw new UsageError(`unknown command "${cmd}" (see --help)`);
  } catch (e) {
    if (e instanceof UsageError) {
      out.stderr(`palisade-sim: ${e.message}\n`);
      return 2;
    }
    out.stderr(`palisade-sim: ${(e as Error).message}\n`);
    return 1;
  }
}

async function activateCommand(args: string[], out: Out): Promise<number> {
  const { values: v, positionals } = parse(
    'activate',
    args,
    {
      token: { type: 'string' },
      'ca-fingerprint': { type: 'string' },
      count: { type: 'string' },
      'key-type': { type: 'string' },
      'host-prefix': { type: 'string' },
      timeout: { type: 'string' },
      'listen-port': { type: 'string' },
    },
    1,
  );
  const c = common('activate', v);
  if (!positionals[0]) throw new UsageError('activate: the manager address dsm://HOST:PORT/ is required');
  let manager: ReturnType<typeof parseManagerUrl>;
  try {
    manager = parseManagerUrl(positionals[0]);
  } catch (e) {
    throw new UsageError(`activate: ${(e as Error).message}`);
  }
  if (typeof v.token !== 'string') throw new UsageError('activate: --token is required');
  const fingerprint = normalizeFingerprint(String(v['ca-fingerprint'] ?? ''));
  if (!fingerprint) throw new UsageError('activate: --ca-fingerprint sha256:HEX is required');
  const count = int('activate', 'count', v.count, null, 1, LIMITS.agents);
  const keyType = v['key-type'] ?? 'ecdsa';
  if (keyType !== 'ecdsa' && keyType !== 'rsa') throw new UsageError('activate: --key-type is ecdsa or rsa');
  const hostPrefix = typeof v['host-prefix'] === 'string' ? v['host-prefix'] : 'sim';
  if (!/^[A-Za-z0-9-]{1,40}$/.test(hostPrefix))
    throw new UsageError('activate: --host-prefix takes letters, digits and -');
  const timeout = int('activate', 'timeout', v.timeout, 600, 1, LIMITS.seconds);
  const listenPort =
    v['listen-port'] === undefined ? undefined : int('activate', 'listen-port', v['listen-port'], null, 1, 65535);

  await checkTarget(manager.host);
  const identities = new Identities(c.dir);
  const existing = identities.indices();
  if (existing.length + count > LIMITS.agents)
    throw new UsageError(`activate: ${c.dir} holds ${existing.length} agents; at most ${LIMITS.agents} in all`);
  const ca = await fetchPinnedCa(manager, fingerprint);
  identities.saveFleet({ manager: formatManagerUrl(manager), ca, caFingerprint: fingerprint, keyType });
  const first = (existing.at(-1) ?? 0) + 1;
  const indices = Array.from({ length: count }, (_, i) => first + i);
  const deadline = Date.now() + timeout * 1000;
  const jobs: ActivateJob[] = split(indices, c.processes).map((slice) => ({
    kind: 'activate',
    dir: identities.dir,
    manager: formatManagerUrl(manager),
    ca,
    token: v.token as string,
    keyType,
    hostPrefix,
    indices: slice,
    concurrency: c.concurrency,
    deadline,
    ...(listenPort !== undefined ? { listenPort } : {}),
  }));
  const r = await runWorkers(jobs, {
    label: 'activating',
    total: count,
    hardStopMs: deadline + 60_000,
    progress: c.progress,
  });
  print(out, r, c.json);
  return 0;
}

async function runCommand(args: string[], out: Out): Promise<number> {
  const { values: v } = parse('run', args, {
    duration: { type: 'string' },
    interval: { type: 'string' },
    agents: { type: 'string' },
    'max-heartbeats': { type: 'string' },
    'no-resume': { type: 'boolean' },
    'events-per-heartbeat': { type: 'string' },
    'reconnect-storm': { type: 'boolean' },
  });
  const c = common('run', v);
  const duration = int('run', 'duration', v.duration, null, 1, LIMITS.seconds);
  const interval = v.interval === undefined ? null : int('run', 'interval', v.interval, null, 1, LIMITS.seconds);
  const identities = new Identities(c.dir);
  const fleet = identities.fleet();
  await checkTarget(parseManagerUrl(fleet.manager).host);
  let indices = identities.indices();
  if (indices.length === 0) throw new Error(`${c.dir} holds no activated agents`);
  if (v.agents !== undefined) indices = indices.slice(0, int('run', 'agents', v.agents, null, 1, LIMITS.agents));
  const maxHeartbeats = int('run', 'max-heartbeats', v['max-heartbeats'], 10_000_000, 1, 10_000_000);
  const slices = split(indices, c.processes);
  const deadline = Date.now() + duration * 1000;
  const jobs: RunJob[] = slices.map((slice, i) => ({
    kind: 'run',
    dir: identities.dir,
    indices: slice,
    concurrency: c.concurrency,
    deadline,
    // The bound shared out: worker i takes its part, the first ones the remainder.
    maxHeartbeats: Math.floor(maxHeartbeats / slices.length) + (i < maxHeartbeats % slices.length ? 1 : 0),
    resume: v['no-resume'] !== true,
    eventsPerHeartbeat: int('run', 'events-per-heartbeat', v['events-per-heartbeat'], 0, 0, 500),
    intervalSeconds: interval,
    storm: v['reconnect-storm'] === true,
  }));
  const r = await runWorkers(jobs, {
    label: 'heartbeats',
    total: null,
    hardStopMs: deadline + 60_000,
    progress: c.progress,
  });
  print(out, r, c.json);
  return 0;
}

async function listenCommand(args: string[], out: Out): Promise<number> {
  const { values: v } = parse('listen', args, {
    duration: { type: 'string' },
    agents: { type: 'string' },
    'listen-port': { type: 'string' },
    direction: { type: 'string' },
    'until-applied': { type: 'string' },
  });
  const c = common('listen', v);
  const duration = int('listen', 'duration', v.duration, null, 1, LIMITS.seconds);
  const port = int('listen', 'listen-port', v['listen-port'], 0, 0, 65535);
  const direction = v.direction ?? 'bidirectional';
  if (direction !== 'bidirectional' && direction !== 'manager-initiated')
    throw new UsageError('listen: --direction is bidirectional or manager-initiated');
  const untilApplied = int('listen', 'until-applied', v['until-applied'], 0, 0, 1_000);
  const identities = new Identities(c.dir);
  const fleet = identities.fleet();
  await checkTarget(parseManagerUrl(fleet.manager).host);
  let indices = identities.indices();
  if (indices.length === 0) throw new Error(`${c.dir} holds no activated agents`);
  if (v.agents !== undefined) indices = indices.slice(0, int('listen', 'agents', v.agents, null, 1, LIMITS.agents));
  const deadline = Date.now() + duration * 1000;
  const jobs: ListenJob[] = split(indices, c.processes).map((slice) => ({
    kind: 'listen',
    dir: identities.dir,
    indices: slice,
    concurrency: c.concurrency,
    deadline,
    port,
    direction,
    untilApplied,
  }));
  const r = await runWorkers(jobs, {
    label: 'calls',
    total: null,
    hardStopMs: deadline + 60_000,
    progress: c.progress,
    // Always said, progress or not: it is what a script waits for before changing a policy.
    onReady: (n) => out.stderr(`palisade-sim: ${n} agents listening\n`),
  });
  print(out, r, c.json);
  return 0;
}
