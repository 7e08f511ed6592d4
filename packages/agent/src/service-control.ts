import { spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AGENT_INSTALL } from '@palisade/protocol';
import { AgentError } from './agent-error.js';

/** How the installed agent runs on this host. */
export type ServiceManager = 'systemd' | 'pidfile' | 'launchd';

/**
 * systemd is the service manager only when it booted the host: sd_booted(3) tests for
 * /run/systemd/system. In containers and most CI runners it did not, and `systemctl` would
 * talk to nothing (or to another namespace's systemd): there the agent runs in the background
 * with a pid file instead.
 */
export function serviceManager(): ServiceManager {
  if (process.platform === 'darwin') return 'launchd';
  return existsSync('/run/systemd/system') && existsSync(AGENT_INSTALL.unitFile) ? 'systemd' : 'pidfile';
}

const PID_FILE = 'palisade-agent.pid';
const LOG_FILE = 'palisade-agent.log';

/** The executable the service starts: whatever `current` points at. */
export const CURRENT_EXECUTABLE = join(AGENT_INSTALL.root, 'current', 'palisade-agent');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0)
    throw new AgentError(
      'SERVICE_FAILED',
      `${cmd} ${args.join(' ')}: ${r.error?.message ?? (r.stderr.trim() || `exit ${r.status}`)}`,
    );
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pid in the pid file when that process is alive and is an agent (`/proc/PID/cmdline`); else null. */
export function runningPid(stateDir: string = AGENT_INSTALL.stateDir): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(stateDir, PID_FILE), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isAlive(pid)) return null;
  try {
    // A recycled pid must not be killed by mistake: the process must be an agent's `start`.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmdline.some((a) => a.endsWith('palisade-agent') || a.endsWith('palisade-agent.js'))) return null;
    if (!cmdline.includes('start')) return null;
  } catch {
    return null;
  }
  return pid;
}

/**
 * Starts the installed agent (`current/palisade-agent start`). Under systemd, `systemctl
 * start`; elsewhere a detached process whose output goes to the log file in the state
 * directory, its pid in the pid file. Starting what already runs changes nothing.
 */
export function startService(o: { executable?: string; stateDir?: string } = {}): {
  manager: ServiceManager;
  pid?: number;
} {
  const manager = serviceManager();
  if (manager === 'systemd') {
    run('systemctl', ['start', AGENT_INSTALL.service]);
    return { manager };
  }
  if (manager === 'launchd') {
    run('launchctl', ['kickstart', `system/${AGENT_INSTALL.launchdLabel}`]);
    return { manager };
  }
  const stateDir = o.stateDir ?? AGENT_INSTALL.stateDir;
  const already = runningPid(stateDir);
  if (already) return { manager, pid: already };
  const log = openSync(join(stateDir, LOG_FILE), 'a', 0o600);
  const child = spawn(o.executable ?? CURRENT_EXECUTABLE, ['start', '--state-dir', stateDir], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  if (!child.pid) throw new AgentError('SERVICE_FAILED', `could not start ${o.executable ?? CURRENT_EXECUTABLE}`);
  writeFileSync(join(stateDir, PID_FILE), `${child.pid}\n`, { mode: 0o600 });
  child.unref();
  return { manager, pid: child.pid };
}

/**
 * Stops the agent: `systemctl stop`, or SIGTERM to the pid file's process and SIGKILL if it has
 * not stopped within `timeoutMs` (it sends its stop notice first: daemon.ts). Stopping what does
 * not run changes nothing.
 */
export async function stopService(
  o: { stateDir?: string; timeoutMs?: number } = {},
): Promise<{ manager: ServiceManager; stopped: boolean }> {
  const manager = serviceManager();
  if (manager === 'systemd') {
    run('systemctl', ['stop', AGENT_INSTALL.service]);
    return { manager, stopped: true };
  }
  if (manager === 'launchd') {
    run('launchctl', ['bootout', `system/${AGENT_INSTALL.launchdLabel}`]);
    return { manager, stopped: true };
  }
  const stateDir = o.stateDir ?? AGENT_INSTALL.stateDir;
  const pid = runningPid(stateDir);
  rmSync(join(stateDir, PID_FILE), { force: true });
  if (!pid) return { manager, stopped: false };
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + (o.timeoutMs ?? 20_000);
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  return { manager, stopped: true };
}

export async function restartService(
  o: { executable?: string; stateDir?: string } = {},
): Promise<{ manager: ServiceManager }> {
  if (serviceManager() === 'systemd') {
    run('systemctl', ['restart', AGENT_INSTALL.service]);
    return { manager: 'systemd' };
  }
  await stopService(o.stateDir ? { stateDir: o.stateDir } : {});
  return startService(o);
}
