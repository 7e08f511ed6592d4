import { type Migration, sql } from 'kysely';
import type { MigrationDb } from './migration-dialect.js';

/**
 * Issue 14: an event is identified by what the agent stamped on it, its epoch (a random UUID the
 * agent starts, event-spool.ts) and its number in it, whichever computer delivers it. A cloned
 * host carries a copy of the original's spool; when the copy becomes a computer of its own
 * (docs/deployment.md "Cloned hosts") it delivers the events spooled before the copy was made,
 * which the original delivers too: stored once, under whichever computer delivered them first.
 * Events from agents before epochs (epoch '') keep the per-computer key of 0011. Repeats already
 * stored (two computers holding one agent event) keep their first row. Portable DDL (partial
 * unique index: SQLite 3.8+, PostgreSQL).
 */
export const m0020AgentEventIdentity = (): Migration => ({
  async up(db: MigrationDb) {
    await sql`DELETE FROM events WHERE epoch <> '' AND id NOT IN (SELECT MIN(id) FROM events WHERE epoch <> '' GROUP BY epoch, seq)`.execute(
      db,
    );
    await db.schema
      .createIndex('events_agent_event')
      .unique()
      .on('events')
      .columns(['epoch', 'seq'])
      .where(sql.ref('epoch'), '<>', '')
      .execute();
  },
});
