import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestManager } from './harness.js';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const MANAGER_BIN = `${REPO_ROOT}packages/manager/bin/palisade-manager.js`;
export const AGENT_BIN = `${REPO_ROOT}packages/agent/bin/palisade-agent.js`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of our CLIs as a real process, as a user would (`npx palisade-…` runs the same file). */
export function runCli(bin: string, args: string[], timeoutMs = 60_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { timeout: timeoutMs, env: { ...process.env, PALISADE_LOG_LEVEL: 'warn' } },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** What `palisade-manager start` prints that a test goes on with; empty or 0 where the banner lacks it. */
export interface BannerFacts {
  /** The first-run admin API key (empty after a restart: it is shown once). */
  apiKey: string;
  /** The REST API's port on 4119's listener (0 when the banner has no REST API line). */
  apiPort: number;
  /** The first-run activation token (empty after a restart). */
  token: string;
  /** The manager CA's `sha256:…` fingerprint. */
  caFingerprint: string;
  /** The printed `palisade-agent activate …` arguments, without `npx palisade-agent` (empty if none). */
  activateArgs: string[];
}

/** Reads the facts a test needs out of the manager's start banner, as an operator reads them. */
export function readBanner(banner: string): BannerFacts {
  const command = /^ {2}npx palisade-agent (activate .*)$/m.exec(banner)?.[1];
  return {
    apiKey: /Admin API key \(shown once, stored hashed\): (\S+)/.exec(banner)?.[1] ?? '',
    apiPort: Number(/REST API:\s+https:\/\/[^:]+:(\d+)\//.exec(banner)?.[1] ?? 0),
    token: /--token (\S+)/.exec(banner)?.[1] ?? '',
    caFingerprint: /--ca-fingerprint (\S+)/.exec(banner)?.[1] ?? '',
    activateArgs: command ? command.split(/\s+/) : [],
  };
}

export interface ManagerProcess extends BannerFacts {
  proc: ChildProcess;
  banner: string;
  stderr: () => string;
  /** Sends SIGTERM and resolves with the exit code once the process has exited. */
  stop: () => Promise<number | null>;
}

/**
 * Starts a manager on loopback as most CLI tests want it: `--hostname localhost --bind 127.0.0.1`,
 * both ports chosen by the system (0), data in `dataDir`, plus `extraArgs`.
 */
export function startLoopbackManager(dataDir: string, extraArgs: string[] = []): Promise<ManagerProcess> {
  return startManagerProcess(loopbackManagerArgs(dataDir, 0, extraArgs));
}

/**
 * The `palisade-manager start` arguments of {@link startLoopbackManager}, with the agent port given
 * (0: chosen by the system), for tests that start the same manager twice or in their own way.
 */
export function loopbackManagerArgs(dataDir: string, heartbeatPort = 0, extraArgs: string[] = []): string[] {
  return [
    '--data-dir',
    dataDir,
    '--hostname',
    'localhost',
    '--bind',
    '127.0.0.1',
    '--api-port',
    '0',
    '--heartbeat-port',
    String(heartbeatPort),
    ...extraArgs,
  ];
}

/** The banner's activation arguments with its `./agent-state` replaced by `stateDir`. */
export function activateArgsFor(mgr: BannerFacts, stateDir: string): string[] {
  return mgr.activateArgs.map((a) => (a === './agent-state' ? stateDir : a));
}

/**
 * `palisade-agent activate` against a test manager as an operator types it: its agent URL, token
 * and CA fingerprint, state in `stateDir`, then `extraArgs` (`--policy`, `--host-name`, …).
 */
export function activateCommand(m: TestManager, stateDir: string, extraArgs: string[] = []): string[] {
  return [
    'activate',
    m.agentUrl,
    '--token',
    m.token,
    '--ca-fingerprint',
    m.manager.caFingerprint,
    '--state-dir',
    stateDir,
    ...extraArgs,
  ];
}

/** A running `palisade-agent start` process, its stderr collected. */
export interface AgentProcess {
  proc: ChildProcess;
  log: () => string;
  /** Sends SIGTERM (if still running) and resolves with the exit code. */
  stop: () => Promise<number | null>;
}

/** Starts `palisade-agent start --state-dir stateDir` as a process, logging at `logLevel` to stderr. */
export function startAgentProcess(stateDir: string, logLevel = 'info'): AgentProcess {
  const proc = spawn(process.execPath, [AGENT_BIN, 'start', '--state-dir', stateDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PALISADE_LOG_LEVEL: logLevel },
  });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  return { proc, log: () => log, stop: () => stopProcess(proc) };
}

function stopProcess(proc: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve(proc.exitCode);
    proc.once('exit', (code) => resolve(code));
    proc.kill('SIGTERM');
  });
}

/**
 * Starts `palisade-manager start` as a process and waits for its banner. Returns the process,
 * the banner text, and a stop function that sends SIGTERM and waits for the exit.
 */
export async function startManagerProcess(
  args: string[],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
  cwd?: string,
): Promise<ManagerProcess> {
  const proc = spawn(process.execPath, [MANAGER_BIN, 'start', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(cwd ? { cwd } : {}),
    env: { ...process.env, PALISADE_LOG_LEVEL: 'warn', ...env },
  });
  let out = '';
  let err = '';
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const banner = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`manager did not start in ${timeoutMs} ms; stderr: ${err}`)),
      timeoutMs,
    );
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/palisade-agent start/.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`manager exited with ${code}: ${err}`));
    });
  });
  return {
    proc,
    banner,
    ...readBanner(banner),
    stderr: () => err,
    stop: () => stopProcess(proc),
  };
}
