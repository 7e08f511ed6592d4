import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, readlinkSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { AGENT_INSTALL } from '@palisade/protocol';
import { AgentError } from './agent-error.js';
import { tellManagerLeaving } from './deactivation.js';
import { FirewallEngine } from './firewall/firewall-engine.js';
import { serviceManager, stopService } from './service-control.js';
import { StateDir } from './state-dir.js';

export interface UninstallOptions {
  /** Keep the state directory (host identity, activation): a reinstall carries on as the same computer. */
  keepState: boolean;
  /** Each step as it is done, one line. */
  say: (line: string) => void;
}

/**
 * Takes the installed agent off this host (docs/deployment.md, "Uninstall"): stops the service,
 * tells the manager (unless `keepState`), removes the nftables table, the unit, the program files and the link on PATH, and the state
 * unless `keepState`. Each step tolerates what is already gone, so a second run, or a run
 * after a half-finished install, completes.
 */
export async function uninstall(o: UninstallOptions): Promise<void> {
  if (process.platform !== 'darwin' && process.getuid?.() !== 0)
    throw new AgentError('ROOT_REQUIRED', 'uninstall removes files under /opt, /etc and /var/lib: run it as root');
  const manager = serviceManager();
  const stopped = await stopService();
  o.say(stopped.stopped ? `Stopped the agent (${manager}).` : 'The agent was not running.');
  // Leaving for good: the manager shows the computer Deactivated. With --keep-state the
  // activation stays, for a reinstall that carries on as the same computer.
  if (!o.keepState) o.say((await tellManagerLeaving(new StateDir(AGENT_INSTALL.stateDir), 'uninstall')).message);

  // The firewall the manager set goes with the agent (docs/firewall.md).
  const fw = await new FirewallEngine().remove();
  if (fw.outcome === 'applied') o.say('Removed the firewall rules (nftables table inet palisade).');
  else if (fw.outcome !== 'disabled')
    o.say(
      `Could not remove the nftables table inet palisade (${fw.reason}); remove it with "nft delete table inet palisade".`,
    );

  if (existsSync(AGENT_INSTALL.unitFile)) {
    if (manager === 'systemd') spawnSync('systemctl', ['disable', AGENT_INSTALL.service], { stdio: 'ignore' });
    rmSync(AGENT_INSTALL.unitFile, { force: true });
    if (manager === 'systemd') spawnSync('systemctl', ['daemon-reload'], { stdio: 'ignore' });
    o.say(`Removed ${AGENT_INSTALL.unitFile}.`);
  }
  if (existsSync(AGENT_INSTALL.launchdPlist)) {
    rmSync(AGENT_INSTALL.launchdPlist, { force: true });
    o.say(`Removed ${AGENT_INSTALL.launchdPlist}.`);
  }
  // Only our own link: a palisade-agent on PATH installed some other way is not ours to remove.
  try {
    if (lstatSync(AGENT_INSTALL.binLink).isSymbolicLink()) {
      const target = resolve(AGENT_INSTALL.binLink, '..', readlinkSync(AGENT_INSTALL.binLink));
      if (target.startsWith(`${AGENT_INSTALL.root}/`)) {
        rmSync(AGENT_INSTALL.binLink, { force: true });
        o.say(`Removed ${AGENT_INSTALL.binLink}.`);
      }
    }
  } catch {
    /* no link */
  }
  if (existsSync(AGENT_INSTALL.root)) {
    rmSync(AGENT_INSTALL.root, { recursive: true, force: true });
    o.say(`Removed ${AGENT_INSTALL.root}.`);
  }
  if (o.keepState) {
    o.say(`Kept ${AGENT_INSTALL.stateDir} (host identity and activation) as asked.`);
  } else if (existsSync(AGENT_INSTALL.stateDir)) {
    rmSync(AGENT_INSTALL.stateDir, { recursive: true, force: true });
    o.say(`Removed ${AGENT_INSTALL.stateDir}.`);
  }
}
