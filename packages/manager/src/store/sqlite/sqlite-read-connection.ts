import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely';
import type { ReadReply, ReadRequest } from './sqlite-read-worker.js';

/**
 * The read connection as Kysely sees it: each statement posted to the worker thread that holds
 * the connection, answered in order. One connection, so one caller at a time holds it (as
 * Kysely's own SQLite driver does): a transaction's statements are never interleaved with
 * another caller's.
 */
class WorkerConnection implements DatabaseConnection {
  private next = 1;
  private readonly pending = new Map<number, { resolve: (rows: unknown[]) => void; reject: (e: Error) => void }>();
  private failure: Error | null = null;
  private closing = false;

  constructor(private readonly worker: Worker) {
    worker.on('message', (m: ReadReply) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0 && !this.closing) worker.unref();
      if ('rows' in m) p.resolve(m.rows);
      else p.reject(Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {}));
    });
    const fail = (e: Error) => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the store's read thread exited (${code})`)));
  }

  executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.next++;
    return new Promise<QueryResult<R>>((resolve, reject) => {
      // Referenced only while a read is out: an idle read thread keeps no process alive, and
      // one awaiting its answer is not ended under it.
      if (this.pending.size === 0) this.worker.ref();
      this.pending.set(id, { resolve: (rows) => resolve({ rows: rows as R[] }), reject });
      this.worker.postMessage({ id, sql: q.sql, parameters: q.parameters } satisfies ReadRequest);
    });
  }

  /** Ends the thread once the statements sent before are answered. */
  async close(): Promise<void> {
    this.closing = true;
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }

  // biome-ignore lint/correctness/useYield: the store never streams; this only refuses.
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('the read connection does not stream');
  }
}

class WorkerReadDriver implements Driver {
  private worker: Worker | undefined;
  private connection: WorkerConnection | undefined;
  private held: Promise<void> | null = null;
  private release: (() => void) | undefined;

  constructor(private readonly file: string) {}

  async init(): Promise<void> {
    this.worker = new Worker(new URL('./sqlite-read-worker.js', import.meta.url), { workerData: { file: this.file } });
    this.worker.unref();
    this.connection = new WorkerConnection(this.worker);
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    while (this.held) await this.held;
    this.held = new Promise((r) => {
      this.release = r;
    });
    return this.connection!;
  }

  async releaseConnection(): Promise<void> {
    const r = this.release;
    this.held = null;
    this.release = undefined;
    r?.();
  }

  async beginTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(c: DatabaseConnection): Promise<void> {
    await c.executeQuery(CompiledQuery.raw('rollback'));
  }

  async destroy(): Promise<void> {
    const c = this.connection;
    this.connection = undefined;
    this.worker = undefined;
    await c?.close();
  }
}

/**
 * A second, read-only connection to a SQLite store's file, for the API's reads that may scan
 * (events, alerts, audit): in WAL mode it reads the last committed state while the writer
 * commits, and it runs in a worker thread, so a long scan holds neither the write connection
 * (heartbeats wait on that one) nor the event loop. Reads through it see every transaction
 * committed before they start.
 */
export function sqliteReadDialect(file: string): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new WorkerReadDriver(file),
    createIntrospector: (db: Kysely<unknown>) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}
