// Processes the end-to-end benchmarks start and read: the manager, palisade-sim, a server of
// their own. Every child is tracked so `stopAll` ends them whatever happened.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const managerBin = join(root, 'packages/manager/bin/palisade-manager.js');
export const simBin = join(root, 'tools/sim/bin/palisade-sim.js');
export const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const children = new Set();

/**
 * Starts a process; resolves with it and the first stdout line matching `ready` (60 s at most).
 * `env` adds to this process's environment.
 */
export function start(cmd, args, ready, label, env = {}) {
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PALISADE_LOG_LEVEL: 'warn', ...env },
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let err = '';
  child.stderr.on('data', (c) => {
    err = (err + c).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  const seen = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start in 60 s\n${err}`)), 60_000);
    lines.on('line', (l) => {
      seen.push(l);
      const m = l.match(ready);
      if (m) {
        clearTimeout(timer);
        resolve({ child, match: m, lines: seen });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${label} exited (${code})\n${err}`));
    });
  });
}

/** `palisade-manager start` on `dataDir`, on loopback with a free API port, and `extra` options. */
const managerArgs = (dataDir, extra) => [
  managerBin,
  'start',
  '--data-dir',
  dataDir,
  '--hostname',
  'localhost',
  '--api-port',
  '0',
  '--bind',
  '127.0.0.1',
  ...extra,
];

/** Starts `palisade-manager start` on `dataDir` and waits for its banner. */
export async function startManager(dataDir, extra = []) {
  const m = await start(process.execPath, managerArgs(dataDir, extra), /CA fingerprint: (\S+)/, 'manager');
  await new Promise((r) => setTimeout(r, 300));
  const all = m.lines.join('\n');
  return { child: m.child, pid: m.child.pid, fingerprint: m.match[1], endpoint: all.match(/dsm:\/\/\S+/)[0] };
}

