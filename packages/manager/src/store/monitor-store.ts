import {
  ALERT_TYPES,
  type AlertType,
  clockDecision,
  driverAlertChanges,
  isAlertType,
  offlineAlertWanted,
  PolicyTree,
  type ReportedDriver,
  type SettingOverrides,
} from '@palisade/core';
import { type Generated, type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { NotifierSettings } from '../notifiers/notifier-config.js';
import { num, numOrNull } from './column-values.js';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import type { AuditAction, Store } from './store.js';

/** Tables of 0003_monitoring beside the shared ones (see migration-0003-monitoring.ts). */
export interface MonitorTables {
  alerts: {
    id: Generated<number>;
    type: string;
    severity: string;
    computer_id: number | null;
    subject: string;
    message: string;
    data: string | null;
    raised_at: number;
    cleared_at: number | null;
    dismissed_at: number | null;
    dismissed_by: string | null;
  };
  alert_notifications: { id: Generated<number>; alert_id: number; action: string; time: number };
  notifiers: {
    id: Generated<number>;
    name: string;
    kind: string;
    config: string;
    enabled: number;
    created_at: number;
    updated_at: number;
    alert_cursor: number;
    event_cursor: number;
    delivered_count: Generated<number>;
    last_delivered_at: number | null;
    failures: Generated<number>;
    last_error: string | null;
    last_error_at: number | null;
    next_attempt_at: Generated<number>;
    lease_owner: string | null;
    lease_until: number | null;
  };
}
export type MonitorDatabase = Database & MonitorTables;
type Tx = Transaction<MonitorDatabase>;

export type AlertAction = 'raised' | 'cleared' | 'dismissed';

export interface AlertRecord {
  id: number;
  type: AlertType;
  severity: string;
  computerId: number | null;
  /** The computer's host name, joined for display; null for manager-level alerts. */
  hostName: string | null;
  subject: string;
  message: string;
  data: Record<string, unknown> | null;
  raisedAt: number;
  clearedAt: number | null;
  dismissedAt: number | null;
  dismissedBy: string | null;
}

/** One raise, clear or dismissal, as written to the alert outbox. */
export interface AlertChange {
  alertId: number;
  action: AlertAction;
  type: AlertType;
  computerId: number | null;
}

export interface OfflineTransition {
  computerId: number;
  hostName: string;
  lastCommunication: number | null;
  offlineDeadline: number;
  vmStopped: boolean;
  /** The computer-offline alert raised for it; null for a stopped VM without the setting. */
  alertId: number | null;
}

export interface HeartbeatOutcomeWrite {
  computerId: number;
  now: number;
  /** Offset this heartbeat measured (agent clock − manager clock, RTT-corrected), ms. */
  clockOffsetMs: number;
  /** The offset recorded by the previous heartbeat; null for the first one. */
  previousClockOffsetMs: number | null;
  /** From the effective `platformSettingHeartbeatLocalTimeShiftAlertThreshold`; null = Unlimited. */
  clockThresholdMs: number | null;
  drivers: readonly ReportedDriver[];
  /** `stopped` when the report ends with a shutdown notice, else `running`. */
  reportedVmState: 'running' | 'stopped';
  /** The agent runs the configuration the manager expects: a failed update is behind it. */
  configurationCurrent: boolean;
}

export interface NotifierRecord {
  id: number;
  name: string;
  settings: NotifierSettings;
  enabled: boolean;
  createdAt: number;
  updatedAt: number;
  alertCursor: number;
  eventCursor: number;
  deliveredCount: number;
  lastDeliveredAt: number | null;
  failures: number;
  lastError: string | null;
  lastErrorAt: number | null;
  nextAttemptAt: number;
}

export interface PendingAlertNotification {
  cursor: number;
  action: AlertAction;
  time: number;
  alert: AlertRecord;
}

export interface PendingEvent {
  cursor: number;
  computerId: number;
  hostName: string | null;
  seq: number;
  type: string;
  severity: string;
  message: string;
  agentTime: number;
  receivedAt: number;
  data: Record<string, unknown> | null;
}

export interface EventQuery {
  computerId?: number;
  type?: string;
  severity?: string;
  /** Received at or after, epoch ms. */
  since?: number;
  order: 'asc' | 'desc';
  /** Exclusive: rows after this id in `order`. */
  afterId?: number;
  limit: number;
}

const iso = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());

const INACTIVE_VM_SETTING = 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled';
/** Rows per multi-row statement: well under SQLite's 32766 bound parameters. */
const CHUNK = 500;

