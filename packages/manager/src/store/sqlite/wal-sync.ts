import { close, fdatasync, open } from 'node:fs';
import { SOON_SYNC_MS } from '../store.js';

/**
 * Makes SQLite's commits durable off the event loop. With `synchronous = FULL` in WAL mode,
 * SQLite's only sync on a commit is one of the WAL file after the commit's frames are written
 * (https://www.sqlite.org/pragma.html#pragma_synchronous: "the WAL file is synchronized after
 * each transaction commit"); better-sqlite3 runs it on the main thread, so every commit held
 * the whole manager — TLS handshakes, HTTP, other heartbeats — for the length of an fsync (a
 * quarter of the manager's time under heartbeat load, measured). The store therefore runs at
 * `synchronous = NORMAL` (WAL synced before each checkpoint, the database after it: never
 * corrupt, only the last commits at risk on power loss) and calls {@link sync} after each
 * commit, before anything of the transaction is answered: the same fdatasync of the same file,
 * on libuv's thread pool. fdatasync flushes the file (its inode), whichever descriptor asks.
 *
 * Syncs are shared: a commit that comes while one is running waits for the next, which starts
 * when the running one ends and covers every commit made by then — the log is appended in
 * order, so one sync covers all the commits before it. One sync at a time, at most one waiting.
 */
export class WalSync {
  private fd: number | null = null;
  private running: Promise<void> | null = null;
  private waiting: Promise<void> | null = null;
  private closed = false;
  private count = 0;
  private soonTimer: NodeJS.Timeout | null = null;
  private soonSync: Promise<void> | null = null;
  private soonSettle: ((sync: Promise<void>) => void) | null = null;
  /** Calls of {@link sync} and {@link soon} so far: each stands for the commits made before it. */
  private asked = 0;
  /** How many of those calls a finished sync covers (it started after them). */
  private durableThrough = 0;

  constructor(private readonly walFile: string) {}

  /** Syncs started so far (each covers every commit made before it started). */
  get syncs(): number {
    return this.count;
  }

  /**
   * Resolves once every commit made before the call is on stable storage, the sync starting
   * within SOON_SYNC_MS: commits that can wait that long share one sync instead of one each.
   */
  soon(): Promise<void> {
    this.asked += 1;
    if (!this.soonSync) {
      this.soonSync = new Promise<void>((resolve) => {
        this.soonSettle = resolve;
      });
      this.soonTimer = setTimeout(() => void this.sync().catch(() => {}), SOON_SYNC_MS);
    }
    return this.soonSync;
  }

  /** Resolves once every commit made before the call is on stable storage. */
  sync(): Promise<void> {
    this.asked += 1;
    let p: Promise<void>;
    if (this.running === null) p = this.start();
    // The running sync may have started before the caller's commit: wait for the next one.
    else
      p = this.waiting ??= this.running.then(
        () => this.next(),
        () => this.next(),
      );
    // A sync promised soon is this one: it covers those commits too.
    const settle = this.soonSettle;
    if (settle) {
      clearTimeout(this.soonTimer!);
      this.soonTimer = null;
      this.soonSettle = null;
      this.soonSync = null;
      settle(p);
    }
    return p;
  }

  /**
   * Resolves once every commit reported before the call (the store calls {@link sync} or
   * {@link soon} after each, before it returns it) is on stable storage: at once when a
   * finished sync started after all of them, else as {@link soon} does.
   */
  whenDurable(): Promise<void> {
    return this.durableThrough >= this.asked ? Promise.resolve() : this.soon();
  }

  /**
   * Closes the log's descriptor once the syncs asked for are done (the database's own close then
   * checkpoints and syncs what is left).
   */
  async close(): Promise<void> {
    // A sync promised soon is made now.
    if (this.soonSettle) void this.sync().catch(() => {});
    await (this.waiting ?? this.running)?.catch(() => {});
    this.closed = true;
    if (this.fd !== null) close(this.fd, () => {});
    this.fd = null;
  }

  private next(): Promise<void> {
    this.waiting = null;
    return this.start();
  }

  private start(): Promise<void> {
    this.count += 1;
    const covers = this.asked;
    const p = this.run()
      .then(() => {
        if (covers > this.durableThrough) this.durableThrough = covers;
      })
      .finally(() => {
        if (this.running === p) this.running = null;
      });
    this.running = p;
    return p;
  }

  private async run(): Promise<void> {
    if (this.closed) return;
    if (this.fd === null) {
      const fd = await openLog(this.walFile);
      // No log yet: SQLite creates it before a transaction's first frame, so nothing committed is in it.
      if (fd === null) return;
      if (this.closed) {
        close(fd, () => {});
        return;
      }
      this.fd = fd;
    }
    const fd = this.fd;
    await new Promise<void>((resolve, reject) =>
      fdatasync(fd, (e) =>
        e
          ? // SQLite's own code for a failed sync, so the store's health sees a storage fault.
            reject(
              Object.assign(new Error(`fdatasync of the write-ahead log: ${e.message}`), {
                code: 'SQLITE_IOERR_FSYNC',
                cause: e,
              }),
            )
          : resolve(),
      ),
    );
  }
}

/** Opens the log read-write (fsync on a read-only descriptor is not portable); null when absent. */
function openLog(file: string): Promise<number | null> {
  return new Promise((resolve, reject) =>
    open(file, 'r+', (e, fd) => {
      if (!e) resolve(fd);
      else if (e.code === 'ENOENT') resolve(null);
      else reject(e);
    }),
  );
}
