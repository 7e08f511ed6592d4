import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { installPackage, StateDir, startService, stopService, switchCurrent } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { activateCommand } from './cli.js';
import type { TestManager } from './harness.js';
import { type BuiltPackage, buildAgentPackage } from './netns/agent-package-build.js';
import { waitFor } from './polling.js';

type Upgrade = V['AgentUpgradeList']['agentUpgrades'][number];

/**
 * The two versions an upgrade test goes between, each the single executable `npm run
 * package:agent` builds (cached: built once however many files ask).
 */
export function buildSeaVersions(from: string, to: string): Promise<[BuiltPackage, BuiltPackage]> {
  return Promise.all([buildAgentPackage(from), buildAgentPackage(to)]);
}

/** Puts a package where the manager serves agent packages from (`<data dir>/agent-packages/`). */
export function servePackage(m: TestManager, p: BuiltPackage): void {
  const served = join(m.dataDir, 'agent-packages');
  mkdirSync(served, { recursive: true });
  copyFileSync(p.file, join(served, p.fileName));
}

/** A host with a built agent installed, activated and running (see {@link startSeaHost}). */
export interface SeaHost {
  /** The install folder (`/opt/palisade-agent` on a real host): `versions/<v>/`, `current`. */
  root: string;
  state: StateDir;
  computerId: number;
  /** Stops the agent the pid file names (as on a host without systemd). */
  stop: () => Promise<void>;
}

/**
 * A host as the deployment script leaves it, in temp dirs of `m`: `installed` unpacked under
 * `versions/` and made `current`, activated by that single executable itself (`activate` with the
 * test manager's token and fingerprint, plus `activateArgs`), then started in the background with
 * a pid file as on a host without systemd. `served` is put where the manager serves packages from,
 * so an upgrade to it can be ordered.
 */
export async function startSeaHost(
  m: TestManager,
  o: { installed: BuiltPackage; served: BuiltPackage; activateArgs?: string[] },
): Promise<SeaHost> {
  servePackage(m, o.served);
  const root = m.tempDir('palisade-opt-');
  mkdirSync(join(root, 'versions'));
  installPackage(root, o.installed.file, o.installed.version);
  switchCurrent(root, o.installed.version);
  const state = new StateDir(m.tempDir());
  const executable = join(root, 'current', 'palisade-agent');
  const a = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(executable, activateCommand(m, state.dir, o.activateArgs), { timeout: 60_000 }, (err, _out, stderr) =>
      resolve({ code: err ? 1 : 0, stderr }),
    ),
  );
  assert.equal(a.code, 0, a.stderr);
  startService({ executable, stateDir: state.dir });
  return {
    root,
    state,
    computerId: state.activation().computerId,
    stop: async () => {
      await stopService({ stateDir: state.dir, timeoutMs: 5_000 }).catch(() => {});
    },
  };
}

/** Waits for upgrade `id` of the computer to leave `pending` and `sent`, and returns it as listed. */
export function upgradeOutcome(m: TestManager, computerId: number, id: number, timeoutMs = 120_000): Promise<Upgrade> {
  return waitFor(
    `upgrade ${id} to end`,
    async () =>
      (await m.api('GET', `/api/computers/${computerId}/agentupgrades`))
        .json<V['AgentUpgradeList']>()
        .agentUpgrades.find((u) => u.ID === id && !['pending', 'sent'].includes(u.status)),
    timeoutMs,
    250,
  );
}
