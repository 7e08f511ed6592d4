import { clockOffsetMs, jitteredDelayMs, offlineDeadline } from '@palisade/core';
import {
  type CommunicationState,
  type HeartbeatReply,
  type HeartbeatReport,
  type OperationResults,
  PROTOCOL_VERSION,
} from '@palisade/protocol';
import type { Logger } from 'pino';
import { PalisadeError } from './errors.js';
import type { HeartbeatMonitor } from './monitor/heartbeat-monitor.js';
import type { ConfigurationService, EffectiveConfiguration } from './services/configuration-service.js';
import type { DialerStore } from './store/dialer-store.js';
import type { ComputerRecord, Store } from './store/store.js';

/** How a report arrived: which side dialled, from where, over what TLS. */
export interface ExchangeTransport {
  /** `agent`: the agent dialled the heartbeat port; `manager`: the dialer called the agent's listener. */
  initiatedBy: 'agent' | 'manager';
  /** The agent's address: the connection's source, or the address the manager dialled. */
  remoteIp: string | null;
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  /**
   * Round trip around the report, ms, when the manager measured it (it asked for the report);
   * absent: the agent's own figure from its previous exchange (`agent.lastRoundTripMs`).
   */
  roundTripMs?: number;
}

/** A stored report and what to send back; the transport adds its `exchangeId`. */
export interface IngestedReport {
  reply: Omit<HeartbeatReply, 'exchangeId'>;
  /** The operations handed out in this reply: results are accepted for these only. */
  operationIds: number[];
  effective: EffectiveConfiguration;
}

export interface HeartbeatIngestDeps {
  store: Store;
  configurations: ConfigurationService;
  heartbeatIntervalSeconds: number;
  logger: Logger;
  /** Alerts and power state from each report and operation result. */
  monitor?: HeartbeatMonitor;
  /** The dialer's schedule: which side calls whom next. Absent: nothing is scheduled. */
  dialTargets?: DialerStore;
  /** Told how long each heartbeat's store transaction took, seconds (`GET /metrics`). */
  observeStore?: (seconds: number) => void;
  now?: () => number;
}

/**
 * The one ingest path for heartbeats, whichever side dialled (DESIGN.md "One ingest path in
 * the manager whichever side dialled; two transports"): the agent endpoint on 4120 and the
 * dialer that calls agents' listeners hand every report and every result here, so events,
 * status, the offline deadline, alerts, expected fingerprints and operations follow the same
 * rules in all three directions. Transports only authenticate, carry bytes and bind results
 * to their exchange.
 */
export class HeartbeatIngest {
  private readonly now: () => number;

  constructor(private readonly deps: HeartbeatIngestDeps) {
    this.now = deps.now ?? Date.now;
  }

  get heartbeatIntervalSeconds(): number {
    return this.deps.heartbeatIntervalSeconds;
  }

  private checkProtocol(v: number): void {
    if (v !== PROTOCOL_VERSION)
      throw new PalisadeError('PROTOCOL_VERSION_UNSUPPORTED', `got ${v}, this manager speaks ${PROTOCOL_VERSION}`);
  }

  /** When a manager-initiated computer is called next: one interval after this contact, jittered. */
  private nextScheduled(t: number): number {
    return t + jitteredDelayMs(this.deps.heartbeatIntervalSeconds);
  }

