import { type AgentDirection, agentListens, agentSendsHeartbeats, type SecurityConfiguration } from '@palisade/core';
import type {
  CommunicationState,
  Driver,
  HeartbeatReply,
  ListenerAddress,
  ListenerRefusal,
  OperationResults,
  UpgradeOrder,
} from '@palisade/protocol';
import { PROTOCOL_VERSION } from '@palisade/protocol';
import type { Logger } from 'pino';
import { firewallReport, withFirewallReport } from './firewall/firewall-report.js';
import { listenerGuard } from './firewall/listener-guard.js';
import { AgentListener } from './listener.js';
import { type ListenerSettings, loadListenerSettings } from './listener-settings.js';
import { runOperations } from './operations-runner.js';
import { buildReport } from './report-builder.js';
import type { StateDir } from './state-dir.js';
import { confirmSecondsFor, settleUpgrade, startUpgrade } from './upgrade.js';

export { type ListenerSettings, loadListenerSettings, saveListenerSettings } from './listener-settings.js';

/** What the agent tells the manager at activation: where it will listen if its policy makes it. */
export function announcedListener(settings: ListenerSettings): ListenerAddress | undefined {
  if (!settings.port && !settings.announceAddress) return undefined;
  return { port: settings.port || 4118, ...(settings.announceAddress ? { address: settings.announceAddress } : {}) };
}

export interface AgentCommunicationOptions {
  logger: Logger;
  /** Where to listen (overrides `listener.json`, which overrides the configuration's port). */
  listener?: ListenerSettings;
  /** Status of each enforcement engine, for the reports the manager asks for. */
  drivers?: () => Driver[];
  /** Platform rules (macOS never listens); default `process.platform`. */
  platform?: string;
  /** Called when the applied direction changes whether the agent heartbeats (the daemon wakes). */
  onChange?: () => void;
  /** Called when the manager tells the listener the computer was deactivated (the daemon resets). */
  onDeactivated?: () => void;
  /** Called when the manager refused the report it asked for (a copy of another host: the daemon reactivates). */
  onRefused?: (notice: ListenerRefusal) => void;
}

/**
 * The agent's side of the communication direction (spec "Configure communication
 * directionality"), following the applied configuration with no restart:
 *
 * - Agent Initiated: heartbeats; listens on nothing.
 * - Bidirectional: heartbeats and listens.
 * - Manager Initiated: listens; never heartbeats — the manager calls.
 * - macOS: Agent Initiated whatever the configuration says.
 *
 * `apply` runs inside the exchange that delivered the configuration (either side's), so the
 * results of that exchange already say whether the listener is open.
 */
export class AgentCommunication {
  private listener: AgentListener | null = null;
  private listenerError: string | undefined;
  private direction: AgentDirection = 'agent-initiated';
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  readonly rejected = { count: 0, last: '' };

  constructor(
    private readonly state: StateDir,
    private readonly o: AgentCommunicationOptions,
  ) {}

  private settings(): ListenerSettings {
    return { ...loadListenerSettings(this.state), ...(this.o.listener ?? {}) };
  }

  /** Follows the configuration applied now (at start). */
  start(): Promise<void> {
    const applied = this.state.appliedConfiguration()?.configuration as SecurityConfiguration | undefined;
    return applied ? this.apply(applied) : Promise.resolve();
  }

  /** Whether the agent heartbeats on its own under the applied direction. */
  heartbeats(): boolean {
    return agentSendsHeartbeats(this.direction);
  }

  /** Where the listener is bound now, or null. */
  listening(): { host: string; port: number } | null {
    return this.listener ? { host: this.listener.host, port: this.listener.port } : null;
  }

  currentState(): CommunicationState {
    const announce = this.settings().announceAddress;
    return {
      direction: this.direction,
      listener: this.listener ? { port: this.listener.port, ...(announce ? { address: announce } : {}) } : null,
      ...(this.listenerError ? { listenerError: this.listenerError.slice(0, 1024) } : {}),
    };
  }

  /** The hooks heartbeat() takes: report what the agent does, and follow each configuration applied. */
  hooks(): { state(): CommunicationState; afterApply(c: SecurityConfiguration): Promise<void> } {
    return { state: () => this.currentState(), afterApply: (c) => this.apply(c) };
  }

  /**
   * Closes the listener and opens it again for the configuration applied now: after a
   * reactivation the agent serves its new certificate, which the manager's next call expects
   * (the dialer checks the serial it issued). Serialized with `apply`; never throws.
   */
  reopen(): Promise<void> {
    const run = this.queue.then(async () => {
      const current = this.listener;
      this.listener = null;
      await current?.close();
      const applied = this.state.appliedConfiguration()?.configuration as SecurityConfiguration | undefined;
      if (applied) await this.reconcile(applied);
    });
    this.queue = run.catch(() => {});
    return this.queue;
  }

  /** Opens, moves or closes the listener to match `configuration`. Serialized; never throws. */
  apply(configuration: SecurityConfiguration): Promise<void> {
    const run = this.queue.then(() => this.reconcile(configuration));
    this.queue = run.catch(() => {});
    return this.queue;
  }