function chunked<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

/** "+1 h 2 min 3 s" for a signed duration. */
export function formatSignedDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  let s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  const parts = [h ? `${h} h` : '', m ? `${m} min` : '', s || (!h && !m) ? `${s} s` : ''].filter(Boolean);
  return `${sign}${parts.join(' ')}`;
}

function toAlert(r: Selectable<MonitorTables['alerts']> & { host_name?: string | null }): AlertRecord {
  return {
    id: num(r.id),
    type: (isAlertType(r.type) ? r.type : 'computer-offline') as AlertType,
    severity: r.severity,
    computerId: numOrNull(r.computer_id),
    hostName: r.host_name ?? null,
    subject: r.subject,
    message: r.message,
    data: r.data === null ? null : JSON.parse(r.data),
    raisedAt: num(r.raised_at),
    clearedAt: numOrNull(r.cleared_at),
    dismissedAt: numOrNull(r.dismissed_at),
    dismissedBy: r.dismissed_by,
  };
}

function toNotifier(r: Selectable<MonitorTables['notifiers']>): NotifierRecord {
  return {
    id: num(r.id),
    name: r.name,
    settings: JSON.parse(r.config) as NotifierSettings,
    enabled: num(r.enabled) === 1,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    alertCursor: num(r.alert_cursor),
    eventCursor: num(r.event_cursor),
    deliveredCount: num(r.delivered_count),
    lastDeliveredAt: numOrNull(r.last_delivered_at),
    failures: num(r.failures),
    lastError: r.last_error,
    lastErrorAt: numOrNull(r.last_error_at),
    nextAttemptAt: num(r.next_attempt_at),
  };
}

interface NewAlert {
  type: AlertType;
  computerId: number;
  subject?: string;
  message: string;
  data?: Record<string, unknown>;
}

/**
 * What the monitor keeps: offline transitions, alerts with their outbox, computers' power state,
 * and the notifiers that drain the outbox. A class over the same Kysely instance as the main
 * store (its tables come from migration 0003). Every change that raises, clears or dismisses
 * an alert writes the outbox row in the same transaction, so a notifier never misses one.
 */
export class MonitorStore {
  constructor(readonly db: Kysely<MonitorDatabase>) {}

  /** The monitor store sharing `store`'s database; only the Kysely store has one to share. */
  static over(store: Store): MonitorStore {
    if (!(store instanceof KyselyStore)) throw new Error('the monitor needs the Kysely store (SQLite or PostgreSQL)');
    return new MonitorStore(store.db as unknown as Kysely<MonitorDatabase>);
  }

  // ── alerts, inside a transaction ────────────────────────────────────────────────────────

  /** Inserts alerts that are not open already (the partial unique index decides) and their outbox rows. */
  private async raise(trx: Tx, alerts: readonly NewAlert[], now: number): Promise<AlertChange[]> {
    const out: AlertChange[] = [];
    for (const part of chunked(alerts)) {
      const rows = await trx
        .insertInto('alerts')
        .values(
          part.map((a) => ({
            type: a.type,
            severity: ALERT_TYPES[a.type].severity,
            computer_id: a.computerId,
            subject: a.subject ?? '',
            message: a.message,
            data: a.data ? JSON.stringify(a.data) : null,
            raised_at: now,
            cleared_at: null,
            dismissed_at: null,
            dismissed_by: null,
          })),
        )
        // Portable "raise once": the conflict is with alerts_open_unique; nothing is inserted.
        .onConflict((oc) => oc.doNothing())
        .returning(['id', 'type', 'computer_id'])
        .execute();
      out.push(
        ...rows.map((r) => ({
          alertId: num(r.id),
          action: 'raised' as const,
          type: r.type as AlertType,
          computerId: numOrNull(r.computer_id),
        })),
      );
    }
    await this.notify(trx, out, now);
    return out;
  }

  /** Clears open alerts (recorded, never deleted) and writes their outbox rows. */
  private async clear(trx: Tx, alertIds: readonly number[], now: number): Promise<AlertChange[]> {
    const out: AlertChange[] = [];
    for (const part of chunked(alertIds)) {
      const rows = await trx
        .updateTable('alerts')
        .set({ cleared_at: now })
        .where('id', 'in', part)
        .where('cleared_at', 'is', null)
        .returning(['id', 'type', 'computer_id'])
        .execute();
      out.push(
        ...rows.map((r) => ({
          alertId: num(r.id),
          action: 'cleared' as const,
          type: r.type as AlertType,
          computerId: numOrNull(r.computer_id),
        })),
      );
    }
    await this.notify(trx, out, now);
    return out;
  }

