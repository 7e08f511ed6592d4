import { execFileSync, spawn } from 'node:child_process';
import {
  accessSync,
  constants,
  lstatSync,
  mkdirSync,
  openSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  AGENT_PACKAGE_FILE,
  AGENT_PATHS,
  AGENT_UPGRADE_EVENT,
  packageArchOf,
  type UpgradeOrder,
  type UpgradeOutcome,
} from '@palisade/protocol';
import type { Logger } from 'pino';
import { AGENT_VERSION } from './agent-version.js';
import { downloadFromManager } from './manager-client.js';
import { restartService, serviceManager } from './service-control.js';
import type { StateDir, UpgradeRecord } from './state-dir.js';

/**
 * Upgrades from the manager (docs/deployment.md "Upgrades"). The running agent downloads the
 * package over its own mutual TLS, checks its SHA-256, unpacks it beside the running version
 * (`<root>/versions/<version>/`), writes `upgrade.json`, switches `<root>/current` with one
 * rename(2) and hands over to a watcher: the OLD version's executable, run detached, which
 * restarts the service on the new version and waits for it to heartbeat. If it does not within
 * the bound, the watcher switches `current` back, restarts the old version and records why; the
 * old version reports the rollback to the manager. The new version confirms by itself after its
 * first heartbeat.
 */

/** How long a new version has to heartbeat before it is rolled back, by default. */
export const DEFAULT_UPGRADE_CONFIRM_SECONDS = 120;
/** `PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS` overrides it (5–3600), e.g. in a systemd drop-in. */
export function upgradeConfirmSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const v = Number(env.PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS);
  return Number.isInteger(v) && v >= 5 && v <= 3600 ? v : DEFAULT_UPGRADE_CONFIRM_SECONDS;
}
/**
 * The confirmation window of an upgrade ordered through an exchange: the configured one, but
 * for an agent that only listens (Manager Initiated) at least two heartbeat intervals and 30 s,
 * since its new version confirms when the manager next calls, once an interval.
 */
export function confirmSecondsFor(heartbeatsItself: boolean, heartbeatIntervalSeconds: number): number {
  const configured = upgradeConfirmSeconds();
  return heartbeatsItself ? configured : Math.max(configured, 2 * heartbeatIntervalSeconds + 30);
}
/** State directories whose agent is downloading or installing an upgrade now (in this process). */
const underWay = new Set<string>();
/** A package is about 35 MiB; anything far beyond is not one. */
const MAX_PACKAGE_BYTES = 512 * 1024 * 1024;

/**
 * The install folder this executable runs from — `<root>/versions/<v>/palisade-agent` with
 * `<root>/current` a symbolic link — or null (a checkout, `node bin/palisade-agent.js`): only an
 * installed agent can upgrade itself.
 */
export function installRootOf(executable: string = process.execPath): string | null {
  const versions = dirname(dirname(executable));
  if (basename(versions) !== 'versions' || basename(executable) !== 'palisade-agent') return null;
  const root = dirname(versions);
  try {
    return lstatSync(join(root, 'current')).isSymbolicLink() ? root : null;
  } catch {
    return null;
  }
}

/** The version folder `current` points at (`versions/<v>` → `<v>`), or null. */
export function currentVersionDir(root: string): string | null {
  try {
    return basename(readlinkSync(join(root, 'current')));
  } catch {
    return null;
  }
}

/** Points `current` at `versions/<dir>`: a new link renamed over the old one, so it is one step (rename(2)). */
export function switchCurrent(root: string, dir: string): void {
  const tmp = join(root, `.current-${process.pid}-${Date.now()}`);
  symlinkSync(join('versions', dir), tmp);
  renameSync(tmp, join(root, 'current'));
}

/**
 * Unpacks a package beside the installed versions: every entry must sit under its top folder
 * `palisade-agent-<version>/` (nothing else is written), and `palisade-agent` must be executable.
 * It appears as `versions/<version>` only when whole.
 */
