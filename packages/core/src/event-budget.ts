/**
 * How many events one computer may have stored, as a token bucket: `burst` at most at once,
 * refilled at `perMinute`. A report carrying more than the bucket holds has only its first
 * events stored and acknowledged; the agent keeps the rest in its spool and sends them again
 * (docs/security.md "Event floods"). So a flooding agent stores at most `burst` plus the rate,
 * and an agent catching up after an outage is slowed down, never loses an event.
 */
export interface EventRate {
  /** Events refilled per minute. */
  perMinute: number;
  /** Most events the bucket holds: what a computer may send at once after a quiet spell. */
  burst: number;
}

/** The product's default: 600 a minute (10/s, 6,000 per 10-minute heartbeat), 5,000 at once. */
export const DEFAULT_EVENT_RATE: EventRate = { perMinute: 600, burst: 5_000 };

/** A bucket's level at a time; a computer not seen yet has a full one. */
export interface EventBucket {
  tokens: number;
  at: number;
}

/**
 * Takes up to `wanted` events out of `bucket` at `now`: how many are granted (whole events), and
 * the bucket after. A clock that goes backwards refills nothing.
 */
export function takeEvents(
  bucket: EventBucket | undefined,
  now: number,
  wanted: number,
  rate: EventRate,
): { granted: number; bucket: EventBucket } {
  const elapsedMs = bucket ? Math.max(0, now - bucket.at) : 0;
  const level = bucket ? Math.min(rate.burst, bucket.tokens + (elapsedMs * rate.perMinute) / 60_000) : rate.burst;
  const granted = Math.max(0, Math.min(wanted, Math.floor(level)));
  return { granted, bucket: { tokens: level - granted, at: now } };
}
