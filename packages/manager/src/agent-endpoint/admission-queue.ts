import { PalisadeError } from '../errors.js';

export interface AdmissionQueueOptions {
  /** Requests served at once; more wait in the queue. */
  concurrency: number;
  /** Requests waiting at most; beyond, {@link AdmissionQueue.run} refuses with `MANAGER_BUSY`. 0 = no queue. */
  maxQueued: number;
  /** Longest Retry-After it suggests, seconds. Default 600 (one heartbeat interval). */
  maxRetryAfterSeconds?: number;
  now?: () => number;
}

/** A refusal's advice: when to come back. */
export class QueueFullError extends PalisadeError {
  constructor(
    readonly retryAfterSeconds: number,
    detail: string,
  ) {
    super('MANAGER_BUSY', detail);
  }
}

/**
 * Bounded admission for one kind of agent request (activations, heartbeats): at most
 * `concurrency` run, at most `maxQueued` wait in arrival order, and the rest are refused at once
 * with a Retry-After estimate — the time the work already admitted needs at the rate this node
 * has been finishing it. A storm (10,000 agents activating at once, a fleet back after an
 * outage) then costs the manager a queue it can drain and the agents a wait they can spread with
 * jitter, instead of unbounded memory and timeouts for everyone.
 */
export class AdmissionQueue {
  private active = 0;
  private readonly waiting: Array<() => void> = [];
  /** Smoothed seconds per completed request per slot (EWMA), for the Retry-After estimate. */
  private serviceSeconds = 0.05;
  private readonly now: () => number;

  constructor(private readonly o: AdmissionQueueOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Requests running and waiting now. */
  get depth(): { active: number; queued: number } {
    return { active: this.active, queued: this.waiting.length };
  }

  /** Seconds until the work admitted so far is done, at the rate observed; at least 1. */
  retryAfterSeconds(): number {
    const ahead = this.active + this.waiting.length;
    const seconds = Math.ceil((ahead * this.serviceSeconds) / Math.max(1, this.o.concurrency));
    return Math.min(this.o.maxRetryAfterSeconds ?? 600, Math.max(1, seconds));
  }

  /** Runs `fn` when a slot is free; throws {@link QueueFullError} at once when the queue is full. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.o.concurrency) {
      if (this.waiting.length >= this.o.maxQueued)
        throw new QueueFullError(
          this.retryAfterSeconds(),
          `${this.active} in progress and ${this.waiting.length} queued`,
        );
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else this.active += 1;
    const started = this.now();
    try {
      return await fn();
    } finally {
      const took = (this.now() - started) / 1000;
      this.serviceSeconds = 0.8 * this.serviceSeconds + 0.2 * took;
      // Hand the slot straight to the next in line (active stays counted), or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.active -= 1;
    }
  }
}
