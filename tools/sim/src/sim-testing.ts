import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ManagerOptions, type RunningManager, startManager } from '@palisade/manager';
import pino from 'pino';
import { main } from './cli.js';
import type { FleetResult } from './fleet.js';

/** Temp dirs a suite makes as it goes, removed together by `removeAll` in its `after`. */
export function tempDirs() {
  const dirs: string[] = [];
  return {
    make(prefix: string): string {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    removeAll(): void {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    },
  };
}

/**
 * A manager in this process for the simulator's tests: loopback, both ports chosen by the system,
 * the product's 10-minute interval, logs silent unless PALISADE_TEST_LOG is set; `o` adds to or
 * replaces any of these.
 */
export function startTestManager(dataDir: string, o: Partial<ManagerOptions> = {}): Promise<RunningManager> {
  return startManager({
    dataDir,
    hostnames: ['localhost'],
    apiPort: 0,
    heartbeatPort: 0,
    bindAddress: '127.0.0.1',
    heartbeatIntervalSeconds: 600,
    logger: pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' }),
    ...o,
  });
}

/**
 * Runs `palisade-sim` in this process (its workers are real processes) with `--json
 * --no-progress`, asserts it exited 0, and returns its result; `onStderr` sees each line as it comes.
 */
export async function simJson(args: string[], onStderr: (s: string) => void = () => {}): Promise<FleetResult> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--json', '--no-progress'], {
    stdout: (s) => (stdout += s),
    stderr: (s) => {
      stderr += s;
      onStderr(s);
    },
  });
  assert.equal(code, 0, stderr);
  return JSON.parse(stdout) as FleetResult;
}

/** `palisade-sim activate` of `count` agents into `dir`, against `manager` with `token`. */
export function activateArgs(manager: RunningManager, token: string, count: number, dir: string): string[] {
  return [
    'activate',
    `dsm://localhost:${manager.heartbeatPort}/`,
    '--token',
    token,
    '--ca-fingerprint',
    manager.caFingerprint,
    '--count',
    String(count),
    '--dir',
    dir,
  ];
}
