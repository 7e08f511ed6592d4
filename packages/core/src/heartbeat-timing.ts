/**
 * Heartbeat timing rules from the spec ("Configure the heartbeat"): the interval is 10 minutes
 * and two heartbeats may be missed before an alert; neither is configurable. A manager may
 * shorten the interval for labs and tests only (`--heartbeat-interval-seconds`).
 */
export const HEARTBEAT_INTERVAL_SECONDS = 600;
export const HEARTBEAT_MISSED_THRESHOLD = 2;

/**
 * The moment a computer becomes Offline if no further heartbeat lands: (threshold + 1) ×
 * interval after the last one — two may be missed, the third missing one raises the alert.
 * Stored per computer when a heartbeat lands so the offline sweep is an index range scan.
 */
export function offlineDeadline(
  lastHeartbeatMs: number,
  intervalSeconds: number = HEARTBEAT_INTERVAL_SECONDS,
  missedThreshold: number = HEARTBEAT_MISSED_THRESHOLD,
): number {
  return lastHeartbeatMs + (missedThreshold + 1) * intervalSeconds * 1000;
}

/**
 * Jittered delay before the next heartbeat: uniformly within ±`spread` of the interval, so a
 * fleet that started together (or reconnects after an outage) does not arrive in lockstep.
 * `random` is injectable for tests; it must return a number in [0, 1).
 */
export function jitteredDelayMs(intervalSeconds: number, spread = 0.1, random: () => number = Math.random): number {
  const base = intervalSeconds * 1000;
  const offset = (random() * 2 - 1) * spread * base;
  return Math.max(1, Math.round(base + offset));
}

/** Most attempts an agent makes at one activation or exchange while the manager answers "busy". */
export const BUSY_RETRY_ATTEMPTS = 12;

/**
 * How long an agent waits after the manager answered 503 `MANAGER_BUSY` (a storm: its bounded
 * queue was full), before attempt `attempt` + 1 (1 after the first refusal). At least the
 * manager's `Retry-After` hint, and at least an exponential backoff (1 s doubling, capped at
 * `capSeconds`), then stretched by a random 0–50 %: agents refused together come back spread
 * over half the wait instead of together (the "full jitter" family of backoffs). The manager's
 * hint alone would bring everyone back at the same second; the jitter alone would ignore how
 * long the manager's queue really is.
 */
export function busyRetryDelayMs(
  retryAfterSeconds: number | null,
  attempt: number,
  capSeconds = 300,
  random: () => number = Math.random,
): number {
  const backoff = Math.min(capSeconds, 2 ** Math.max(0, attempt - 1));
  const base = Math.max(backoff, Math.min(capSeconds, retryAfterSeconds ?? 0));
  return Math.round(base * 1000 * (1 + 0.5 * random()));
}
