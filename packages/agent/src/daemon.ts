import { jitteredDelayMs } from '@palisade/core';
import type { Logger } from 'pino';
import { AgentError } from './agent-error.js';
import { heartbeat } from './heartbeat.js';
import type { StateDir } from './state-dir.js';

export interface RunningAgent {
  /** Resolves when the loop has stopped. */
  stopped: Promise<void>;
  /** Stops after the exchange in flight, if any; records why in the spool. */
  stop(reason: string): Promise<void>;
}

/** Retry delays after a failed heartbeat: 5 s doubling up to the interval, each jittered. */
function retryDelayMs(failures: number, intervalSeconds: number): number {
  const seconds = Math.min(intervalSeconds, 5 * 2 ** Math.min(failures - 1, 10));
  return jitteredDelayMs(seconds, 0.2);
}

/**
 * The agent in the foreground: heartbeat now, then every interval the manager gives, jittered
 * (±10 %) so a fleet does not arrive in lockstep; after failures, back off and retry sooner
 * than a full interval. Events that happen meanwhile stay in the durable spool.
 */
export function runAgent(state: StateDir, logger: Logger): RunningAgent {
  state.activation(); // fails now, clearly, when not activated
  state.spool().append({ type: 'agent.started', severity: 'info', message: `agent started (pid ${process.pid})` });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let failures = 0;

  const loop = async () => {
    while (!stopping) {
      let delay: number;
      try {
        const o = await heartbeat(state);
        failures = 0;
        logger.info(
          { computerId: o.computerId, tls: `${o.tlsProtocol} ${o.tlsCipher}`, eventsSent: o.eventsSent, operations: o.operations.length },
          'heartbeat',
        );
        delay = jitteredDelayMs(o.heartbeatIntervalSeconds);
      } catch (e) {
        failures += 1;
        const interval = state.heartbeatIntervalSeconds() ?? 600;
        delay = retryDelayMs(failures, interval);
        const fatal = e instanceof AgentError && e.code === 'MANAGER_REFUSED' && ['CERTIFICATE_REVOKED', 'CERTIFICATE_NOT_RECOGNIZED'].includes(e.managerCode ?? '');
        logger.error({ failures, retryInSeconds: Math.round(delay / 1000) }, (e as Error).message);
        if (fatal) delay = interval * 1000;
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, delay);
      });
    }
  };
  const stopped = loop();
  return {
    stopped,
    async stop(reason: string) {
      stopping = true;
      if (timer) clearTimeout(timer);
      wake?.();
      await stopped;
      state.spool().append({ type: 'agent.stopped', severity: 'info', message: `agent stopped: ${reason}`, data: { reason } });
    },
  };
}