  private async notify(trx: Tx, changes: readonly AlertChange[], now: number): Promise<void> {
    for (const part of chunked(changes)) {
      await trx
        .insertInto('alert_notifications')
        .values(part.map((c) => ({ alert_id: c.alertId, action: c.action, time: now })))
        .execute();
    }
  }

  private async openAlerts(trx: Tx, computerId: number) {
    return trx
      .selectFrom('alerts')
      .select(['id', 'type', 'subject', 'data'])
      .where('computer_id', '=', computerId)
      .where('cleared_at', 'is', null)
      .execute();
  }

  /**
   * Effective `platformSettingHeartbeatInactiveVmOfflineAlertEnabled` of these computers, read
   * inside the transaction (on SQLite it holds the one connection: the main store cannot be
   * asked). Resolved by core's PolicyTree, as the configuration service does.
   */
  private async inactiveVmAlertSetting(
    trx: Tx,
    computers: ReadonlyArray<{ id: number; policyId: number; platform: string }>,
  ): Promise<Map<number, string>> {
    const out = new Map<number, string>();
    if (computers.length === 0) return out;
    const [policies, policySettings] = await Promise.all([
      trx.selectFrom('policies').select(['id', 'parent_id', 'name']).execute(),
      trx
        .selectFrom('policy_settings')
        .select(['policy_id', 'value'])
        .where('name', '=', INACTIVE_VM_SETTING)
        .execute(),
    ]);
    const own = new Map<number, string>();
    for (const part of chunked(computers.map((c) => c.id))) {
      const rows = await trx
        .selectFrom('computer_settings')
        .select(['computer_id', 'value'])
        .where('name', '=', INACTIVE_VM_SETTING)
        .where('computer_id', 'in', part)
        .execute();
      for (const r of rows) own.set(num(r.computer_id), r.value);
    }
    const byPolicy = new Map(policySettings.map((r) => [num(r.policy_id), r.value]));
    const tree = PolicyTree.from(
      policies.map((p) => {
        const v = byPolicy.get(num(p.id));
        return {
          id: num(p.id),
          parentId: numOrNull(p.parent_id),
          name: p.name,
          overrides: (v === undefined ? {} : { [INACTIVE_VM_SETTING]: v }) as SettingOverrides,
        };
      }),
    );
    for (const c of computers) {
      const v = own.get(c.id);
      const overrides = (v === undefined ? {} : { [INACTIVE_VM_SETTING]: v }) as SettingOverrides;
      out.set(
        c.id,
        tree.resolveForComputer({ policyId: c.policyId, overrides, platform: c.platform }).values[INACTIVE_VM_SETTING],
      );
    }
    return out;
  }

  // ── the offline sweep ───────────────────────────────────────────────────────────────────

  /**
   * Marks Offline every active computer whose deadline passed and that is not Offline already,
   * and raises its computer-offline alert, in batches of `batchSize`. Each batch is one
   * conditional `UPDATE … WHERE offline_deadline <= now AND offline_since IS NULL … RETURNING`
   * reading the partial index `computers_offline_due`, so the work is proportional to the
   * transitions, and of two nodes sweeping at once only one gets each row back (the other's
   * condition no longer holds) and raises its alert. Rows and alerts commit together.
   */
  async sweepOffline(
    now: number,
    batchSize = 1000,
  ): Promise<{ transitions: OfflineTransition[]; changes: AlertChange[] }> {
    const transitions: OfflineTransition[] = [];
    const changes: AlertChange[] = [];
    for (;;) {
      const n = await this.db.transaction().execute(async (trx) => {
        const rows = await trx
          .updateTable('computers')
          .set({ offline_since: now })
          .where('id', 'in', (eb) =>
            eb
              .selectFrom('computers')
              .select('id')
              .where('offline_deadline', '<=', now)
              .where('offline_since', 'is', null)
              .where(sql<boolean>`state = 'active'`)
              .orderBy('offline_deadline')
              .limit(batchSize),
          )
          .where('offline_deadline', '<=', now)
          .where('offline_since', 'is', null)
          .where(sql<boolean>`state = 'active'`)
          .returning(['id', 'host_name', 'policy_id', 'platform', 'vm_state', 'last_communication', 'offline_deadline'])
          .execute();
        const stopped = rows
          .filter((r) => r.vm_state === 'stopped')
          .map((r) => ({ id: num(r.id), policyId: num(r.policy_id), platform: r.platform }));
        const setting = await this.inactiveVmAlertSetting(trx, stopped);
        const wanted = rows.filter((r) =>
          offlineAlertWanted(r.vm_state === 'stopped', setting.get(num(r.id)) ?? 'false'),
        );
        const raised = await this.raise(
          trx,
          wanted.map((r) => ({
            type: 'computer-offline',
            computerId: num(r.id),
            message: `${r.host_name} is offline: no heartbeat since ${iso(numOrNull(r.last_communication))}${r.vm_state === 'stopped' ? ' (a stopped VM)' : ''}`,
            data: {
              lastCommunication: numOrNull(r.last_communication),
              offlineDeadline: numOrNull(r.offline_deadline),
              vmStopped: r.vm_state === 'stopped',
            },
          })),
          now,
        );
        const alertOf = new Map(raised.map((c) => [c.computerId, c.alertId]));
        for (const r of rows) {
          transitions.push({
            computerId: num(r.id),
            hostName: r.host_name,
            lastCommunication: numOrNull(r.last_communication),
            offlineDeadline: num(r.offline_deadline),
            vmStopped: r.vm_state === 'stopped',
            alertId: alertOf.get(num(r.id)) ?? null,
          });
        }
        changes.push(...raised);
        return rows.length;
      });
      if (n < batchSize) break;
    }
    return { transitions, changes };
  }