/** Whether strace is installed: the measured manager's fsyncs are counted with it. */
export const hasStrace = (() => {
  try {
    execFileSync('strace', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/**
 * Starts `palisade-manager start` on `dataDir` (loopback, free ports, `extra` options) and waits
 * for its banner. Under strace when installed: only fsync/fdatasync stop the process
 * (--seccomp-bpf), so counting them costs nothing on any other system call; `fsyncs()` is the
 * count so far (null without strace). `cpuProf`: a directory for a V8 CPU profile of the manager
 * (node --cpu-prof), written as it exits. `sqlTiming`: a file; the manager then times its SQLite
 * calls (sql-timing.cjs) and `sqlTimes()` reads the totals so far. `pid` is the manager's own, for
 * /proc; `stop()` ends it by that PID (strace detaches on SIGTERM and would leave it running) and
 * waits for it to exit.
 */
export async function startMeasuredManager(dataDir, { extra = [], cpuProf, fsyncLog, sqlTiming } = {}) {
  const args = [
    ...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', cpuProf] : []),
    ...(sqlTiming ? ['--require', join(root, 'benchmarks/lib/sql-timing.cjs')] : []),
    ...managerArgs(dataDir, ['--heartbeat-port', '0', ...extra]),
  ];
  const env = sqlTiming ? { PALISADE_BENCH_SQL_TIMING: sqlTiming } : {};
  const traced = hasStrace && fsyncLog;
  const m = traced
    ? await start(
        'strace',
        ['-f', '--seccomp-bpf', '-qq', '-e', 'trace=fsync,fdatasync', '-o', fsyncLog, process.execPath, ...args],
        /CA fingerprint: (\S+)/,
        'manager',
        env,
      )
    : await start(process.execPath, args, /CA fingerprint: (\S+)/, 'manager', env);
  await new Promise((r) => setTimeout(r, 300));
  const all = m.lines.join('\n');
  const pid = traced
    ? Number(readFileSync(`/proc/${m.child.pid}/task/${m.child.pid}/children`, 'utf8').trim().split(/\s+/)[0])
    : m.child.pid;
  return {
    child: m.child,
    pid,
    fingerprint: m.match[1],
    endpoint: all.match(/dsm:\/\/\S+/)[0],
    apiPort: Number(all.match(/REST API: +https:\/\/[^:]+:(\d+)\//)[1]),
    apiKey: all.match(/Admin API key \(shown once, stored hashed\): (\S+)/)?.[1] ?? null,
    fsyncs: () =>
      traced && existsSync(fsyncLog)
        ? readFileSync(fsyncLog, 'utf8')
            .split('\n')
            .filter((l) => /f(data)?sync\(/.test(l)).length
        : null,
    /**
     * The manager's SQLite calls so far, by statement: `{ text: [calls, ms] }` (null without
     * `sqlTiming`). Asks with SIGUSR2 and waits up to 5 s for the answer.
     */
    async sqlTimes() {
      if (!sqlTiming) return null;
      const seqOf = () => (existsSync(sqlTiming) ? JSON.parse(readFileSync(sqlTiming, 'utf8')).seq : 0);
      const before = seqOf();
      process.kill(pid, 'SIGUSR2');
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        if (seqOf() > before) return JSON.parse(readFileSync(sqlTiming, 'utf8')).statements;
      }
      throw new Error('the manager did not write its SQL timings in 5 s');
    },
    async stop() {
      if (!existsSync(`/proc/${pid}`)) return;
      process.kill(pid, 'SIGTERM');
      // The CPU profile is written as the manager exits: 30 s at most.
      for (let i = 0; existsSync(`/proc/${pid}`) && i < 300; i++) await new Promise((r) => setTimeout(r, 100));
    },
  };
}

/** A JSON request to the manager's REST API on loopback with its API key; resolves with status and parsed body. */
export function api(m, method, path, body) {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: m.apiPort,
        method,
        path,
        // The manager's own server certificate on loopback: the benchmark trusts what it started.
        rejectUnauthorized: false,
        headers: {
          'api-secret-key': m.apiKey,
          'api-version': 'v1',
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          let json = null;
          try {
            json = JSON.parse(text);
          } catch {}
          if ((res.statusCode ?? 0) >= 400) reject(new Error(`${method} ${path}: HTTP ${res.statusCode} ${text}`));
          else resolve(json);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Stops a process with SIGTERM and waits for it to exit (SIGKILL after 10 s). */
export function stop(child) {
  if (child.exitCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** An unlimited activation token for the Base Policy, from the manager's CLI. */
export function unlimitedToken(dataDir) {
  return execFileSync(
    process.execPath,
    [managerBin, 'token', 'create', '--data-dir', dataDir, '--policy', 'Base Policy', '--uses', 'unlimited'],
    { stdio: ['ignore', 'pipe', 'ignore'] },
  )
    .toString()
    .trim();
}

/** Runs palisade-sim with `--json` and resolves with its result. */
export function sim(args) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [simBin, ...args, '--json', '--no-progress'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.add(child);
    let out = '';
    child.stdout.on('data', (c) => {
      out += c;
    });
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) reject(new Error(`palisade-sim ${args[0]} exited ${code}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
}

/**
 * Activates `count` simulated agents into `dir` with `palisade-sim activate` against the manager `m`
 * (from startManager / startMeasuredManager) and resolves with its JSON result. `extra` adds sim
 * options such as `--listen-port`, `--key-type` or `--timeout`.
 */
export function activateFleet(m, token, { count, dir, processes = 2, concurrency = 16, extra = [] }) {
  return sim([
    'activate',
    m.endpoint,
    '--token',
    token,
    '--ca-fingerprint',
    m.fingerprint,
    '--count',
    String(count),
    '--dir',
    dir,
    '--processes',
    String(processes),
    '--concurrency',
    String(concurrency),
    ...extra,
  ]);
}

/**
 * Runs `palisade-sim listen` with `--json`: `ready` resolves when it says every listener is open
 * (its "N agents listening" line), `result` with its JSON at the end.
 */
export function simListen(args) {
  const child = spawn(process.execPath, [simBin, 'listen', ...args, '--json', '--no-progress'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  let ready = () => {};
  const whenReady = new Promise((resolve) => (ready = resolve));
  child.stderr.on('data', (c) => {
    err = (err + c).slice(-4000);
    if (/agents listening/.test(err)) ready();
  });
  const result = new Promise((resolve, reject) => {
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) reject(new Error(`palisade-sim listen exited ${code}\n${err}`));
      else resolve(JSON.parse(out.trim().split('\n').at(-1)));
    });
  });
  return {
    child,
    ready: Promise.race([whenReady, result.then(() => Promise.reject(new Error('listen ended before it was ready')))]),
    result,
  };
}

/** A process's CPU ticks (user + system) from /proc. */
export function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** A process's resident memory, MB. */
export function rssMb(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/);
  return m ? Number(m[1]) / 1024 : 0;
}

/** Ends every process started here: SIGTERM, then SIGKILL to what is left. */
export async function stopAll() {
  for (const c of children) c.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 500));
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
}
