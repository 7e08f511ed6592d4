import { offlineAlertWanted } from '@palisade/core';
import type { ConfigurationService } from '../services/configuration-service.js';
import type { AlertChange, Store } from '../store/store.js';
import { INACTIVE_VM_SETTING, offlineAlert } from './alert-rules.js';

export interface OfflineTransition {
  computerId: number;
  hostName: string;
  lastCommunication: number | null;
  offlineDeadline: number;
  vmStopped: boolean;
  /** The computer-offline alert raised for it; null for a stopped VM without the setting. */
  alertId: number | null;
}

/**
 * Marks Offline every active computer whose deadline passed and that is not Offline already,
 * and raises its computer-offline alert (a stopped VM only when its effective
 * `platformSettingHeartbeatInactiveVmOfflineAlertEnabled` is `true`), in batches of
 * `batchSize`, each one transaction: the rows and their alerts commit together. Each batch is
 * one conditional update (ComputerRepository.markOfflineDue), so the work is proportional to
 * the transitions, and of two nodes sweeping at once only one gets each row and raises its alert.
 */
export async function sweepOffline(
  store: Store,
  configurations: ConfigurationService,
  now: number,
  batchSize = 1000,
): Promise<{ transitions: OfflineTransition[]; changes: AlertChange[] }> {
  const transitions: OfflineTransition[] = [];
  const changes: AlertChange[] = [];
  for (;;) {
    const n = await store.transaction(async (tx) => {
      const rows = await tx.computers.markOfflineDue(now, batchSize);
      const stopped = rows.filter((r) => r.vmState === 'stopped');
      const setting = await configurations.settingFor(tx, stopped, INACTIVE_VM_SETTING);
      const wanted = rows.filter((r) => offlineAlertWanted(r.vmState === 'stopped', setting.get(r.id) ?? 'false'));
      const raised = await tx.alerts.raise(
        wanted.map((r) => offlineAlert({ ...r, vmStopped: r.vmState === 'stopped' })),
        now,
      );
      const alertOf = new Map(raised.map((c) => [c.computerId, c.alertId]));
      for (const r of rows) {
        transitions.push({
          computerId: r.id,
          hostName: r.hostName,
          lastCommunication: r.lastCommunication,
          offlineDeadline: r.offlineDeadline,
          vmStopped: r.vmState === 'stopped',
          alertId: alertOf.get(r.id) ?? null,
        });
      }
      changes.push(...raised);
      return rows.length;
    });
    if (n < batchSize) break;
  }
  return { transitions, changes };
}
