import { clockShiftThresholdMs, offlineAlertWanted, type SettingValues } from '@palisade/core';
import { type HeartbeatReport, isHostShutdownNotice } from '@palisade/protocol';
import type { Logger } from 'pino';
import type { ConfigurationService } from '../services/configuration-service.js';
import type { AlertChange, ComputerRecord, NewAlert, Store, StoreTransaction } from '../store/store.js';
import {
  type EndedUpgrade,
  heartbeatAlertChanges,
  INACTIVE_VM_SETTING,
  offlineAlert,
  updateFailedAlert,
  upgradeFailedAlert,
} from './alert-rules.js';

export interface HeartbeatObservation {
  /** The computer as this heartbeat left it (its power state is still the one before the report). */
  computer: ComputerRecord;
  /** Clock offset the previous heartbeat recorded; null before the second one. */
  previousClockOffsetMs: number | null;
  /** The report's events (a shutdown notice among them stops the VM) and drivers. */
  events: HeartbeatReport['events'];
  drivers: HeartbeatReport['drivers'];
  /** The computer's effective settings. */
  settings: SettingValues;
  /** The agent reported the fingerprint the manager expects. */
  configurationCurrent: boolean;
  /** Offset this heartbeat measured, RTT-corrected (`clockOffsetMs` in core). */
  clockOffsetMs: number;
  /** Events of the report its computer's event rate deferred; default 0 (raises and clears `events-deferred`). */
  eventsDeferred?: number;
  /** The event rate in force, for the alert's message. */
  eventRate?: { perMinute: number; burst: number };
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
 * The alerts of upgrade orders that ended, in the transaction that ended them: `failed` and
 * `rolled-back` raise agent-upgrade-failed (one open per computer: a second failure while it is
 * open raises nothing new), `succeeded` clears it. Every path that ends an order calls this: a
 * contact (the agent's outcome, its new version, or the order's life over), the background
 * sweep, and listing a computer's upgrades.
 */
export async function upgradeAlertChanges(
  tx: StoreTransaction,
  ended: readonly EndedUpgrade[],
  now: number,
): Promise<AlertChange[]> {
  const changes: AlertChange[] = [];
  const raise: NewAlert[] = [];
  for (const u of ended) {
    if (u.status === 'succeeded') {
      const open = (await tx.alerts.open(u.computerId)).filter((a) => a.type === 'agent-upgrade-failed');
      changes.push(
        ...(await tx.alerts.clear(
          open.map((a) => a.id),
          now,
        )),
      );
      continue;
    }
    const c = await tx.computers.get(u.computerId);
    if (c) raise.push(upgradeFailedAlert(c, u));
  }
  // One raise for a sweep's whole batch: its inserts go in chunks of many rows.
  changes.push(...(await tx.alerts.raise(raise, now)));
  return changes;
}

/**
 * The monitor's hooks on the ingest path (docs/architecture.md "Computer status and alerts"): inside the
 * transaction of a heartbeat, and of an operation result, under a savepoint. They never fail
 * it: a failure undoes only the monitor's writes and is logged, the events are stored and
 * acknowledged whatever happens here, and the next heartbeat settles the state again. Every
 * raise, clear and dismissal writes the alert outbox in the same transaction, so a notifier
 * never misses one; {@link published} runs once the transaction committed.
 */
export class HeartbeatMonitor {
  constructor(
    private readonly store: Store,
    private readonly configurations: ConfigurationService,
    private readonly logger: Logger,
    /** Called after alerts changed or events were stored (wakes the notifiers). */
    private readonly onStored: (changes: AlertChange[]) => void = () => {},
  ) {}

  /**
   * After a heartbeat is stored, in its transaction: the power state follows the report, and
   * the alerts follow the rules (alert-rules.ts). Returns the alert changes, to hand to
   * {@link published} after the commit.
   */
  async onHeartbeat(tx: StoreTransaction, o: HeartbeatObservation): Promise<AlertChange[]> {
    const c = o.computer;
    try {
      return await tx.savepoint(async () => {
        const vm = reportedVmState(o.events) === 'stopped' ? 'stopped' : c.vmState === 'stopped' ? 'running' : null;
        if (vm !== null && vm !== c.vmState) await tx.computers.setVmState(c.id, vm, 'agent', o.now);
        const d = heartbeatAlertChanges(await tx.alerts.open(c.id), {
          computerId: c.id,
          hostName: c.hostName,
          clockOffsetMs: o.clockOffsetMs,
          previousClockOffsetMs: o.previousClockOffsetMs,
          clockThresholdMs: clockShiftThresholdMs(o.settings.platformSettingHeartbeatLocalTimeShiftAlertThreshold),
          drivers: o.drivers,
          configurationCurrent: o.configurationCurrent,
          ...(o.eventsDeferred !== undefined ? { eventsDeferred: o.eventsDeferred } : {}),
          ...(o.eventRate ? { eventRate: o.eventRate } : {}),
        });
        return [...(await tx.alerts.clear(d.clear, o.now)), ...(await tx.alerts.raise(d.raise, o.now))];
      });
    } catch (e) {
      this.logger.error(
        { err: e, computerId: c.id },
        'monitor: could not record the heartbeat outcome; the next heartbeat will',
      );
      return [];
    }
  }

