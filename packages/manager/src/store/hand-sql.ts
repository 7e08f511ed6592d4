/**
 * A statement of the heartbeat's hot path written by hand, run as it is instead of built and
 * compiled by Kysely at every run: Kysely's query building, compiling and plugin passes cost
 * about as much CPU as SQLite running the statement (measured in the manager under heartbeat
 * load), and a heartbeat runs a dozen. Only statements on that path are written so; the rest
 * stay in Kysely, where the types check them against the schema.
 *
 * The text is SQL both engines read alike: double-quoted identifiers and `?` placeholders, which
 * PostgreSQL gets numbered (`$1`, `$2`, …, made once per statement; `?` never appears inside
 * a literal here). `writes`: the statement changes rows, so the store's bookkeeping of writes
 * (StoreSession.run) follows it.
 */
export class HandSql {
  private pg: string | undefined;

  constructor(
    readonly text: string,
    readonly writes: boolean,
  ) {}

  /** The text with numbered placeholders, for engines that need them (StoreDialect.numberedPlaceholders). */
  get numbered(): string {
    if (this.pg === undefined) {
      let n = 0;
      this.pg = this.text.replace(/\?/g, () => `$${++n}`);
    }
    return this.pg;
  }
}
