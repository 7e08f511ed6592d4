import { connect, createServer } from 'node:net';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, Math.max(0, ms)));

/**
 * Polls `fn` until it returns something truthy and returns that; fails naming `what` after
 * `timeoutMs` (a function: built when it fails, to show the last state seen). Timeouts are
 * generous (shared CI machines): a test states what it waits for, never how fast it must happen.
 */
export async function waitFor<T>(
  what: string | (() => string),
  fn: () => T | null | undefined | false | Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
  pollMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);

    await sleep(pollMs);
  }
}

/** {@link waitFor} with another default timeout, for a suite whose waits all need more (or less). */
export function waitingUpTo(defaultTimeoutMs: number): typeof waitFor {
  return (what, fn, timeoutMs = defaultTimeoutMs, pollMs) => waitFor(what, fn, timeoutMs, pollMs);
}

/** A loopback port nothing listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Resolves true when something accepts TCP on the loopback port, false when it is refused. */
export function acceptsTcp(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
