import { spawnSync } from 'node:child_process';
import { busyRetryDelayMs, jitteredDelayMs } from '@palisade/core';
import { AGENT_STOPPED_EVENT, type Driver } from '@palisade/protocol';
import type { Logger } from 'pino';
import { AgentCommunication, type ListenerSettings } from './agent-communication.js';
import { AgentError } from './agent-error.js';
import { resetLocally } from './deactivation.js';
import { heartbeat } from './heartbeat.js';
import { isManagerBusy } from './manager-client.js';
import { reactivateWithoutToken } from './reactivation.js';
import type { StateDir } from './state-dir.js';
import { settleUpgrade, startUpgrade } from './upgrade.js';

export interface RunningAgent {
  /** Resolves when the loop has stopped (and, after `stop`, once the stop notice went out or timed out). */
  stopped: Promise<void>;
  /**
   * Stops after the exchange in flight, if any; records why in the spool (`agent.stopped`, with
   * `hostShutdown: true` when the host itself is shutting down: the shutdown notice) and sends
   * it at once in a last heartbeat, bounded by `finalHeartbeatTimeoutMs`. Undelivered, it stays
   * spooled and goes with the next start's first heartbeat.
   */
  stop(reason: string): Promise<void>;
  /** The direction the agent follows and its listener (agent-communication.ts). */
  communication: AgentCommunication;
  /**
   * Set once `stopped` resolves: why the agent stopped. `deactivated`: the manager deactivated
   * the computer (or its activation was reset here) and the agent reset itself; the caller goes
   * back to waiting for an activation (Activation Required).
   */
  readonly ended: 'stopped' | 'deactivated' | null;
}

export interface RunAgentOptions {
  /** Status of each enforcement engine for every heartbeat; default none. */
  drivers?: () => Driver[];
  /** Whether the host is shutting down as the agent stops; default `hostIsShuttingDown`. */
  hostShuttingDown?: () => boolean;
  /** Longest wait for the last heartbeat on stop. Default 5 s (systemd allows 90 s per unit). */
  finalHeartbeatTimeoutMs?: number;
  /** Where to listen in Bidirectional and Manager Initiated (labs, tests); see `ListenerSettings`. */
  listener?: ListenerSettings;
}

/**
 * True while the machine shuts down or reboots: systemd reports `stopping` from
 * `systemctl is-system-running` then (systemctl(1)). Elsewhere, and when systemctl cannot
 * tell, false: a plain service stop, which the manager treats as the agent going away, not the
 * VM powering off.
 */
