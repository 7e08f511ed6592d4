import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

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

/**
 * Starts `palisade-manager start` as a process and waits for its banner. Returns the process,
 * the banner text, and a stop function that sends SIGTERM and waits for the exit.
 */
export async function startManagerProcess(
  args: string[],
  timeoutMs = 60_000,
  env: Record<string, string> = {},
  cwd?: string,
): Promise<{ proc: ChildProcess; banner: string; stderr: () => string; stop: () => Promise<number | null> }> {
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
    stderr: () => err,
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.once('exit', (code) => resolve(code));
        proc.kill('SIGTERM');
      }),
  };
}