  /**
   * A configuration update's outcome, in the transaction recording it: failed raises
   * configuration-update-failed with the agent's reason (one open per computer); a later
   * success clears it.
   */
  async onOperationResult(
    tx: StoreTransaction,
    r: { computerId: number; operationId: number; status: 'succeeded' | 'failed'; reason: string | null; now: number },
  ): Promise<AlertChange[]> {
    try {
      return await tx.savepoint(async () => {
        if (r.status === 'succeeded') {
          const open = (await tx.alerts.open(r.computerId)).filter((a) => a.type === 'configuration-update-failed');
          return tx.alerts.clear(
            open.map((a) => a.id),
            r.now,
          );
        }
        const c = await tx.computers.get(r.computerId);
        return c ? tx.alerts.raise([updateFailedAlert(c, r.operationId, r.reason)], r.now) : [];
      });
    } catch (e) {
      this.logger.error({ err: e, computerId: r.computerId }, 'monitor: could not record the operation result');
      return [];
    }
  }

  /**
   * An upgrade order a contact ended, in that contact's transaction ({@link upgradeAlertChanges});
   * like every hook here it never fails the contact.
   */
  async onUpgradeEnded(tx: StoreTransaction, ended: EndedUpgrade, now: number): Promise<AlertChange[]> {
    try {
      return await tx.savepoint(() => upgradeAlertChanges(tx, [ended], now));
    } catch (e) {
      this.logger.error({ err: e, computerId: ended.computerId }, 'monitor: could not record the upgrade outcome');
      return [];
    }
  }

  /**
   * After the transaction that made `changes` committed: logs them and wakes the notifiers if
   * anything is there to send (alert changes, or events stored).
   */
  published(computerId: number, changes: AlertChange[], eventsStored: boolean): void {
    for (const c of changes) this.logger.info({ computerId, alert: c.alertId, type: c.type }, `alert ${c.action}`);
    if (changes.length > 0 || eventsStored) this.onStored(changes);
  }

  /**
   * Records a computer's power state from the inventory API (`actor` is audited with a change,
   * in the same transaction). On a computer already Offline it settles the offline alert at
   * once: a stopped VM without the inactive-VM setting clears it (its silence is explained); a
   * running one (or the setting `true`) raises it. Null for an unknown computer.
   */
  async setVmState(
    computerId: number,
    state: 'running' | 'stopped',
    now: number,
    actor?: string,
  ): Promise<{ changed: boolean; changes: AlertChange[] } | null> {
    const r = await this.store.transaction(async (tx) => {
      const set = await tx.computers.setVmState(computerId, state, 'api', now);
      if (!set) return null;
      if (!set.changed) return { changed: false, changes: [] };
      const c = set.before;
      if (actor !== undefined) {
        await tx.audit.insert([
          {
            time: now,
            actor,
            action: 'computer.vmstate',
            targetType: 'computer',
            targetId: computerId,
            setting: 'vmState',
            oldValue: c.vmState,
            newValue: state,
          },
        ]);
      }
      if (c.offlineSince === null || c.state !== 'active') return { changed: true, changes: [] };
      const setting =
        state === 'stopped'
          ? await this.configurations.settingFor(tx, [c], INACTIVE_VM_SETTING)
          : new Map<number, string>();
      if (offlineAlertWanted(state === 'stopped', setting.get(computerId) ?? 'false')) {
        const alert = offlineAlert({
          id: c.id,
          hostName: c.hostName,
          lastCommunication: c.lastCommunication,
          vmStopped: state === 'stopped',
        });
        return { changed: true, changes: await tx.alerts.raise([alert], now) };
      }
      const open = (await tx.alerts.open(computerId)).filter((a) => a.type === 'computer-offline');
      return {
        changed: true,
        changes: await tx.alerts.clear(
          open.map((a) => a.id),
          now,
        ),
      };
    });
    if (r) this.published(computerId, r.changes, false);
    return r;
  }
}
