import { clockDecision, driverAlertChanges, type ReportedDriver } from '@palisade/core';
import type { UpgradeOutcome } from '@palisade/protocol';
import type { NewAlert, OpenAlert } from '../store/store.js';

/**
 * The manager's alerts: when each is raised and cleared, and how it reads. The decisions
 * themselves are core's (clockDecision, driverAlertChanges, offlineAlertWanted); this module
 * turns them, and what the store holds, into alerts to raise and clear. No I/O.
 */

/** The setting that decides whether a stopped VM's silence raises the offline alert. */
export const INACTIVE_VM_SETTING = 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled';

const iso = (ms: number | null) => (ms === null ? 'never' : new Date(ms).toISOString());

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

/** The computer-offline alert of a computer that stopped heartbeating. `offlineDeadline`: the one the sweep found passed. */
export function offlineAlert(c: {
  id: number;
  hostName: string;
  lastCommunication: number | null;
  vmStopped: boolean;
  offlineDeadline?: number;
}): NewAlert {
  return {
    type: 'computer-offline',
    computerId: c.id,
    message: `${c.hostName} is offline: no heartbeat since ${iso(c.lastCommunication)}${c.vmStopped ? ' (a stopped VM)' : ''}`,
    data: {
      lastCommunication: c.lastCommunication,
      ...(c.offlineDeadline !== undefined ? { offlineDeadline: c.offlineDeadline } : {}),
      vmStopped: c.vmStopped,
    },
  };
}

/** The configuration-update-failed alert, with the agent's reason. */
export function updateFailedAlert(
  c: { id: number; hostName: string },
  operationId: number,
  reason: string | null,
): NewAlert {
  return {
    type: 'configuration-update-failed',
    computerId: c.id,
    message: `the security configuration update failed on ${c.hostName}: ${reason ?? 'the agent gave no reason'}`,
    data: { operationId, reason },
  };
}

/** An upgrade order that ended, as the alerts see it. */
export interface EndedUpgrade {
  /** The order (`GET /api/computers/{id}/agentupgrades`). */
  id: number;
  computerId: number;
  toVersion: string;
  status: UpgradeOutcome;
  reason: string | null;
}

/**
 * The agent-upgrade-failed alert of an order that ended `failed` (not installed, or no outcome
 * within its life) or `rolled-back` (the new version did not confirm; the old one runs again).
 */
export function upgradeFailedAlert(c: { id: number; hostName: string }, u: EndedUpgrade): NewAlert {
  const how = u.status === 'rolled-back' ? 'was rolled back' : 'failed';
  return {
    type: 'agent-upgrade-failed',
    computerId: c.id,
    message: `the agent upgrade of ${c.hostName} to ${u.toVersion} ${how}: ${u.reason ?? 'the agent gave no reason'}`,
    data: { upgradeId: u.id, toVersion: u.toVersion, status: u.status, reason: u.reason },
  };
}

/**
 * The duplicate-computer alert: a copy of this computer's host (same host identity, a stale
 * continuity token) heartbeated from `seen` — a cloned VM or a copied state directory.
 */
export function duplicateComputerAlert(
  c: { id: number; hostName: string },
  seen: { remoteIp: string | null; hostName: string },
): NewAlert {
  return {
    type: 'duplicate-computer',
    computerId: c.id,
    message: `a copy of ${c.hostName} (same host identity) contacted the manager as "${seen.hostName}" from ${seen.remoteIp ?? 'an unknown address'}: a cloned host`,
    data: { remoteIp: seen.remoteIp, hostName: seen.hostName },
  };
}

/** What one heartbeat tells the alert rules. */
export interface HeartbeatFacts {
  computerId: number;
  hostName: string;
  /** Offset this heartbeat measured (agent clock − manager clock, RTT-corrected), ms. */
  clockOffsetMs: number;
  /** The offset recorded by the previous heartbeat; null for the first one. */
  previousClockOffsetMs: number | null;
  /** From the effective `platformSettingHeartbeatLocalTimeShiftAlertThreshold`; null = Unlimited. */
  clockThresholdMs: number | null;
  drivers: readonly ReportedDriver[];
  /** The agent runs the configuration the manager expects: a failed update is behind it. */
  configurationCurrent: boolean;
  /** Events of this report its computer's event rate deferred (left in the agent's spool); default 0. */
  eventsDeferred?: number;
  /** The event rate in force, named in the alert's message. */
  eventRate?: { perMinute: number; burst: number };
}

/**
 * After a heartbeat, given the computer's open alerts: it is no longer Offline (that alert
 * clears), a configuration-update-failed alert clears once the agent reports the expected
 * configuration, the clock change is judged, and drivers' alerts are raised and cleared.
 */
export function heartbeatAlertChanges(
  open: readonly OpenAlert[],
  o: HeartbeatFacts,
): { clear: number[]; raise: NewAlert[] } {
  const clear: number[] = [];
  const raise: NewAlert[] = [];
  for (const a of open) {
    if (a.type === 'computer-offline' || (a.type === 'configuration-update-failed' && o.configurationCurrent))
      clear.push(a.id);
  }

  // Deferral is a state of the computer's stream: open while its heartbeats carry more than its
  // budget, cleared by the first one that has all its events stored (the spool has caught up).
  const deferredAlert = open.find((a) => a.type === 'events-deferred');
  const deferred = o.eventsDeferred ?? 0;
  if (deferred === 0 && deferredAlert) clear.push(deferredAlert.id);
  if (deferred > 0 && !deferredAlert) {
    const rate = o.eventRate ? ` (${o.eventRate.perMinute} a minute, bursts of ${o.eventRate.burst})` : '';
    raise.push({
      type: 'events-deferred',
      computerId: o.computerId,
      message: `${o.hostName} sends more events than its event rate${rate}: ${deferred} of this heartbeat were deferred; the agent keeps them and sends them again later`,
      data: { deferred, ...(o.eventRate ? { eventRate: o.eventRate } : {}) },
    });
  }

  const clockAlert = open.find((a) => a.type === 'clock-change');
  const baseline = clockAlert?.data?.baselineOffsetMs;
  const clock = clockDecision({
    previousOffsetMs: o.previousClockOffsetMs,
    offsetMs: o.clockOffsetMs,
    thresholdMs: o.clockThresholdMs,
    openBaselineOffsetMs: clockAlert ? (typeof baseline === 'number' ? baseline : 0) : undefined,
  });
  if (clock.action === 'clear' && clockAlert) clear.push(clockAlert.id);
  if (clock.action === 'raise') {
    raise.push({
      type: 'clock-change',
      computerId: o.computerId,
      message: `the clock on ${o.hostName} changed by ${formatSignedDuration(clock.changeMs)} since the previous heartbeat (now ${formatSignedDuration(o.clockOffsetMs)} from the manager's), beyond the ${Math.round((o.clockThresholdMs ?? 0) / 60_000)}-minute threshold`,
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
  for (const name of drivers.clear) {
    const a = driverAlerts.find((x) => x.subject === name);
    if (a) clear.push(a.id);
  }
  for (const d of drivers.raise) {
    raise.push({
      type: 'driver-offline',
      computerId: o.computerId,
      subject: d.name,
      message: `driver "${d.name}" is offline on ${o.hostName}${d.reason ? `: ${d.reason}` : ''}`,
      data: { driver: d.name, reason: d.reason },
    });
  }
  return { clear, raise };
}