export function hostIsShuttingDown(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const r = spawnSync('systemctl', ['is-system-running'], { encoding: 'utf8', timeout: 2_000 });
    return r.stdout?.trim() === 'stopping';
  } catch {
    return false;
  }
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
export function runAgent(state: StateDir, logger: Logger, o: RunAgentOptions = {}): RunningAgent {
  state.activation(); // fails now, clearly, when not activated
  state.warn = (message) => logger.warn(message);
  // A start cannot tell whether the state it found is the newest (a reverted VM snapshot looks
  // the same): its events get a new epoch, so numbers reused after a revert are never dropped
  // by the manager as repeats (event-spool.ts).
  const spool = state.spool();
  spool.beginEpoch();
  spool.append({ type: 'agent.started', severity: 'info', message: `agent started (pid ${process.pid})` });
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  let failures = 0;
  let ended: RunningAgent['ended'] = null;
  /** Set when the manager refused this host as a copy: its reset makes it a new identity too. */
  let refusedClone = false;
  /** Set when the manager's call refused this host as a copy it may reactivate: the loop asks. */
  let refusedAtCall = false;
  /** Why the agent must reset itself (deactivated on the manager); set, the loop ends and resets. */
  let deactivation: string | null = null;
  const deactivate = (why: string) => {
    if (deactivation !== null || stopping) return;
    deactivation = why;
    if (timer) clearTimeout(timer);
    wake?.();
  };
  // The listener follows the applied configuration; in Manager Initiated the loop below sends
  // nothing and sleeps until a configuration changes that (the manager calls the listener).
  const communication = new AgentCommunication(state, {
    logger,
    ...(o.listener ? { listener: o.listener } : {}),
    ...(o.drivers ? { drivers: o.drivers } : {}),
    onChange: () => wake?.(),
    // The manager called to say the computer was deactivated: reset now, not at the next contact.
    onDeactivated: () => deactivate('the manager deactivated this computer (it told the listener)'),
    // The manager's call found this host a copy of another: as a refused heartbeat would
    // (docs/deployment.md "Cloned hosts"), where the manager's settings allow it.
    onRefused: (notice) => {
      if (!notice.reactivate) {
        logger.warn(
          { code: notice.code },
          `the manager refused this host as a copy of another computer's host and does not reactivate cloned agents: ${notice.message}`,
        );
        return;
      }
      refusedAtCall = true;
      wake?.();
    },
  });
  const hb = { ...(o.drivers ? { drivers: o.drivers } : {}), communication: communication.hooks() };

  /**
   * Waits `delay` ms or until woken (a configuration change, a stop). Woken, its timer is cleared:
   * one left pending would hold the process open after a stop for up to a heartbeat interval.
   */
  const pause = (delay: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(resolve, delay);
      timer = t;
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  const loop = async () => {
    // A rollback the watcher recorded is reported by the version it went back to.
    settleUpgrade(state, logger, false);
    await communication.start();
    while (!stopping && deactivation === null) {
      let delay: number;
      if (refusedAtCall) {
        // The one call a Manager Initiated agent makes to the manager (docs/deployment.md).
        refusedAtCall = false;
        if ((await reactivate('cloned')) === 'refused-clone') break;
        continue;
      }
      if (!communication.heartbeats()) {
        delay = (state.heartbeatIntervalSeconds() ?? 600) * 1000;
        await pause(delay);
        continue;
      }
      try {
        const r = await heartbeat(state, hb);
        failures = 0;
        // Upgrades (upgrade.ts): this version confirms the one that installed it; an order starts one.
        settleUpgrade(state, logger, true);
        if (r.upgrade)
          await startUpgrade(state, r.upgrade, { logger }).catch((e: Error) =>
            logger.error({ upgradeId: r.upgrade?.id }, `agent upgrade could not start: ${e.message}`),
          );
        logger.info(
          {
            computerId: r.computerId,
            tls: `${r.tlsProtocol} ${r.tlsCipher}`,
            eventsSent: r.eventsSent,
            operations: r.operations.length,
          },
          'heartbeat',
        );
        delay = jitteredDelayMs(r.heartbeatIntervalSeconds);
      } catch (e) {
        if (e instanceof AgentError && e.code === 'NOT_ACTIVATED') {
          deactivate('the activation was reset on this host ("palisade-agent reset")');
          break;
        }
        if (e instanceof AgentError && e.managerCode === 'CERTIFICATE_REVOKED') {
          deactivate('the manager deactivated this computer (its certificate is revoked)');
          break;
        }
        // A copy of another host, or a certificate the manager has no record of: activate again
        // without a token where the settings allow (docs/deployment.md "Cloned hosts", "Unknown agents").
        const without = await withoutToken(e);
        if (without === 'reactivated') continue;
        if (without === 'refused-clone') break;
        failures += 1;
        const interval = state.heartbeatIntervalSeconds() ?? 600;
        delay = retryDelayMs(failures, interval);
        // A manager in a reconnect storm says when to come back; never sooner, and jittered.
        if (isManagerBusy(e)) delay = Math.max(delay, busyRetryDelayMs(e.retryAfterSeconds, failures));
        const fatal =
          e instanceof AgentError &&
          e.code === 'MANAGER_REFUSED' &&
          ['CERTIFICATE_REVOKED', 'CERTIFICATE_NOT_RECOGNIZED'].includes(e.managerCode ?? '');
        logger.error({ failures, retryInSeconds: Math.round(delay / 1000) }, (e as Error).message);
        if (fatal) delay = interval * 1000;
      }
      if (stopping || deactivation !== null) break;
      await pause(delay);
    }
  };
  /**
   * After a heartbeat refused `AGENT_CLONED` or `CERTIFICATE_NOT_RECOGNIZED`: asks the manager to
   * activate this host without a token. A copy the manager will not take resets itself to
   * Activation Required; any other refusal is logged and the heartbeats go on failing, so a
   * change of the settings on the manager is picked up.
   */
  const withoutToken = async (e: unknown): Promise<'reactivated' | 'refused-clone' | 'no'> => {
    if (!(e instanceof AgentError) || e.code !== 'MANAGER_REFUSED') return 'no';
    const reason =
      e.managerCode === 'AGENT_CLONED' ? 'cloned' : e.managerCode === 'CERTIFICATE_NOT_RECOGNIZED' ? 'unknown' : null;
    return reason === null ? 'no' : reactivate(reason);
  };
  /** Activation without a token (reactivation.ts); the listener then serves the new certificate. */
  const reactivate = async (reason: 'cloned' | 'unknown'): Promise<'reactivated' | 'refused-clone' | 'no'> => {
    try {
      const r = await reactivateWithoutToken(state, reason);
      await communication.reopen();
      failures = 0;
      logger.warn(
        { computerId: r.computerId, policy: r.policyName, reason },
        reason === 'cloned'
          ? `this host is a copy of another computer's host: activated as computer ${r.computerId} of its own, with a new host identity`
          : `the manager had no record of this agent: activated ${r.reactivated ? 'again as' : 'as new'} computer ${r.computerId}`,
      );
      return 'reactivated';
    } catch (err) {
      if (err instanceof AgentError && err.managerCode === 'AGENT_CLONED') {
        refusedClone = true;
        deactivate(`the manager refused this host as a copy of another computer's host (${err.message})`);
        return 'refused-clone';
      }
      logger.error({ reason }, `activation without a token failed: ${(err as Error).message}`);
      return 'no';
    }
  };
  const looping = loop().then(async () => {
    if (deactivation === null || stopping) return;
    // Deactivated: the listener closes, the activation and the firewall go; the host identity
    // stays, so activating again gets the same computer back (docs/deployment.md).
    await communication.close();
    const local = await resetLocally(state);
    // The original keeps the identity: a copy activated later with a token must not take its computer.
    if (refusedClone) state.replaceHostIdentity(null);
    logger.warn(
      { firewall: local.firewall },
      `${deactivation}: activation reset on this host; Activation Required (run "palisade-agent activate")`,
    );
    ended = 'deactivated';
  });
  let stopWork: Promise<void> | undefined;
  const stopped = looping
    .then(() => stopWork)
    .then(() => {
      ended ??= 'stopped';
    });
  return {
    stopped,
    communication,
    get ended() {
      return ended;
    },
    stop(reason: string) {
      if (stopWork) return stopWork;
      if (ended === 'deactivated' || deactivation !== null) {
        stopWork = looping;
        return stopWork;
      }
      stopping = true;
      if (timer) clearTimeout(timer);
      wake?.();
      stopWork = (async () => {
        await looping;
        let hostShutdown = false;
        try {
          hostShutdown = (o.hostShuttingDown ?? hostIsShuttingDown)();
        } catch {
          /* unknown: a plain stop */
        }
        state.spool().append({
          type: AGENT_STOPPED_EVENT,
          severity: 'info',
          message: hostShutdown ? `agent stopped: the host is shutting down (${reason})` : `agent stopped: ${reason}`,
          data: { reason, hostShutdown },
        });
        const timeoutMs = o.finalHeartbeatTimeoutMs ?? 5_000;
        let timeout: NodeJS.Timeout | undefined;
        await communication.close();
        if (!communication.heartbeats()) {
          // Manager Initiated: the agent opens no connection, not even this one; the notice goes with the manager's next call.
          logger.info(
            { hostShutdown },
            'stop notice spooled (Manager Initiated: the manager collects it when it next calls)',
          );
          return;
        }
        try {
          await Promise.race([
            heartbeat(state, hb),
            new Promise(
              (_, reject) =>
                (timeout = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)),
            ),
          ]);
          logger.info({ hostShutdown }, 'stop notice delivered to the manager');
        } catch (e) {
          logger.warn(
            { hostShutdown },
            `stop notice not delivered now (${(e as Error).message}); it stays spooled for the next start`,
          );
        } finally {
          clearTimeout(timeout);
        }
      })();
      return stopWork;
    },
  };
}