export function installPackage(root: string, tarball: string, version: string): void {
  const prefix = `palisade-agent-${version}/`;
  const entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 })
    .split('\n')
    .filter(Boolean);
  const stray = entries.find((e) => !e.startsWith(prefix) || e.split('/').includes('..'));
  if (entries.length === 0 || stray !== undefined)
    throw new Error(`the package holds "${stray ?? '(nothing)'}", outside its folder ${prefix}`);
  const versions = join(root, 'versions');
  const partial = join(versions, `.partial-${version}-${process.pid}`);
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true, mode: 0o755 });
  try {
    execFileSync('tar', ['-xzf', tarball, '-C', partial, '--strip-components=1', '--no-same-owner'], {
      stdio: 'pipe',
    });
    accessSync(join(partial, 'palisade-agent'), constants.X_OK);
  } catch (e) {
    rmSync(partial, { recursive: true, force: true });
    throw new Error(`could not unpack the package: ${(e as Error).message.split('\n')[0]}`);
  }
  const final = join(versions, version);
  rmSync(final, { recursive: true, force: true });
  renameSync(partial, final);
}

/** Spools the outcome for the manager (`AGENT_UPGRADE_EVENT`). */
function report(
  state: StateDir,
  u: { id: number; from: string; to: string },
  outcome: UpgradeOutcome,
  reason?: string,
): void {
  state.spool().append({
    type: AGENT_UPGRADE_EVENT,
    severity: outcome === 'succeeded' ? 'info' : 'error',
    message:
      outcome === 'succeeded'
        ? `agent upgraded from ${u.from} to ${u.to}`
        : `agent upgrade from ${u.from} to ${u.to} ${outcome === 'failed' ? 'failed' : 'rolled back'}: ${reason}`,
    data: { upgradeId: u.id, outcome, from: u.from, to: u.to, ...(reason ? { reason } : {}) },
  });
}

export interface StartUpgradeOptions {
  logger: Logger;
  /** The install folder; default the one this executable runs from. */
  root?: string | null;
  confirmWithinSeconds?: number;
}

/**
 * Acts on an upgrade order from a heartbeat reply: installs the version beside this one, switches
 * and starts the watcher. Anything that stops it before the switch is reported `failed` with the
 * reason and changes nothing that runs. Returns what happened, for the log.
 */
export async function startUpgrade(
  state: StateDir,
  order: UpgradeOrder,
  o: StartUpgradeOptions,
): Promise<'switched' | 'failed' | 'busy'> {
  const u = { id: order.id, from: AGENT_VERSION, to: order.version };
  const failed = (reason: string) => {
    report(state, u, 'failed', reason);
    o.logger.error({ upgradeId: order.id, to: order.version }, `agent upgrade failed: ${reason}`);
    return 'failed' as const;
  };
  // An order sent again (its first reply may have been lost) while this one is under way.
  if (state.upgrade() || underWay.has(state.dir)) return 'busy';
  if (order.version === AGENT_VERSION) {
    report(state, u, 'succeeded');
    return 'failed';
  }
  underWay.add(state.dir);
  try {
    return await install(state, order, o, u, failed);
  } finally {
    underWay.delete(state.dir);
  }
}

async function install(
  state: StateDir,
  order: UpgradeOrder,
  o: StartUpgradeOptions,
  u: { id: number; from: string; to: string },
  failed: (reason: string) => 'failed',
): Promise<'switched' | 'failed'> {
  const root = o.root === undefined ? installRootOf() : o.root;
  if (!root)
    return failed(
      `this agent does not run from an install folder (${process.execPath}); install the package with a deployment script instead`,
    );
  const arch = packageArchOf(process.arch);
  const pkg = order.packages.find((p) => p.architecture === arch);
  const m = pkg ? AGENT_PACKAGE_FILE.exec(pkg.file) : null;
  if (!pkg || !m || m[1] !== order.version || m[3] !== arch)
    return failed(`the manager holds no package of version ${order.version} for ${arch ?? process.arch}`);
  const from = currentVersionDir(root);
  if (!from) return failed(`${join(root, 'current')} is not a link to a version`);
  const download = join(root, 'versions', `.download-${pkg.file}`);
  try {
    const a = state.activation();
    const got = await downloadFromManager(
      a.manager,
      state.credentials(),
      `${AGENT_PATHS.packages}/${pkg.file}`,
      download,
      MAX_PACKAGE_BYTES,
    );
    if (got.sha256 !== pkg.sha256)
      return failed(`${pkg.file} has SHA-256 ${got.sha256}, the manager announced ${pkg.sha256}: not installed`);
    installPackage(root, download, order.version);
  } catch (e) {
    return failed((e as Error).message);
  } finally {
    rmSync(download, { force: true });
  }
  const confirmWithinMs = (o.confirmWithinSeconds ?? upgradeConfirmSeconds()) * 1000;
  const record: UpgradeRecord = {
    ...u,
    fromDir: from,
    root,
    switchedAt: Date.now(),
    confirmWithinMs,
  };
  state.saveUpgrade(record);
  switchCurrent(root, order.version);
  spawnWatcher(state, join(root, 'versions', from, 'palisade-agent'));
  o.logger.warn(
    { upgradeId: order.id, from: AGENT_VERSION, to: order.version },
    `agent upgrade: version ${order.version} installed and switched to; restarting (rolled back unless it heartbeats within ${confirmWithinMs / 1000} s)`,
  );
  return 'switched';
}

