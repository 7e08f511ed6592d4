import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/**
 * Debian's PostgreSQL 15 (`apt-get install postgresql`), the one `.ci/run` installs. Another
 * build's path (not this one's) would hide a missing install step on a bare CI machine.
 */
export const POSTGRES_BIN = process.env.PALISADE_POSTGRES_BIN ?? '/usr/lib/postgresql/15/bin';

/** Why no test server can start here (null: it can). */
export function postgresUnavailable(): string | null {
  for (const b of ['initdb', 'postgres']) {
    if (!existsSync(join(POSTGRES_BIN, b))) return `${join(POSTGRES_BIN, b)} is missing (apt-get install postgresql)`;
  }
  if (process.getuid?.() === 0 && osUser('postgres') === null)
    return 'running as root, and there is no "postgres" user to run the server as';
  return null;
}

/**
 * Throws under CI when the server cannot start: suites that need PostgreSQL must run there,
 * never skip. Returns the reason to skip otherwise (null: run).
 */
export function postgresSkipReason(): string | null {
  const why = postgresUnavailable();
  if (why && process.env.CI === 'true') throw new Error(`PostgreSQL suites must run under CI, but cannot: ${why}`);
  return why ? `skipped: ${why}` : null;
}

function osUser(name: string): { uid: number; gid: number } | null {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${name}:`));
  if (!line) return null;
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a temp dir, a random
 * loopback port, its socket in the temp dir (never the system's /var/run/postgresql), password
 * authentication over TCP so the URL's password is what gets a test in. Durability is off
 * (`fsync=off`): the data dies with the test. {@link stop} ends it by its PID and removes the
 * dir. As root, the server runs as the `postgres` user (initdb refuses root).
 */
export class PostgresTestServer {
  private constructor(
    readonly dir: string,
    readonly port: number,
    readonly user: string,
    readonly password: string,
    private readonly proc: ChildProcess,
    private readonly log: () => string,
  ) {}

  /** The user the server runs as when this process is root (initdb refuses root); null otherwise. */
  static serverUser(): { uid: number; gid: number } | null {
    return process.getuid?.() === 0 ? osUser('postgres') : null;
  }

  static async start(o: { settings?: Record<string, string> } = {}): Promise<PostgresTestServer> {
    const why = postgresUnavailable();
    if (why) throw new Error(`cannot start PostgreSQL: ${why}`);
    const dir = mkdtempSync(join(tmpdir(), 'palisade-pg-'));
    const owner = PostgresTestServer.serverUser();
    const as = owner ? { uid: owner.uid, gid: owner.gid } : {};
    if (owner) chownSync(dir, owner.uid, owner.gid);
    chmodSync(dir, 0o700);
    const user = 'palisade';
    const password = `pw-${Math.random().toString(36).slice(2)}`;
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
    if (owner) chownSync(pwfile, owner.uid, owner.gid);
    const data = join(dir, 'data');
    const init = spawnSync(
      join(POSTGRES_BIN, 'initdb'),
      [
        '-D',
        data,
        '-U',
        user,
        `--pwfile=${pwfile}`,
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
      ],
      { ...as, encoding: 'utf8', cwd: dir },
    );
    if (init.status !== 0) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`initdb failed (${init.status ?? init.signal}): ${init.stderr || init.error?.message}`);
    }
    const settings = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      fsync: 'off',
      synchronous_commit: 'off',
      full_page_writes: 'off',
      max_connections: '200',
      ...o.settings,
    };
    // A port chosen free can be taken before the server binds it: try a few.
    for (let attempt = 0; ; attempt++) {
      const port = await freePort();
      let log = '';
      const proc = spawn(
        join(POSTGRES_BIN, 'postgres'),
        ['-D', data, '-p', String(port), ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])],
        { ...as, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
      );
      proc.stderr?.on('data', (c: Buffer) => {
        log += c.toString('utf8');
      });
      const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
      const server = new PostgresTestServer(dir, port, user, password, proc, () => log);
      const ready = await Promise.race([server.waitReady(30_000), exited.then(() => false)]);
      if (ready === true) return server;
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
      if (attempt >= 3 || !/could not bind|Address already in use/.test(log)) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres did not start: ${log.slice(-2000)}`);
      }
    }
  }

  /** Polls until the server accepts a connection (the "ready to accept connections" state). */
  private async waitReady(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    for (;;) {
      if (this.proc.exitCode !== null) return false;
      const c = new pg.Client(this.config('postgres'));
      try {
        await c.connect();
        await c.end();
        return true;
      } catch {
        await c.end().catch(() => {});
        if (Date.now() > deadline) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  private config(database: string): pg.ClientConfig {
    return { host: '127.0.0.1', port: this.port, user: this.user, password: this.password, database };
  }

  /** `postgres://palisade:PASSWORD@127.0.0.1:PORT/NAME` */
  url(database: string, withPassword = true): string {
    const auth = withPassword ? `${this.user}:${encodeURIComponent(this.password)}` : this.user;
    return `postgres://${auth}@127.0.0.1:${this.port}/${database}`;
  }

  /** Creates an empty database (one per test suite or node group) and returns its URL. */
  async createDatabase(name: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`database name "${name}": letters, digits, _`);
    await this.query('postgres', `create database ${name}`);
    return this.url(name);
  }

  /** Runs one statement on `database` over a connection of its own. */
  async query<R extends pg.QueryResultRow = pg.QueryResultRow>(
    database: string,
    text: string,
    values: unknown[] = [],
  ): Promise<R[]> {
    const c = new pg.Client(this.config(database));
    await c.connect();
    try {
      return (await c.query<R>(text, values)).rows;
    } finally {
      await c.end();
    }
  }

  /** What the server wrote to stderr (for a failing test's message). */
  get logText(): string {
    return this.log();
  }

  /** Fast shutdown (SIGINT: clients are disconnected), then the dir is removed. */
  async stop(): Promise<void> {
    if (this.proc.exitCode === null && this.proc.signalCode === null) {
      const exited = new Promise((r) => this.proc.once('exit', r));
      this.proc.kill('SIGINT');
      const t = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}
