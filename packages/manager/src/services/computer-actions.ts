import { type AgentDirection, type ManagerDialMode, managerDialMode } from '@palisade/core';
import type { DialOutcome } from '../dialer/manager-exchange.js';
import { PalisadeError } from '../errors.js';
import type { ComputerRecord, DialTargetRecord, NewAuditEvent, Store } from '../store/store.js';
import type { ConfigurationService, EffectiveConfiguration } from './configuration-service.js';

/** Deep Security's computer actions that contact the agent. */
export type ComputerAction = 'checkstatus' | 'sendpolicy';

/** What an action did. `dial` is null when it waits for the agent's next heartbeat (mode `none`). */
export interface ComputerActionResult {
  /** The computer before the action. */
  computer: ComputerRecord;
  /** The computer once the action is over (what the call changed). */
  after: ComputerRecord;
  /** The effective communication direction (what the manager wants). */
  direction: AgentDirection;
  mode: ManagerDialMode;
  effective: EffectiveConfiguration;
  dial: DialOutcome | null;
}

/** How the manager reaches a computer: what it wants, and the dialer's record of the agent. */
export interface ComputerCommunication {
  computer: ComputerRecord;
  effective: EffectiveConfiguration;
  mode: ManagerDialMode;
  /** Null before the agent's first contact was noted. */
  target: DialTargetRecord | null;
}

export interface ComputerActionsDeps {
  store: Store;
  configurations: ConfigurationService;
  /** Contacts one computer now (the node's dialer). */
  dialNow: (computerId: number, reason: string) => Promise<DialOutcome>;
  now?: () => number;
}

/**
 * The audit row of an action request. Send Policy: `configurationFingerprint` from the one
 * expected before to the one delivered. Check Status changes nothing stored: `newValue` says
 * how it reaches the agent (`immediate` or `next-heartbeat`).
 */
function actionAudit(
  action: ComputerAction,
  computer: ComputerRecord,
  fingerprint: string,
  delivery: 'immediate' | 'next-heartbeat',
  actor: string,
  time: number,
): NewAuditEvent {
  const target = { time, actor, targetType: 'computer', targetId: computer.id } as const;
  return action === 'sendpolicy'
    ? {
        ...target,
        action: 'computer.sendpolicy',
        setting: 'configurationFingerprint',
        oldValue: computer.expectedFingerprint,
        newValue: fingerprint,
      }
    : { ...target, action: 'computer.checkstatus', setting: null, oldValue: null, newValue: delivery };
}

/**
 * Check Status and Send Policy: the manager contacts the agent at once where it listens
 * (Manager Initiated, Bidirectional), and the action waits for the agent's next heartbeat where
 * it does not (Agent Initiated). The request is audited before the agent is contacted, with Send
 * Policy's new expected fingerprint in the same transaction; the call itself is the dialer's.
 */
export class ComputerActionsService {
  private readonly now: () => number;

  constructor(private readonly deps: ComputerActionsDeps) {
    this.now = deps.now ?? Date.now;
  }

  private async activeComputer(id: number): Promise<ComputerRecord> {
    const c = await this.deps.store.computers.get(id);
    if (!c) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
    if (c.state !== 'active') throw new PalisadeError('COMPUTER_DEACTIVATED');
    return c;
  }

  async run(action: ComputerAction, id: number, actor: string): Promise<ComputerActionResult> {
    const { store, configurations } = this.deps;
    const computer = await this.activeComputer(id);
    const effective = await configurations.forComputer(computer, store);
    const direction = effective.configuration.communication.direction;
    const target = await store.dialTargets.get(id);
    const mode = managerDialMode(direction, target?.appliedDirection ?? null);
    await store.transaction(async (tx) => {
      if (action === 'sendpolicy') await tx.computers.setExpectedFingerprint([id], effective.fingerprint);
      await tx.audit.insert([
        actionAudit(
          action,
          computer,
          effective.fingerprint,
          mode === 'none' ? 'next-heartbeat' : 'immediate',
          actor,
          this.now(),
        ),
      ]);
    });
    if (mode === 'none') return { computer, after: computer, direction, mode, effective, dial: null };
    const dial = await this.deps.dialNow(id, action);
    const after = (await store.computers.get(id)) ?? computer;
    return { computer, after, direction, mode, effective, dial };
  }

  async communication(id: number): Promise<ComputerCommunication> {
    const { store, configurations } = this.deps;
    const computer = await store.computers.get(id);
    if (!computer) throw new PalisadeError('COMPUTER_NOT_FOUND', String(id));
    const [effective, target] = await Promise.all([
      configurations.forComputer(computer, store),
      store.dialTargets.get(id),
    ]);
    const mode = managerDialMode(effective.configuration.communication.direction, target?.appliedDirection ?? null);
    return { computer, effective, mode, target };
  }
}
