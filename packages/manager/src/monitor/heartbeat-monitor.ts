import { clockShiftThresholdMs, type SettingValues } from '@palisade/core';
import { type HeartbeatReport, isHostShutdownNotice } from '@palisade/protocol';
import type { Logger } from 'pino';
import type { AlertChange, MonitorStore } from '../store/monitor-store.js';
import type { ComputerRecord } from '../store/store.js';

export interface HeartbeatObservation {
  /** The computer as it was before this heartbeat was stored (its previous clock offset). */
  computer: ComputerRecord;
  report: HeartbeatReport;
  /** The computer's effective settings. */
  settings: SettingValues;
  /** The agent reported the fingerprint the manager expects. */
  configurationCurrent: boolean;
  /** Offset this heartbeat measured, RTT-corrected (`clockOffsetMs` in core). */
  clockOffsetMs: number;
  now: number;
}

/**
 * The power state a report leaves: stopped when its last lifecycle event is the shutdown
 * notice, running otherwise (the heartbeat itself shows the machine runs). A notice followed
 * by `agent.started` (the host came back before the notice was acknowledged) is running.
 */
export function reportedVmState(events: HeartbeatReport['events']): 'running' | 'stopped' {
  let state: 'running' | 'stopped' = 'running';
  for (const e of events) {
    if (isHostShutdownNotice(e)) state = 'stopped';
    else if (e.type === 'agent.started') state = 'running';
  }
  return state;
}

/**
 * The monitor's hooks on the ingest path (DESIGN.md "Computer status and alerts"): after a
 * heartbeat is stored, and after an operation result. They run after the heartbeat's own commit
 * and never fail it: the events are stored and acknowledged whatever happens here, and a
 * failure is logged (the next heartbeat settles the state again).
 */
export class HeartbeatMonitor {
  constructor(
    private readonly store: MonitorStore,
    private readonly logger: Logger,
    /** Called after alerts changed or events were stored (wakes the notifiers). */
    private readonly onStored: (changes: AlertChange[]) => void = () => {},
  ) {}

  private log(changes: AlertChange[], computerId: number): void {
    for (const c of changes) this.logger.info({ computerId, alert: c.alertId, type: c.type }, `alert ${c.action}`);
  }

  async onHeartbeat(o: HeartbeatObservation): Promise<void> {
    try {
      const changes = await this.store.recordHeartbeatOutcome({
        computerId: o.computer.id,
        now: o.now,
        clockOffsetMs: o.clockOffsetMs,
        previousClockOffsetMs: o.computer.clockOffsetMs,
        clockThresholdMs: clockShiftThresholdMs(o.settings.platformSettingHeartbeatLocalTimeShiftAlertThreshold),
        drivers: o.report.drivers,
        reportedVmState: reportedVmState(o.report.events),
        configurationCurrent: o.configurationCurrent,
      });
      this.log(changes, o.computer.id);
      if (changes.length > 0 || o.report.events.length > 0) this.onStored(changes);
    } catch (e) {
      this.logger.error(
        { err: e, computerId: o.computer.id },
        'monitor: could not record the heartbeat outcome; the next heartbeat will',
      );
    }
  }

  async onOperationResult(r: {
    computerId: number;
    operationId: number;
    status: 'succeeded' | 'failed';
    reason: string | null;
    now: number;
  }): Promise<void> {
    try {
      const changes = await this.store.recordOperationResult(r);
      this.log(changes, r.computerId);
      if (changes.length > 0) this.onStored(changes);
    } catch (e) {
      this.logger.error({ err: e, computerId: r.computerId }, 'monitor: could not record the operation result');
    }
  }

  /** The inventory API's power state; null for an unknown computer. */
  /** From the vmstate API; `actor` is audited with a change. */
  async setVmState(computerId: number, state: 'running' | 'stopped', now: number, actor?: string) {
    const r = await this.store.setVmState(computerId, state, 'api', now, actor);
    if (r) {
      this.log(r.changes, computerId);
      if (r.changes.length > 0) this.onStored(r.changes);
    }
    return r;
  }
}