  private async reconcile(configuration: SecurityConfiguration): Promise<void> {
    if (this.closed) return;
    const platform = this.o.platform ?? process.platform;
    const before = this.heartbeats();
    const isMac = platform === 'darwin';
    this.direction = isMac ? 'agent-initiated' : configuration.communication.direction;
    const want = agentListens(configuration.communication, platform);
    const s = this.settings();
    const port = s.port ?? configuration.communication.listeningPort;
    const current = this.listener;
    const samePlace =
      current &&
      (port === 0 || current.port === port) &&
      (s.bindAddress === undefined || current.host === s.bindAddress);
    if (current && (!want || !samePlace)) {
      this.listener = null;
      // Not awaited: the exchange that delivered this configuration may be running on it, and
      // finishes; the port stops accepting now.
      void current.close();
      this.o.logger.info({ port: current.port }, 'listener closed');
      this.state.spool().append({
        type: 'listener.closed',
        severity: 'info',
        message: `stopped listening on port ${current.port} (${this.direction})`,
      });
    }
    this.listenerError = undefined;
    if (want && !this.listener) {
      try {
        this.listener = await AgentListener.open({
          port,
          ...(s.bindAddress ? { host: s.bindAddress } : {}),
          credentials: this.state.credentials(),
          logger: this.o.logger,
          handlers: {
            report: () => this.report(),
            reply: (r) => this.reply(r),
            ...(this.o.onDeactivated ? { deactivated: this.o.onDeactivated } : {}),
            ...(this.o.onRefused ? { refused: this.o.onRefused } : {}),
          },
          // The restriction holds where nftables is absent (docs/architecture.md "Firewall").
          guard: listenerGuard(this.state),
          onRejected: (why) => {
            this.rejected.count += 1;
            this.rejected.last = why;
          },
        });
        this.o.logger.info(
          { host: this.listener.host, port: this.listener.port, direction: this.direction },
          'listening for the manager',
        );
        this.state.spool().append({
          type: 'listener.opened',
          severity: 'info',
          message: `listening for the manager on port ${this.listener.port} (${this.direction})`,
          data: { port: this.listener.port },
        });
      } catch (e) {
        this.listenerError = `cannot listen on port ${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`;
        this.o.logger.error({ port }, this.listenerError);
        this.state.spool().append({ type: 'listener.failed', severity: 'error', message: this.listenerError });
      }
    } else if (!want && configuration.communication.listen && isMac) {
      this.listenerError = 'macOS agents support Agent Initiated communication only; not listening';
    }
    if (before !== this.heartbeats()) this.o.onChange?.();
  }

  /** The manager asked for the report. */
  private report() {
    return this.state.withLock(async () =>
      buildReport(
        this.state,
        withFirewallReport(await firewallReport(this.state), {
          ...(this.o.drivers ? { drivers: this.o.drivers } : {}),
          communication: this.currentState(),
        }),
      ),
    );
  }

  /**
   * The manager's reply to the report: acknowledge events, run operations, return results. The
   * continuity token and an upgrade order come this way too (docs/deployment.md "Cloned hosts",
   * "Upgrades"): a Manager Initiated agent has no other contact.
   */
  private async reply(reply: HeartbeatReply): Promise<OperationResults> {
    const results = await this.state.withLock(async () => {
      // Kept before anything else: the next report must present it.
      if (reply.continuity) this.state.saveContinuity(reply.continuity);
      this.state.spool().acknowledge(reply.eventsAckedThrough);
      this.state.saveHeartbeatInterval(reply.heartbeatIntervalSeconds);
      this.state.saveCurrentPolicy(reply);
      const results = await runOperations(this.state, reply.operations, { afterApply: (c) => this.apply(c) });
      this.state.saveLastContact({ time: Date.now(), ok: true, clockOffsetMs: Date.now() - reply.serverTime });
      // The manager has this version's report: it confirms the upgrade that installed it.
      settleUpgrade(this.state, this.o.logger, true);
      return {
        protocolVersion: PROTOCOL_VERSION,
        exchangeId: reply.exchangeId,
        results,
        communication: this.currentState(),
      };
    });
    if (reply.upgrade) this.startUpgrade(reply.upgrade);
    return results;
  }

  /**
   * Acts on an upgrade order after the exchange (the download takes longer than the manager
   * waits for the results); an order sent again meanwhile is ignored (upgrade.ts).
   */
  private startUpgrade(order: UpgradeOrder): void {
    const confirmWithinSeconds = confirmSecondsFor(this.heartbeats(), this.state.heartbeatIntervalSeconds() ?? 600);
    void startUpgrade(this.state, order, { logger: this.o.logger, confirmWithinSeconds }).catch((e: Error) =>
      this.o.logger.error({ upgradeId: order.id }, `agent upgrade could not start: ${e.message}`),
    );
  }

  /** Closes the listener (the agent stops). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    const l = this.listener;
    this.listener = null;
    await l?.close();
  }
}