  /** The earliest deadline the sweep has yet to pass (an index lookup); null when none. */
  async nextOfflineDeadline(): Promise<number | null> {
    const r = await this.db
      .selectFrom('computers')
      .select((eb) => eb.fn.min('offline_deadline').as('d'))
      .where('offline_deadline', 'is not', null)
      .where('offline_since', 'is', null)
      .where(sql<boolean>`state = 'active'`)
      .executeTakeFirst();
    return numOrNull(r?.d);
  }

  // ── what a heartbeat and an operation result change ─────────────────────────────────────

  /**
   * After a heartbeat is stored: the computer is no longer Offline (its alert clears), its
   * power state follows the report, the clock change is recorded and judged, drivers' alerts
   * are raised and cleared, and a configuration-update-failed alert clears once the agent
   * reports the expected configuration. One transaction.
   */
  async recordHeartbeatOutcome(o: HeartbeatOutcomeWrite): Promise<AlertChange[]> {
    return this.db.transaction().execute(async (trx) => {
      const change = o.previousClockOffsetMs === null ? null : o.clockOffsetMs - o.previousClockOffsetMs;
      // The write comes first so SQLite takes its write lock before any read (no lock upgrade).
      const row = await trx
        .updateTable('computers')
        .set({ offline_since: null, clock_offset_change_ms: change })
        .where('id', '=', o.computerId)
        .returning(['host_name', 'vm_state'])
        .executeTakeFirst();
      if (!row) return [];
      const vm = o.reportedVmState === 'stopped' ? 'stopped' : row.vm_state === 'stopped' ? 'running' : row.vm_state;
      if (vm !== row.vm_state) {
        await trx
          .updateTable('computers')
          .set({ vm_state: vm, vm_state_source: 'agent', vm_state_changed_at: o.now })
          .where('id', '=', o.computerId)
          .execute();
      }
      const open = await this.openAlerts(trx, o.computerId);
      const toClear: number[] = [];
      const toRaise: NewAlert[] = [];
      for (const a of open) {
        if (a.type === 'computer-offline' || (a.type === 'configuration-update-failed' && o.configurationCurrent))
          toClear.push(num(a.id));
      }

      const clockAlert = open.find((a) => a.type === 'clock-change');
      const baseline = clockAlert?.data
        ? (JSON.parse(clockAlert.data) as { baselineOffsetMs?: number }).baselineOffsetMs
        : undefined;
      const clock = clockDecision({
        previousOffsetMs: o.previousClockOffsetMs,
        offsetMs: o.clockOffsetMs,
        thresholdMs: o.clockThresholdMs,
        openBaselineOffsetMs: clockAlert ? (baseline ?? 0) : undefined,
      });
      if (clock.action === 'clear' && clockAlert) toClear.push(num(clockAlert.id));
      if (clock.action === 'raise') {
        toRaise.push({
          type: 'clock-change',
          computerId: o.computerId,
          message: `the clock on ${row.host_name} changed by ${formatSignedDuration(clock.changeMs)} since the previous heartbeat (now ${formatSignedDuration(o.clockOffsetMs)} from the manager's), beyond the ${Math.round((o.clockThresholdMs ?? 0) / 60_000)}-minute threshold`,
          data: {
            changeMs: clock.changeMs,
            offsetMs: o.clockOffsetMs,
            baselineOffsetMs: clock.baselineOffsetMs,
            thresholdMs: o.clockThresholdMs,
          },
        });
      }

      const driverAlerts = open.filter((a) => a.type === 'driver-offline');
      const drivers = driverAlertChanges(
        o.drivers,
        driverAlerts.map((a) => a.subject),
      );
      for (const name of drivers.clear) toClear.push(num(driverAlerts.find((a) => a.subject === name)!.id));
      for (const d of drivers.raise) {
        toRaise.push({
          type: 'driver-offline',
          computerId: o.computerId,
          subject: d.name,
          message: `driver "${d.name}" is offline on ${row.host_name}${d.reason ? `: ${d.reason}` : ''}`,
          data: { driver: d.name, reason: d.reason },
        });
      }
      return [...(await this.clear(trx, toClear, o.now)), ...(await this.raise(trx, toRaise, o.now))];
    });
  }

