import type { SecurityConfiguration } from '@palisade/core';
import type { Operation, OperationResult } from '@palisade/protocol';
import { AGENT_VERSION } from './agent-version.js';
import { applyConfiguration } from './configuration-applier.js';
import type { EnforcementEngine } from './enforcement-engine.js';
import type { StateDir } from './state-dir.js';

export interface OperationHooks {
  /**
   * After a configuration is applied and recorded, before its result is sent: enforcement that
   * follows the configuration (the listener opening or closing) catches up here, so the result
   * can say what the agent now does.
   */
  afterApply?: (configuration: SecurityConfiguration) => Promise<void>;
}

/**
 * Runs the operations of one exchange in order and returns their results, whichever side
 * opened the connection. Each outcome is also spooled as an event and counted.
 */
export async function runOperations(
  state: StateDir,
  operations: readonly Operation[],
  hooks: OperationHooks = {},
  /** Enforces each configuration; default: the nftables firewall (configuration-applier.ts). */
  engine?: EnforcementEngine,
): Promise<OperationResult[]> {
  const spool = state.spool();
  const results: OperationResult[] = [];
  for (const op of operations) {
    if (op.type !== 'applyConfiguration') {
      results.push({
        id: op.id,
        status: 'failed',
        reason: `operation type "${String(op.type)}" is not supported by agent ${AGENT_VERSION}`,
      });
      continue;
    }
    const applied = await applyConfiguration(state, op.configuration, op.fingerprint, engine);
    if (applied.ok) {
      state.bumpCounter('configurationsApplied');
      spool.append({
        type: 'configuration.applied',
        severity: 'info',
        message: `security configuration ${applied.fingerprint} applied`,
        data: { fingerprint: applied.fingerprint },
      });
      await hooks.afterApply?.(op.configuration as SecurityConfiguration);
      results.push({ id: op.id, status: 'succeeded', fingerprint: applied.fingerprint });
    } else {
      state.bumpCounter('configurationsFailed');
      spool.append({ type: 'configuration.failed', severity: 'error', message: applied.reason });
      results.push({ id: op.id, status: 'failed', reason: applied.reason });
    }
  }
  return results;
}
