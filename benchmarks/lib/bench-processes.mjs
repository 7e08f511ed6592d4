// Processes the end-to-end benchmarks start and read: the manager, palisade-sim, a server of
// their own. Every child is tracked so `stopAll` ends them whatever happened.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../../', import.meta.url));
export const managerBin = join(root, 'packages/manager/bin/palisade-manager.js');
export const simBin = join(root, 'tools/sim/bin/palisade-sim.js');
export const hz = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

const children = new Set();

/** Starts a process; resolves with it and the first stdout line matching `ready` (60 s at most). */
export function start(cmd, args, ready, label) {
  const child = spawn(cmd, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PALISADE_LOG_LEVEL: 'warn' },
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

/** Starts `palisade-manager start` on `dataDir` and waits for its banner. */
export async function startManager(dataDir, extra = []) {
  const m = await start(
    process.execPath,
    [
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
    ],
    /CA fingerprint: (\S+)/,
    'manager',
  );
  await new Promise((r) => setTimeout(r, 300));
  const all = m.lines.join('\n');
  return { child: m.child, pid: m.child.pid, fingerprint: m.match[1], endpoint: all.match(/dsm:\/\/\S+/)[0] };
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