  /**
   * A configuration update's outcome: failed raises configuration-update-failed with the
   * agent's reason (one open per computer); a later success clears it.
   */
  async recordOperationResult(o: {
    computerId: number;
    operationId: number;
    status: 'succeeded' | 'failed';
    reason: string | null;
    now: number;
  }): Promise<AlertChange[]> {
    return this.db.transaction().execute(async (trx) => {
      if (o.status === 'succeeded') {
        const open = await trx
          .selectFrom('alerts')
          .select('id')
          .where('computer_id', '=', o.computerId)
          .where('type', '=', 'configuration-update-failed')
          .where('cleared_at', 'is', null)
          .execute();
        return this.clear(
          trx,
          open.map((a) => num(a.id)),
          o.now,
        );
      }
      const c = await trx.selectFrom('computers').select('host_name').where('id', '=', o.computerId).executeTakeFirst();
      if (!c) return [];
      return this.raise(
        trx,
        [
          {
            type: 'configuration-update-failed',
            computerId: o.computerId,
            message: `the security configuration update failed on ${c.host_name}: ${o.reason ?? 'the agent gave no reason'}`,
            data: { operationId: o.operationId, reason: o.reason },
          },
        ],
        o.now,
      );
    });
  }

  /**
   * Records a computer's power state from the inventory API. On a computer already Offline it
   * settles the offline alert at once: a stopped VM without the inactive-VM setting clears it
   * (its silence is explained); a running one (or the setting `true`) raises it.
   * Returns null for an unknown computer.
   */
  /** `actor` (an API caller): a change is audited (`computer.vmstate`) in the same transaction. */
  async setVmState(
    computerId: number,
    state: 'running' | 'stopped',
    source: string,
    now: number,
    actor?: string,
  ): Promise<{ changed: boolean; changes: AlertChange[] } | null> {
    return this.db.transaction().execute(async (trx) => {
      const before =
        actor === undefined
          ? undefined
          : await trx.selectFrom('computers').select('vm_state').where('id', '=', computerId).executeTakeFirst();
      const row = await trx
        .updateTable('computers')
        .set({ vm_state: state, vm_state_source: source, vm_state_changed_at: now })
        .where('id', '=', computerId)
        .where((eb) => eb.or([eb('vm_state', 'is', null), eb('vm_state', '!=', state)]))
        .returning(['host_name', 'policy_id', 'platform', 'offline_since', 'state', 'last_communication'])
        .executeTakeFirst();
      if (!row) {
        const exists = await trx.selectFrom('computers').select('id').where('id', '=', computerId).executeTakeFirst();
        return exists ? { changed: false, changes: [] } : null;
      }
      if (actor !== undefined) {
        const action: AuditAction = 'computer.vmstate';
        await trx
          .insertInto('audit_events')
          .values({
            time: now,
            actor,
            action,
            target_type: 'computer',
            target_id: String(computerId),
            setting: 'vmState',
            old_value: before?.vm_state ?? null,
            new_value: state,
          })
          .execute();
      }
      if (row.offline_since === null || row.state !== 'active') return { changed: true, changes: [] };
      const setting =
        state === 'stopped'
          ? await this.inactiveVmAlertSetting(trx, [
              { id: computerId, policyId: num(row.policy_id), platform: row.platform },
            ])
          : new Map<number, string>();
      if (offlineAlertWanted(state === 'stopped', setting.get(computerId) ?? 'false')) {
        const changes = await this.raise(
          trx,
          [
            {
              type: 'computer-offline',
              computerId,
              message: `${row.host_name} is offline: no heartbeat since ${iso(numOrNull(row.last_communication))}${state === 'stopped' ? ' (a stopped VM)' : ''}`,
              data: { lastCommunication: numOrNull(row.last_communication), vmStopped: state === 'stopped' },
            },
          ],
          now,
        );
        return { changed: true, changes };
      }
      const open = await trx
        .selectFrom('alerts')
        .select('id')
        .where('computer_id', '=', computerId)
        .where('type', '=', 'computer-offline')
        .where('cleared_at', 'is', null)
        .execute();
      return {
        changed: true,
        changes: await this.clear(
          trx,
          open.map((a) => num(a.id)),
          now,
        ),
      };
    });
  }

