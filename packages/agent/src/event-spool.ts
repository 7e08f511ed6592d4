import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
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
 * mid-append) was never fsynced, so never reported as spooled, and is skipped.
 */
export class EventSpool {
  private readonly logFile: string;
  private readonly ackFile: string;
  private events: AgentEvent[] = [];
  private ackedThrough = 0;
  private nextSeq = 1;

  constructor(dir: string) {
    mkdirSync(dir, { recursive: true });
    this.logFile = join(dir, 'events.jsonl');
    this.ackFile = join(dir, 'acked');
    this.load();
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
  append(e: Omit<AgentEvent, 'seq' | 'time'> & { time?: number }): number {
    const event: AgentEvent = {
      seq: this.nextSeq,
      time: e.time ?? Date.now(),
      type: e.type,
      severity: e.severity,
      message: e.message,
      ...(e.data ? { data: e.data } : {}),
    };
    const fd = openSync(this.logFile, 'a', 0o600);
    try {
      writeSync(fd, `${JSON.stringify(event)}\n`);
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
