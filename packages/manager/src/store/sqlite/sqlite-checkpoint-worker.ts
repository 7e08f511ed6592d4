import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** What this thread tells the store after a checkpoint that copied pages, or one that failed. */
export type CheckpointReport = { log: number; checkpointed: number } | { error: string };

// The write-ahead log's checkpoints of a SQLite store (wal-checkpointer.ts), in a thread of its
// own. SQLite's automatic checkpoint runs inside the COMMIT that crosses its threshold, on the
// writer's thread — the manager's event loop —, copying pages into the database file and
// syncing the log before and the database after. Here a connection of its own runs PASSIVE
// checkpoints, which never wait for the writer or the readers, nor block them
// (https://www.sqlite.org/c3ref/wal_checkpoint_v2.html). `synchronous = NORMAL` keeps the two
// syncs a checkpoint needs (https://www.sqlite.org/pragma.html#pragma_synchronous).
const { file, intervalMs } = workerData as { file: string; intervalMs: number };
const db = new Database(file, { fileMustExist: true });
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');

let last = -1;
const timer = setInterval(() => {
  try {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
    if (r && r.checkpointed > 0 && r.checkpointed !== last) {
      last = r.checkpointed;
      parentPort!.postMessage({ log: r.log, checkpointed: r.checkpointed } satisfies CheckpointReport);
    }
  } catch (e) {
    parentPort!.postMessage({ error: (e as Error).message } satisfies CheckpointReport);
  }
}, intervalMs);

parentPort!.on('message', (m: 'close') => {
  if (m !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort!.close();
});