  /**
   * Clears every open alert of a computer whose monitoring ended (it was deactivated): each is
   * recorded cleared (`clearedAt`, and `reason` as `data.clearedReason`), never deleted, with its
   * outbox row, so notifiers send the clear. Runs in the caller's transaction when this store is
   * bound to one (`MonitorStore.over(tx)`), so the clear commits with the deactivation.
   */
  async clearComputerAlerts(computerId: number, now: number, reason: string): Promise<AlertChange[]> {
    const run = async (trx: Tx) => {
      const out: AlertChange[] = [];
      for (const a of await this.openAlerts(trx, computerId)) {
        const data = {
          ...(a.data === null ? {} : (JSON.parse(a.data) as Record<string, unknown>)),
          clearedReason: reason,
        };
        const r = await trx
          .updateTable('alerts')
          .set({ cleared_at: now, data: JSON.stringify(data) })
          .where('id', '=', a.id)
          .where('cleared_at', 'is', null)
          .returning(['id', 'type', 'computer_id'])
          .executeTakeFirst();
        if (r)
          out.push({
            alertId: num(r.id),
            action: 'cleared',
            type: r.type as AlertType,
            computerId: numOrNull(r.computer_id),
          });
      }
      await this.notify(trx, out, now);
      return out;
    };
    return this.db.isTransaction ? run(this.db as Tx) : this.db.transaction().execute(run);
  }

  // ── alerts API ──────────────────────────────────────────────────────────────────────────

  private alertsQuery() {
    return this.db
      .selectFrom('alerts')
      .leftJoin('computers', 'computers.id', 'alerts.computer_id')
      .selectAll('alerts')
      .select('computers.host_name');
  }

