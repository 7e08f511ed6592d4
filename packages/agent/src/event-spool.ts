import { randomUUID } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent } from '@palisade/protocol';
import { writeFileAtomic } from './atomic-file.js';

/**
 * The agent's durable event spool: events are numbered by the agent, spooled durably until
 * acknowledged, and only then dropped (docs/architecture.md "The heartbeat").
 *
 * Two files: `events.jsonl`, appended and fsynced one event per line, and `acked`, the highest
 * `seq` the manager acknowledged. Acknowledging writes `acked` first, then compacts the log;
 * a crash between the two leaves acknowledged lines that loading filters out, so nothing is
 * sent twice by mistake and nothing unacknowledged is dropped. A torn last line (a crash
 * mid-append) was never fsynced, so never reported as spooled: loading skips it, and the next
 * append first ends it with a newline, so the new event starts a line of its own instead of
 * being glued to the fragment and lost with it (the next compaction drops the fragment).
 *
 * **Epochs.** `seq` is unique within an epoch, an id kept in `epoch` and stamped on every event
 * (`AgentEvent.epoch`); the manager stores events by (epoch, seq), whichever computer delivers
 * them (a clone's copied spool is stored once). A state directory
 * that went back in time (a VM snapshot reverted, a backup restored) numbers again from where
 * it was, reusing numbers the manager already holds for other events: in a new epoch those are
 * new events, not repeats to drop. The spool cannot see the revert itself, so the agent starts
 * a new epoch whenever it cannot vouch that its state is the newest: at every start of the
 * daemon ({@link beginEpoch}) and when the wall clock jumps against the monotonic one (a
 * running VM restored from a snapshot, or resumed). A new epoch costs nothing; events already
 * spooled keep theirs, so a re-sent event is still recognised as the same.
 */
/** Wall clock minus monotonic clock when last checked in this process (see {@link EventSpool}). */
let lastClockDrift: number | undefined;
/** A wall-clock jump larger than this against the monotonic clock starts a new epoch. */
const CLOCK_JUMP_MS = 30_000;

export class EventSpool {
  private readonly logFile: string;
  private readonly ackFile: string;
  private readonly epochFile: string;
  private events: AgentEvent[] = [];
  private ackedThrough = 0;
  private nextSeq = 1;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, 'events.jsonl');
    this.ackFile = join(dir, 'acked');
    this.epochFile = join(dir, 'epoch');
    this.load();
  }

  /** The epoch new events are numbered in; one is made (and kept) when there is none yet. */
  get epoch(): string {
    try {
      const id = readFileSync(this.epochFile, 'utf8').trim();
      if (/^[A-Za-z0-9-]{1,64}$/.test(id)) return id;
    } catch {
      /* none yet */
    }
    return this.beginEpoch();
  }

  /** Starts a new epoch for the events appended from now on; returns its id. */
  beginEpoch(): string {
    const id = randomUUID();
    writeFileAtomic(this.epochFile, `${id}\n`, 0o600);
    return id;
  }

  private load(): void {
    this.ackedThrough = existsSync(this.ackFile) ? Number(readFileSync(this.ackFile, 'utf8').trim()) || 0 : 0;
    const events: AgentEvent[] = [];
    if (existsSync(this.logFile)) {
      for (const line of readFileSync(this.logFile, 'utf8').split('\n')) {
        if (!line) continue;
        try {
          const e = JSON.parse(line) as AgentEvent;
          if (e.seq > this.ackedThrough) events.push(e);
        } catch {
          // torn final line from a crash during append: it was never acknowledged as spooled
        }
      }
    }
    this.events = events;
    this.nextSeq = Math.max(this.ackedThrough, ...events.map((e) => e.seq)) + 1;
  }

  /** Appends an event durably and returns its sequence number. */
  append(e: Omit<AgentEvent, 'seq' | 'time' | 'epoch'> & { time?: number }): number {
    const drift = Date.now() - (performance.timeOrigin + performance.now());
    const jumped = lastClockDrift !== undefined && Math.abs(drift - lastClockDrift) > CLOCK_JUMP_MS;
    lastClockDrift = drift;
    const event: AgentEvent = {
      seq: this.nextSeq,
      epoch: jumped ? this.beginEpoch() : this.epoch,
      time: e.time ?? Date.now(),
      type: e.type,
      severity: e.severity,
      message: e.message,
      ...(e.data ? { data: e.data } : {}),
    };
    const fd = openSync(this.logFile, 'a+', 0o600);
    try {
      writeSync(fd, `${endsTorn(fd) ? '\n' : ''}${JSON.stringify(event)}\n`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.events.push(event);
    this.nextSeq += 1;
    return event.seq;
  }

  /** Oldest unacknowledged events first, at most `limit`. */
  pending(limit: number): AgentEvent[] {
    return this.events.slice(0, limit);
  }

  get size(): number {
    return this.events.length;
  }

  get acknowledgedThrough(): number {
    return this.ackedThrough;
  }

  /** Drops events through `seq` once the manager has stored them. Ignores stale acks. */
  acknowledge(seq: number): void {
    // Re-read first: another instance over the same directory (the listener's exchange, an
    // operation's outcome) may have appended since this one loaded, and the rewrite below must
    // keep those events.
    this.load();
    if (seq <= this.ackedThrough) return;
    writeFileAtomic(this.ackFile, `${seq}\n`, 0o600);
    this.ackedThrough = seq;
    this.events = this.events.filter((e) => e.seq > seq);
    writeFileAtomic(this.logFile, this.events.map((e) => `${JSON.stringify(e)}\n`).join(''), 0o600);
  }
}

/** True when the file's last byte is not a newline: a torn last line from a crash mid-append. */
function endsTorn(fd: number): boolean {
  const size = fstatSync(fd).size;
  if (size === 0) return false;
  const last = Buffer.alloc(1);
  readSync(fd, last, 0, 1, size - 1);
  return last[0] !== 0x0a;
}
