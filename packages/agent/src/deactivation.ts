import { AGENT_PATHS, type AgentDeactivation, DeactivationReply, PROTOCOL_VERSION } from '@palisade/protocol';
import { AgentError } from './agent-error.js';
import { FirewallEngine } from './firewall/firewall-engine.js';
import { ManagerConnection, resolveManager } from './manager-client.js';
import type { StateDir } from './state-dir.js';

/** What telling the manager came to: one line for the operator. */
export interface LeavingNotice {
  told: boolean;
  message: string;
}

/**
 * Tells the manager this agent is leaving (`reset`, `uninstall`), over its own mutual-TLS
 * identity, so the computer shows Deactivated at once (docs/deployment.md). Never throws: an
 * unreachable manager is said, and the caller goes on — the computer then stays listed until
 * it is deactivated there or the agent is activated again.
 */
export async function tellManagerLeaving(state: StateDir, reason: AgentDeactivation['reason']): Promise<LeavingNotice> {
  if (!state.isActivated()) return { told: false, message: 'Not activated: there was no manager to tell.' };
  let conn: ManagerConnection | undefined;
  try {
    const a = state.activation();
    await resolveManager(a.manager.host);
    conn = new ManagerConnection(a.manager, state.credentials());
    const r = await conn.request(
      'POST',
      AGENT_PATHS.deactivate,
      { protocolVersion: PROTOCOL_VERSION, reason } satisfies AgentDeactivation,
      DeactivationReply,
    );
    return {
      told: true,
      message: `The manager ${a.manager.host} shows computer ${r.body.computerId} as Deactivated${r.body.deactivated ? '' : ' (it was already)'}.`,
    };
  } catch (e) {
    // Deactivated or deleted there already: that is what was asked.
    if (e instanceof AgentError && ['CERTIFICATE_REVOKED', 'CERTIFICATE_NOT_RECOGNIZED'].includes(e.managerCode ?? ''))
      return { told: true, message: 'The manager had deactivated this computer already.' };
    return {
      told: false,
      message: `Could not tell the manager (${(e as Error).message}); it lists the computer until it is deactivated there.`,
    };
  } finally {
    conn?.close();
  }
}

/**
 * Forgets the activation here (key, certificates, configuration, unsent events; the host
 * identity stays) and removes the firewall the manager set, which goes with the activation
 * (docs/firewall.md). Returns what happened to the firewall, for the operator.
 */
export async function resetLocally(state: StateDir): Promise<{ firewall: 'removed' | 'none' | string }> {
  await state.withLock(async () => state.reset());
  const engine = FirewallEngine.forState(state);
  const fw = await engine.remove();
  if (fw.outcome === 'applied') return { firewall: 'removed' };
  if (fw.outcome === 'disabled') return { firewall: 'none' };
  return { firewall: `could not remove the firewall table ${engine.table}: ${fw.reason}` };
}
