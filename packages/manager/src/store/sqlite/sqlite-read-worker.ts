import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { StatementCache } from './statement-cache.js';

/** What the store's thread asks: one statement and its parameters. */
export interface ReadRequest {
  id: number;
  sql: string;
  parameters: readonly unknown[];
}

/** What this thread answers: the rows (or, for BEGIN and COMMIT, none), or the error's message and code. */
export type ReadReply =
  | { id: number; rows: unknown[] }
  | { id: number; error: { message: string; code: string | undefined } };

// The read connection of a SQLite store (sqlite-read-connection.ts), in a thread of its own:
// better-sqlite3 runs a statement to its end on the calling thread, so a scan run on the main
// thread would hold the event loop, and every heartbeat with it, for as long as it takes.
// Read-only: SQLite refuses any write on it (SQLITE_READONLY), whatever SQL reaches it. In WAL
// mode a reader and the writer do not block each other (https://www.sqlite.org/wal.html).
const { file } = workerData as { file: string };
const db = new Database(file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
const statements = new StatementCache(db);

parentPort!.on('message', (m: ReadRequest | 'close') => {
  if (m === 'close') {
    statements.close();
    parentPort!.close();
    return;
  }
  let reply: ReadReply;
  try {
    const stmt = statements.prepare(m.sql);
    if (stmt.reader) reply = { id: m.id, rows: stmt.all(m.parameters as unknown[]) };
    else {
      stmt.run(m.parameters as unknown[]);
      reply = { id: m.id, rows: [] };
    }
  } catch (e) {
    reply = { id: m.id, error: { message: (e as Error).message, code: (e as { code?: string }).code } };
  }
  parentPort!.postMessage(reply);
});
