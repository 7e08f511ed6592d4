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
  private readonly statements = new Map<string, Statement>();

  constructor(
    private readonly db: Database,
    private readonly max = DEFAULT_MAX_STATEMENTS,
  ) {}

  prepare(sql: string): Statement {
    const hit = this.statements.get(sql);
    if (hit) {
      // Map iteration order is insertion order: re-inserting keeps the oldest first.
      this.statements.delete(sql);
      this.statements.set(sql, hit);
      return hit;
    }
    const statement = this.db.prepare(sql);
    this.statements.set(sql, statement);
    if (this.statements.size > this.max) this.statements.delete(this.statements.keys().next().value!);
    return statement;
  }

  close(): void {
    this.statements.clear();
    this.db.close();
  }
}