  /**
   * Stores a report (status, events idempotently, offline deadline, expected fingerprint) in one
   * transaction, runs the monitor's hooks, notes the agent's communication for the dialer, and
   * returns the reply with the operations the agent must run now.
   */
  async ingestReport(
    computer: ComputerRecord,
    report: HeartbeatReport,
    transport: ExchangeTransport,
  ): Promise<IngestedReport> {
    const { store, configurations } = this.deps;
    this.checkProtocol(report.protocolVersion);
    const t = this.now();
    const offset = clockOffsetMs(report.agent.clockTime, t, transport.roundTripMs ?? report.agent.lastRoundTripMs);
    // The heartbeat's own update comes first and locks the computer's row; only then is what
    // it should run read and stored as expected. A policy change committing meanwhile either
    // waits for that row or is seen by the read, so the expected fingerprint written here is
    // never older than the policies (policy-service.ts writes the same column).
    const txStart = performance.now();
    const { stored, effective } = await store.transaction(async (tx) => {
      const stored = await tx.recordHeartbeat({
        computerId: computer.id,
        now: t,
        offlineDeadline: offlineDeadline(t, this.deps.heartbeatIntervalSeconds),
        agentVersion: report.agent.version,
        platform: report.agent.platform,
        hostName: report.agent.hostName,
        lastIp: transport.remoteIp,
        clockOffsetMs: offset,
        uptimeSeconds: report.agent.uptimeSeconds,
        drivers: report.drivers,
        counters: report.counters,
        appliedFingerprint: report.configurationFingerprint,
        tlsProtocol: transport.tlsProtocol,
        tlsCipherSuite: transport.tlsCipherSuite,
        events: report.events,
      });
      const current = (await tx.getComputer(computer.id)) ?? computer;
      const effective = await configurations.forComputer(
        { id: computer.id, policyId: current.policyId, platform: report.agent.platform },
        tx,
      );
      await tx.setExpectedFingerprint([computer.id], effective.fingerprint);
      return { stored, effective };
    });
    this.deps.observeStore?.((performance.now() - txStart) / 1000);
    const configurationCurrent = report.configurationFingerprint === effective.fingerprint;
    await this.deps.monitor?.onHeartbeat({
      computer,
      report,
      settings: effective.settings,
      configurationCurrent,
      clockOffsetMs: offset,
      now: t,
    });
    await this.noteContact(computer.id, effective, report.communication, t);
    const operations: HeartbeatReply['operations'] = [];
    if (!configurationCurrent) {
      const op = await store.ensureConfigurationOperation(
        computer.id,
        effective.fingerprint,
        effective.configuration,
        t,
      );
      operations.push({
        id: op.id,
        type: 'applyConfiguration',
        fingerprint: op.fingerprint,
        configuration: op.payload,
      });
      await store.markOperationsSent([op.id], t);
    }
    return {
      reply: {
        protocolVersion: PROTOCOL_VERSION,
        computerId: computer.id,
        serverTime: t,
        eventsAckedThrough: stored.eventsAckedThrough,
        eventsStored: stored.eventsStored,
        operations,
        heartbeatIntervalSeconds: this.deps.heartbeatIntervalSeconds,
      },
      operationIds: operations.map((o) => o.id),
      effective,
    };
  }

  /**
   * Records the results of operations handed out in one exchange (`open`: those still awaiting
   * a result; each is removed as its result is taken). A result for anything else is ignored.
   */
  async ingestResults(
    computer: ComputerRecord,
    open: Set<number>,
    body: OperationResults,
  ): Promise<{ accepted: number[]; ignored: number[] }> {
    this.checkProtocol(body.protocolVersion);
    const t = this.now();
    const accepted: number[] = [];
    const ignored: number[] = [];
    for (const r of body.results) {
      const ok =
        open.has(r.id) &&
        (await this.deps.store.completeOperation({
          computerId: computer.id,
          id: r.id,
          status: r.status,
          reason: r.reason ?? null,
          fingerprint: r.fingerprint ?? null,
          now: t,
        }));
      (ok ? accepted : ignored).push(r.id);
      open.delete(r.id);
      if (ok && r.status === 'failed')
        this.deps.logger.warn(
          { computerId: computer.id, operation: r.id, reason: r.reason },
          'configuration update failed on the agent',
        );
      if (ok)
        await this.deps.monitor?.onOperationResult({
          computerId: computer.id,
          operationId: r.id,
          status: r.status,
          reason: r.reason ?? null,
          now: t,
        });
    }
    if (body.communication && this.deps.dialTargets) {
      try {
        await this.deps.dialTargets.noteCommunication(computer.id, body.communication, t, this.nextScheduled(t));
      } catch (e) {
        this.deps.logger.error(
          { err: e, computerId: computer.id },
          "dialer: could not record the agent's communication; its next report will",
        );
      }
    }
    return { accepted, ignored };
  }

  /**
   * A computer just activated: the dialer learns where it will listen (its source address, or
   * the listener it announced) and, if its policy says Manager Initiated, calls it one interval
   * from now — it will not heartbeat by itself.
   */
  async activated(
    computerId: number,
    effective: EffectiveConfiguration,
    remoteIp: string | null,
    listener: { port: number; address?: string } | undefined,
  ): Promise<void> {
    const t = this.now();
    const c = effective.configuration.communication;
    const communication: CommunicationState = {
      direction: c.direction,
      // The computer has no last IP before its first report: until then its source address is
      // where to call it, unless it announced another.
      listener:
        c.direction === 'agent-initiated'
          ? null
          : {
              port: listener?.port ?? c.listeningPort,
              ...((listener?.address ?? remoteIp) ? { address: (listener?.address ?? remoteIp)! } : {}),
            },
    };
    await this.noteContact(computerId, effective, communication, t);
  }

  private async noteContact(
    computerId: number,
    effective: EffectiveConfiguration,
    communication: CommunicationState | undefined,
    t: number,
  ): Promise<void> {
    if (!this.deps.dialTargets) return;
    try {
      await this.deps.dialTargets.noteContact({
        computerId,
        expectedDirection: effective.configuration.communication.direction,
        defaultPort: effective.configuration.communication.listeningPort,
        ...(communication ? { communication } : {}),
        now: t,
        nextScheduledAt: this.nextScheduled(t),
      });
    } catch (e) {
      // The report is stored and acknowledged whatever happens here; the next contact settles it.
      this.deps.logger.error({ err: e, computerId }, 'dialer: could not record the contact; the next one will');
    }
  }
}
