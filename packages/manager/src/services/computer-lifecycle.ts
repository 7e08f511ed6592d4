import type { Logger } from 'pino';
import { PalisadeError } from '../errors.js';
import type { ComputerRecord, Store } from '../store/store.js';

/** What telling a listening agent of its deactivation came to. */
export interface AgentNotice {
  told: boolean;
  /** Why the agent was not told now (it does not listen, did not answer); it learns at its next contact. */
  reason?: string;
}

export interface ComputerLifecycleDeps {
  store: Store;
  now?: () => number;
  /**
   * Tells a computer's agent, where it listens, that it was deactivated (the dialer's
   * `notifyDeactivated`). Absent: agents learn at their next contact only.
   */
  tellAgent?: (computer: ComputerRecord) => Promise<AgentNotice>;
  logger?: Logger;
}

/** What `DELETE /api/computers/{id}` did. */
export type RemovalOutcome =
  | { done: 'deactivated'; computer: ComputerRecord; agent: AgentNotice }
  | { done: 'deleted'; computer: ComputerRecord };

/**
 * A computer's life on the manager after activation (docs/deployment.md): deactivation, from
 * the API (the agent is told at once where it listens, else at its next contact, and resets
 * itself) or from the agent (reset, uninstall); and deletion of a deactivated computer. Each
 * change is one transaction with its audit row.
 */
export class ComputerLifecycleService {
  private readonly now: () => number;

  constructor(private readonly deps: ComputerLifecycleDeps) {
    this.now = deps.now ?? Date.now;
  }

  /**
   * Deactivates (revoking the certificate) and clears the computer's open alerts ("computer
   * deactivated") in one transaction. Already deactivated: nothing changes, no audit row, and
   * `changed` is false. `actor` `agent:<id>` when the agent itself asked (reset, uninstall).
   */
  async deactivate(id: number, actor: string): Promise<{ computer: ComputerRecord; changed: boolean }> {
    return this.deps.store.transaction(async (tx) => {
      const t = this.now();
      const c = await tx.computers.get(id);
      if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
      if (!(await tx.computers.deactivate(id, t))) return { computer: c, changed: false };
      await tx.alerts.clearAllOpen(id, t, 'computer deactivated');
      await tx.audit.insert([
        {
          time: t,
          actor,
          action: 'computer.deactivate',
          targetType: 'computer',
          targetId: id,
          setting: null,
          oldValue: c.state,
          newValue: 'deactivated',
        },
      ]);
      return { computer: (await tx.computers.get(id)) ?? c, changed: true };
    });
  }

  /**
   * `DELETE /api/computers/{id}`: an active computer is deactivated (its agent told where it
   * listens); a deactivated one is removed with its events and settings (its certificate stays
   * revoked). Two steps, so that one DELETE never forgets a computer whose agent still runs.
   */
  async deactivateOrDelete(id: number, actor: string): Promise<RemovalOutcome> {
    const c = await this.deps.store.computers.get(id);
    if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
    if (c.state === 'active') {
      const { computer, changed } = await this.deactivate(id, actor);
      return { done: 'deactivated', computer, agent: changed ? await this.tell(computer) : { told: false } };
    }
    await this.deps.store.transaction(async (tx) => {
      const t = this.now();
      if (!(await tx.computers.remove(id, t))) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
      await tx.audit.insert([
        {
          time: t,
          actor,
          action: 'computer.delete',
          targetType: 'computer',
          targetId: id,
          setting: null,
          oldValue: c.hostName,
          newValue: null,
        },
      ]);
    });
    return { done: 'deleted', computer: c };
  }

  private async tell(c: ComputerRecord): Promise<AgentNotice> {
    if (!this.deps.tellAgent) return { told: false, reason: 'the agent learns at its next contact' };
    try {
      return await this.deps.tellAgent(c);
    } catch (e) {
      this.deps.logger?.warn({ err: e, computerId: c.id }, 'could not tell the agent it was deactivated');
      return { told: false, reason: (e as Error).message };
    }
  }
}
