/** Counts one worker (or the whole fleet) keeps: successes, failures by kind, TLS details. */
export interface Tally {
  ok: number;
  errors: Record<string, number>;
  resumed: number;
  full: number;
  /** Exchanges by `PROTOCOL SUITE`. */
  tls: Record<string, number>;
  operations: number;
  /** 503 answers (the manager asked the agent to come back later). */
  retriesAfterBusy: number;
}

export function emptyTally(): Tally {
  return { ok: 0, errors: {}, resumed: 0, full: 0, tls: {}, operations: 0, retriesAfterBusy: 0 };
}

export function addCount(into: Record<string, number>, key: string, by = 1): void {
  into[key] = (into[key] ?? 0) + by;
}

export function mergeTally(into: Tally, t: Tally): void {
  into.ok += t.ok;
  into.resumed += t.resumed;
  into.full += t.full;
  into.operations += t.operations;
  into.retriesAfterBusy += t.retriesAfterBusy;
  for (const [k, v] of Object.entries(t.errors)) addCount(into.errors, k, v);
  for (const [k, v] of Object.entries(t.tls)) addCount(into.tls, k, v);
}

export function errorCount(t: Tally): number {
  return Object.values(t.errors).reduce((a, b) => a + b, 0);
}

/** The p-th percentile (0–100) of `sorted` (ascending), nearest rank; null when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number | null {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
