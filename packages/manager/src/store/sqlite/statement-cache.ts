import type { Database, Statement } from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

/** Statements kept prepared by default: every query the manager runs, with room for `IN (…)` lists of many lengths. */
const DEFAULT_MAX_STATEMENTS = 500;

/**
 * The database as Kysely's SQLite dialect sees it, with each statement prepared once and reused.
 * The dialect calls `prepare(sql)` for every query it runs; SQLite then parses and plans the SQL
 * anew each time, which measured as a tenth of the manager's CPU per heartbeat (13 statements,
 * the same SQL every time). better-sqlite3 statements are reusable, bound afresh on each run,
 * and SQLite re-prepares one by itself when the schema changes under it (sqlite3_prepare_v2).
 * The least recently used are dropped beyond `max`. A statement is busy only while an iterator
 * over it is open (`streamQuery`, which the store does not use); Kysely runs one query at a
 * time on the one connection, so no statement is run twice at once.
 */
export class StatementCache implements SqliteDatabase {
  private readonly statements = new Map<string, { statement: Statement; used: number }>();
  /** Counts uses: an entry's `used` is when it was last asked for. */
  private clock = 0;

  constructor(
    private readonly db: Database,
    private readonly max = DEFAULT_MAX_STATEMENTS,
  ) {}

  prepare(sql: string): Statement {
    // A heartbeat asks for fifteen statements: a hit only stamps its entry (moving it to the
    // end of the map on every hit cost a few percent of a heartbeat's CPU).
    const hit = this.statements.get(sql);
    if (hit) {
      hit.used = ++this.clock;
      return hit.statement;
    }
    const statement = this.db.prepare(sql);
    this.statements.set(sql, { statement, used: ++this.clock });
    if (this.statements.size > this.max) this.dropLeastRecentlyUsed();
    return statement;
  }

  /** Beyond the bound only: a scan, once per statement prepared. */
  private dropLeastRecentlyUsed(): void {
    let oldest: string | undefined;
    let at = Number.POSITIVE_INFINITY;
    for (const [sql, e] of this.statements)
      if (e.used < at) {
        at = e.used;
        oldest = sql;
      }
    if (oldest !== undefined) this.statements.delete(oldest);
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