  /**
   * Alerts newest first. `active` true: neither cleared nor dismissed; false: cleared or
   * dismissed; absent: all.
   */
  async listAlerts(q: {
    active?: boolean;
    computerId?: number;
    type?: string;
    limit: number;
    offset: number;
  }): Promise<{ alerts: AlertRecord[]; total: number }> {
    let base = this.db.selectFrom('alerts');
    if (q.active === true) base = base.where('alerts.cleared_at', 'is', null).where('alerts.dismissed_at', 'is', null);
    if (q.active === false)
      base = base.where((eb) =>
        eb.or([eb('alerts.cleared_at', 'is not', null), eb('alerts.dismissed_at', 'is not', null)]),
      );
    if (q.computerId !== undefined) base = base.where('alerts.computer_id', '=', q.computerId);
    if (q.type !== undefined) base = base.where('alerts.type', '=', q.type);
    const [rows, count] = await Promise.all([
      base
        .leftJoin('computers', 'computers.id', 'alerts.computer_id')
        .selectAll('alerts')
        .select('computers.host_name')
        .orderBy('alerts.id', 'desc')
        .limit(q.limit)
        .offset(q.offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow(),
    ]);
    return { alerts: rows.map(toAlert), total: num(count.n) };
  }

  async getAlert(id: number): Promise<AlertRecord | null> {
    const r = await this.alertsQuery().where('alerts.id', '=', id).executeTakeFirst();
    return r ? toAlert(r) : null;
  }

  /**
   * Dismisses an alert (an operator has seen it): it leaves the active list but stays open
   * until its condition clears, so it is not raised again meanwhile. Dismissing a dismissed
   * alert changes nothing. Null for an unknown id.
   */
  async dismissAlert(
    id: number,
    by: string,
    now: number,
  ): Promise<{ alert: AlertRecord; changes: AlertChange[] } | null> {
    const changes = await this.db.transaction().execute(async (trx) => {
      const rows = await trx
        .updateTable('alerts')
        .set({ dismissed_at: now, dismissed_by: by })
        .where('id', '=', id)
        .where('dismissed_at', 'is', null)
        .returning(['id', 'type', 'computer_id'])
        .execute();
      const out = rows.map((r) => ({
        alertId: num(r.id),
        action: 'dismissed' as const,
        type: r.type as AlertType,
        computerId: numOrNull(r.computer_id),
      }));
      await this.notify(trx, out, now);
      return out;
    });
    const alert = await this.getAlert(id);
    return alert ? { alert, changes } : null;
  }

  // ── events API ──────────────────────────────────────────────────────────────────────────

  /** One page of agent events by id (the order they were stored), filtered. */
  async listEvents(q: EventQuery): Promise<PendingEvent[]> {
    let s = this.db
      .selectFrom('events')
      .leftJoin('computers', 'computers.id', 'events.computer_id')
      .selectAll('events')
      .select('computers.host_name');
    if (q.computerId !== undefined) s = s.where('events.computer_id', '=', q.computerId);
    if (q.type !== undefined) s = s.where('events.type', '=', q.type);
    if (q.severity !== undefined) s = s.where('events.severity', '=', q.severity);
    if (q.since !== undefined) s = s.where('events.received_at', '>=', q.since);
    if (q.afterId !== undefined) s = s.where('events.id', q.order === 'asc' ? '>' : '<', q.afterId);
    const rows = await s.orderBy('events.id', q.order).limit(q.limit).execute();
    return rows.map(toPendingEvent);
  }

  // ── notifiers ───────────────────────────────────────────────────────────────────────────

  /**
   * Creates a notifier that delivers what is stored from now on (its cursors start at the
   * newest alert notification and event), so adding a receiver does not replay history.
   * Returns 'name-taken' when the name is in use.
   */
  async createNotifier(n: {
    name: string;
    settings: NotifierSettings;
    enabled: boolean;
    now: number;
  }): Promise<NotifierRecord | 'name-taken'> {
    return this.db.transaction().execute(async (trx) => {
      const [a, e] = await Promise.all([
        trx
          .selectFrom('alert_notifications')
          .select((eb) => eb.fn.max('id').as('m'))
          .executeTakeFirst(),
        trx
          .selectFrom('events')
          .select((eb) => eb.fn.max('id').as('m'))
          .executeTakeFirst(),
      ]);
      const r = await trx
        .insertInto('notifiers')
        .values({
          name: n.name,
          kind: n.settings.kind,
          config: JSON.stringify(n.settings),
          enabled: n.enabled ? 1 : 0,
          created_at: n.now,
          updated_at: n.now,
          alert_cursor: numOrNull(a?.m) ?? 0,
          event_cursor: numOrNull(e?.m) ?? 0,
          last_delivered_at: null,
          last_error: null,
          last_error_at: null,
          lease_owner: null,
          lease_until: null,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .returningAll()
        .executeTakeFirst();
      return r ? toNotifier(r) : 'name-taken';
    });
  }

  async listNotifiers(): Promise<NotifierRecord[]> {
    return (await this.db.selectFrom('notifiers').selectAll().orderBy('id').execute()).map(toNotifier);
  }

  async getNotifier(id: number): Promise<NotifierRecord | null> {
    const r = await this.db.selectFrom('notifiers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toNotifier(r) : null;
  }

  async deleteNotifier(id: number): Promise<boolean> {
    const r = await this.db.deleteFrom('notifiers').where('id', '=', id).executeTakeFirst();
    return Number(r.numDeletedRows) === 1;
  }

  /** How much waits for a notifier, counted up to `cap` per source (a long outage stays cheap to show). */
  async backlog(n: NotifierRecord, cap = 10_000): Promise<{ alerts: number; events: number; capped: boolean }> {
    const count = async (table: 'alert_notifications' | 'events', after: number) => {
      const r = await this.db
        .selectFrom((eb) =>
          eb
            .selectFrom(table)
            .select('id')
            .where('id', '>', after)
            .limit(cap + 1)
            .as('t'),
        )
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .executeTakeFirstOrThrow();
      return num(r.n);
    };
    const alerts = n.settings.sources.includes('alerts') ? await count('alert_notifications', n.alertCursor) : 0;
    const events = n.settings.sources.includes('events') ? await count('events', n.eventCursor) : 0;
    return { alerts: Math.min(alerts, cap), events: Math.min(events, cap), capped: alerts > cap || events > cap };
  }

  /** Enabled notifiers whose retry time has come. */
  async dueNotifiers(now: number): Promise<NotifierRecord[]> {
    return (
      await this.db
        .selectFrom('notifiers')
        .selectAll()
        .where('enabled', '=', 1)
        .where('next_attempt_at', '<=', now)
        .orderBy('id')
        .execute()
    ).map(toNotifier);
  }

  /**
   * Takes (or renews) the right to drain a notifier until `until`: a conditional update, so of
   * several nodes one holds it at a time. Returns the notifier as stored, or null when another
   * node holds it (or it was deleted or disabled).
   */
  async leaseNotifier(id: number, owner: string, now: number, until: number): Promise<NotifierRecord | null> {
    const r = await this.db
      .updateTable('notifiers')
      .set({ lease_owner: owner, lease_until: until })
      .where('id', '=', id)
      .where('enabled', '=', 1)
      .where((eb) => eb.or([eb('lease_owner', 'is', null), eb('lease_owner', '=', owner), eb('lease_until', '<', now)]))
      .returningAll()
      .executeTakeFirst();
    return r ? toNotifier(r) : null;
  }

  async releaseNotifier(id: number, owner: string): Promise<void> {
    await this.db
      .updateTable('notifiers')
      .set({ lease_owner: null, lease_until: null })
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }

  /** Alert outbox rows after `afterId`, oldest first, with the alert as it is now. */
  async pendingAlertNotifications(afterId: number, limit: number): Promise<PendingAlertNotification[]> {
    const rows = await this.db
      .selectFrom('alert_notifications as n')
      .innerJoin('alerts', 'alerts.id', 'n.alert_id')
      .leftJoin('computers', 'computers.id', 'alerts.computer_id')
      .selectAll('alerts')
      .select(['n.id as n_id', 'n.action as n_action', 'n.time as n_time', 'computers.host_name'])
      .where('n.id', '>', afterId)
      .orderBy('n.id')
      .limit(limit)
      .execute();
    return rows.map((r) => ({
      cursor: num(r.n_id),
      action: r.n_action as AlertAction,
      time: num(r.n_time),
      alert: toAlert(r),
    }));
  }

  /** Events after `afterId`, oldest first. */
  async pendingEvents(afterId: number, limit: number): Promise<PendingEvent[]> {
    const rows = await this.db
      .selectFrom('events')
      .leftJoin('computers', 'computers.id', 'events.computer_id')
      .selectAll('events')
      .select('computers.host_name')
      .where('events.id', '>', afterId)
      .orderBy('events.id')
      .limit(limit)
      .execute();
    return rows.map(toPendingEvent);
  }

  /**
   * Moves a notifier's cursors forward after a delivery (never back), as long as `owner` still
   * holds the lease. False when the lease was lost: the caller stops, the new holder goes on.
   */
  async recordDelivery(
    id: number,
    owner: string,
    d: { alertCursor: number; eventCursor: number; delivered: number; now: number },
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('notifiers')
      .set((eb) => ({
        alert_cursor: eb
          .case()
          .when('alert_cursor', '<', d.alertCursor)
          .then(d.alertCursor)
          .else(eb.ref('alert_cursor'))
          .end(),
        event_cursor: eb
          .case()
          .when('event_cursor', '<', d.eventCursor)
          .then(d.eventCursor)
          .else(eb.ref('event_cursor'))
          .end(),
        delivered_count: eb('delivered_count', '+', d.delivered),
        last_delivered_at: d.now,
        failures: 0,
        next_attempt_at: 0,
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async recordFailure(
    id: number,
    owner: string,
    f: { error: string; now: number; nextAttemptAt: number },
  ): Promise<void> {
    await this.db
      .updateTable('notifiers')
      .set((eb) => ({
        failures: eb('failures', '+', 1),
        last_error: f.error.slice(0, 1000),
        last_error_at: f.now,
        next_attempt_at: f.nextAttemptAt,
      }))
      .where('id', '=', id)
      .where('lease_owner', '=', owner)
      .execute();
  }
}

function toPendingEvent(r: Selectable<Database['events']> & { host_name: string | null }): PendingEvent {
  return {
    cursor: num(r.id),
    computerId: num(r.computer_id),
    hostName: r.host_name,
    seq: num(r.seq),
    type: r.type,
    severity: r.severity,
    message: r.message,
    agentTime: num(r.agent_time),
    receivedAt: num(r.received_at),
    data: r.data === null ? null : JSON.parse(r.data),
  };
}
