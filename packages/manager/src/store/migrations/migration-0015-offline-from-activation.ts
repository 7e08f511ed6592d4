import { type Migration, sql } from 'kysely';
import type { MigrationDb } from './migration-dialect.js';

/**
 * Issue 12: a computer's offline deadline starts at activation (ingest.ts), so an agent that
 * never reports goes Offline. Computers activated before that have none until their first
 * heartbeat: they get one now, at activation + 3 × the product's 10-minute interval (a lab
 * interval is a start option the store does not know; those computers go Offline later than
 * the lab's deadline, never earlier). Portable DML only.
 */
export const m0015OfflineFromActivation = (): Migration => ({
  async up(db: MigrationDb) {
    await db
      .updateTable('computers')
      .set({ offline_deadline: sql`activated_at + ${30 * 60_000}` })
      .where('state', '=', 'active')
      .where('offline_deadline', 'is', null)
      .where('last_communication', 'is', null)
      .execute();
  },
});
