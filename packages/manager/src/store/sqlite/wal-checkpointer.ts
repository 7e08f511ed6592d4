import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { CheckpointReport } from './sqlite-checkpoint-worker.js';

/**
 * How often the checkpoint thread copies the log's new pages, if any (a checkpoint with nothing
 * to copy syncs nothing). Each checkpoint copies a page once however often it was rewritten
 * since the last, and syncs both files: about as often as SQLite's own threshold (1,000 log
 * pages) checkpointed under the capacity benchmark's load, and never more than once a second.
 */
export const CHECKPOINT_INTERVAL_MS = 1000;

/** SQLite's own automatic checkpoint threshold, in log pages (https://www.sqlite.org/pragma.html#pragma_wal_autocheckpoint). */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/**
 * Moves the write-ahead log's checkpoints off the writer's thread: the writer's automatic
 * checkpoint is turned off, and a worker thread with a connection of its own checkpoints every
 * {@link CHECKPOINT_INTERVAL_MS} (sqlite-checkpoint-worker.ts). A checkpoint copies every page
 * the log holds into the database file and syncs both: measured on the manager's event loop
 * under heartbeat load, two fsyncs of up to 7 ms each per checkpoint, and with a large fleet
 * (few pages shared between heartbeats) thousands of page copies a second. Should the thread
 * fail or end, the writer checkpoints by itself again, as SQLite does by default.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private stopped = false;
  private count = 0;
  private failed = 0;

  constructor(file: string, writer: BetterSqlite3.Database, intervalMs = CHECKPOINT_INTERVAL_MS) {
    writer.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(new URL('./sqlite-checkpoint-worker.js', import.meta.url), {
      workerData: { file, intervalMs },
    });
    // An idle checkpoint thread keeps no process alive.
    this.worker.unref();
    this.worker.on('message', (m: CheckpointReport) => {
      if ('error' in m) this.failed += 1;
      else this.count += 1;
    });
    const fallBack = () => {
      if (this.stopped) return;
      this.stopped = true;
      if (writer.open) writer.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    };
    this.worker.on('error', fallBack);
    this.worker.on('exit', fallBack);
  }

  /** Checkpoints that copied pages so far, and checkpoints that failed (each tried again later). */
  get stats(): { checkpoints: number; failures: number } {
    return { checkpoints: this.count, failures: this.failed };
  }

  /** Ends the thread (its checkpoint in progress first); the writer's close then checkpoints what is left. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const exited = once(this.worker, 'exit');
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}
