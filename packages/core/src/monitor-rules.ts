/**
 * The monitor's rules (docs/architecture.md "Computer status and alerts"), as pure functions: which alerts
 * a heartbeat, a sweep or a power-state change raises or clears. The manager holds the state
 * and the transactions; these decide.
 */

export const ALERT_SEVERITIES = ['warning', 'critical'] as const;
export type AlertSeverity = (typeof ALERT_SEVERITIES)[number];

/**
 * Alert types, as data. Each is raised at most once per computer and subject while it is open
 * (not cleared); `subject` tells apart alerts of one type on one computer (the driver's name).
 */
export const ALERT_TYPES = {
  'computer-offline': { label: 'Computer Offline', severity: 'critical' },
  'clock-change': { label: 'Clock Change Detected', severity: 'warning' },
  'driver-offline': { label: 'Driver Offline', severity: 'critical' },
  'configuration-update-failed': { label: 'Configuration Update Failed', severity: 'critical' },
  // A second live copy of a computer's host (docs/deployment.md "Cloned hosts").
  'duplicate-computer': { label: 'Duplicate Computer Detected', severity: 'warning' },
  // The computer's event rate deferred events of its heartbeats (issue 12): stored later, not lost.
  'events-deferred': { label: 'Events Deferred', severity: 'warning' },
  // An agent upgrade ended without the new version running: failed (not installed, or no outcome
  // in the order's life) or rolled back by the agent (docs/deployment.md "Upgrades").
  'agent-upgrade-failed': { label: 'Agent Upgrade Failed', severity: 'warning' },
  // A manager node stopped refreshing its registration (docs/scale-out.md); not about a computer.
  'manager-offline': { label: 'Manager Offline', severity: 'critical' },
} as const satisfies Record<string, { label: string; severity: AlertSeverity }>;
export type AlertType = keyof typeof ALERT_TYPES;
export const ALERT_TYPE_NAMES = Object.keys(ALERT_TYPES) as AlertType[];

export function isAlertType(s: string): s is AlertType {
  return Object.hasOwn(ALERT_TYPES, s);
}

/**
 * Whether a computer whose offline deadline passed gets the computer-offline alert. A stopped
 * VM is expected to be silent, so it gets one only when its effective
 * `platformSettingHeartbeatInactiveVmOfflineAlertEnabled` is `true` (spec: "Raise Offline Errors
 * For Inactive Virtual Machines").
 */
export function offlineAlertWanted(vmStopped: boolean, inactiveVmOfflineAlertEnabled: string): boolean {
  return !vmStopped || inactiveVmOfflineAlertEnabled === 'true';
}

/**
 * `platformSettingHeartbeatLocalTimeShiftAlertThreshold` in ms; null for `Unlimited` (no clock
 * alerts) and for anything that is not a whole number of minutes (values are checked on write,
 * so that means an older or hand-edited store: treated as Unlimited rather than guessed).
 */
export function clockShiftThresholdMs(setting: string): number | null {
  if (!/^[1-9][0-9]{0,5}$/.test(setting)) return null;
  return Number(setting) * 60_000;
}

/**
 * Clock offset (agent clock minus manager clock) from one report: the agent stamped
 * `agentClockTime` when it built the report, which reached the manager about half a round trip
 * later (NTP's symmetric-delay assumption, RFC 5905 §8). `roundTripMs` is the agent's
 * measurement of its previous exchange; unknown (first heartbeat after a start) counts as 0.
 */
export function clockOffsetMs(
  agentClockTime: number,
  receivedAt: number,
  roundTripMs: number | null | undefined,
): number {
  return agentClockTime + Math.round((roundTripMs ?? 0) / 2) - receivedAt;
}

export type ClockDecision =
  | { action: 'none' }
  | { action: 'raise'; changeMs: number; baselineOffsetMs: number }
  | { action: 'clear' };

/**
 * The clock-change alert. It is raised when the offset moved by more than the threshold since
 * the previous heartbeat (strictly more: "exceeds"). It is an event rather than a lasting
 * condition, so it clears itself only when the clock comes back to within the threshold of where
 * it was before the jump (`baselineOffsetMs`, kept with the alert) or when clock alerts are
 * turned off (`Unlimited`); a deliberate correction stays open until someone dismisses it.
 */
export function clockDecision(o: {
  previousOffsetMs: number | null;
  offsetMs: number;
  thresholdMs: number | null;
  /** The open clock-change alert's baseline, or undefined when none is open. */
  openBaselineOffsetMs: number | undefined;
}): ClockDecision {
  if (o.openBaselineOffsetMs !== undefined) {
    if (o.thresholdMs === null || Math.abs(o.offsetMs - o.openBaselineOffsetMs) <= o.thresholdMs)
      return { action: 'clear' };
    return { action: 'none' };
  }
  if (o.thresholdMs === null || o.previousOffsetMs === null) return { action: 'none' };
  const changeMs = o.offsetMs - o.previousOffsetMs;
  if (Math.abs(changeMs) > o.thresholdMs) return { action: 'raise', changeMs, baselineOffsetMs: o.previousOffsetMs };
  return { action: 'none' };
}

export interface ReportedDriver {
  readonly name: string;
  readonly status: 'online' | 'offline' | (string & {});
  readonly reason?: string;
}

/**
 * Driver-offline alerts to raise and clear, given what the agent reported and which driver
 * alerts are open (by driver name). A driver reported online clears its alert; so does a driver
 * the agent no longer reports (its feature was turned off, so nothing is expected to run).
 */
export function driverAlertChanges(
  reported: readonly ReportedDriver[],
  openDriverAlerts: readonly string[],
): { raise: Array<{ name: string; reason: string | null }>; clear: string[] } {
  const offline = new Map<string, string | null>();
  for (const d of reported) if (d.status === 'offline' && !offline.has(d.name)) offline.set(d.name, d.reason ?? null);
  const open = new Set(openDriverAlerts);
  return {
    raise: [...offline].filter(([name]) => !open.has(name)).map(([name, reason]) => ({ name, reason })),
    clear: [...open].filter((name) => !offline.has(name)),
  };
}

/** Sweep period: a twentieth of the heartbeat interval, between 50 ms (labs) and 30 s. */
export function offlineSweepIntervalMs(heartbeatIntervalSeconds: number): number {
  return Math.min(30_000, Math.max(50, Math.round((heartbeatIntervalSeconds * 1000) / 20)));
}