/**
 * The watcher runs from the old version's executable, outside the service it restarts: under
 * systemd in a transient unit of its own (systemd-run(1)), since stopping the service stops
 * every process of its cgroup; elsewhere a detached process, its output in the state directory.
 */
function spawnWatcher(state: StateDir, executable: string): void {
  const args = ['upgrade-watch', '--state-dir', state.dir];
  const log = openSync(state.path('upgrade.log'), 'a', 0o600);
  const child =
    serviceManager() === 'systemd'
      ? spawn(
          'systemd-run',
          ['--collect', '--quiet', '--unit', `palisade-agent-upgrade-${Date.now()}`, executable, ...args],
          {
            detached: true,
            stdio: ['ignore', log, log],
          },
        )
      : spawn(executable, args, { detached: true, stdio: ['ignore', log, log], env: process.env });
  child.unref();
}

/**
 * The new version, after a heartbeat (`heartbeated`): confirms the upgrade that installed it, and
 * reports it; the watcher then removes the record. The old version, at its start: reports the
 * rollback the watcher recorded, and removes the record.
 */
export function settleUpgrade(state: StateDir, logger: Logger, heartbeated: boolean): void {
  const u = state.upgrade();
  if (!u) return;
  if (u.outcome === 'rolled-back' && u.from === AGENT_VERSION) {
    report(state, u, 'rolled-back', u.reason);
    logger.error({ upgradeId: u.id }, `agent upgrade to ${u.to} rolled back: ${u.reason}`);
    state.clearUpgrade();
    return;
  }
  if (heartbeated && u.to === AGENT_VERSION && u.confirmedAt === undefined && u.outcome === undefined) {
    state.saveUpgrade({ ...u, confirmedAt: Date.now() });
    report(state, u, 'succeeded');
    logger.info({ upgradeId: u.id }, `agent upgraded from ${u.from} to ${u.to}`);
  }
}

/**
 * `palisade-agent upgrade-watch`: restarts the service on the version `current` points at, waits
 * for it to confirm (its first heartbeat), and rolls back when it does not in time. Returns the
 * outcome, for its log.
 */
export async function watchUpgrade(
  state: StateDir,
  say: (line: string) => void,
): Promise<'succeeded' | 'rolled-back' | 'none'> {
  const u = state.upgrade();
  if (!u || u.confirmedAt !== undefined || u.outcome !== undefined) return 'none';
  const executable = join(u.root, 'current', 'palisade-agent');
  say(`restarting the agent on version ${u.to}`);
  await restartService({ stateDir: state.dir, executable });
  const deadline = Date.now() + u.confirmWithinMs;
  while (Date.now() < deadline) {
    const now = state.upgrade();
    if (now?.confirmedAt !== undefined) {
      say(`version ${u.to} heartbeats: upgrade done`);
      // The old version stays installed beside it, for a manual rollback.
      state.clearUpgrade();
      return 'succeeded';
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const reason = `version ${u.to} did not heartbeat within ${u.confirmWithinMs / 1000} s; version ${u.from} runs again`;
  say(`rolling back: ${reason}`);
  switchCurrent(u.root, u.fromDir);
  state.saveUpgrade({ ...u, outcome: 'rolled-back', reason });
  await restartService({ stateDir: state.dir, executable });
  rmSync(join(u.root, 'versions', u.to), { recursive: true, force: true });
  return 'rolled-back';
}
