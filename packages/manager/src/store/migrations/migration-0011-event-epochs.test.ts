import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { Kysely, Migrator, SqliteDialect } from 'kysely';
import { migrationProvider } from './migration-provider.js';

test('0011 keys events by (computer, epoch, seq), keeping every stored event and its id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-m0011-'));
  const sqlite = new Database(join(dir, 'm.db'));
  sqlite.pragma('foreign_keys = OFF'); // events of computer 1, without building one
  // biome-ignore lint/suspicious/noExplicitAny: the schema as of 0010, before the current Database type
  const db = new Kysely<any>({ dialect: new SqliteDialect({ database: sqlite }) });
  try {
    const migrator = new Migrator({
      db,
      provider: migrationProvider({ idColumn: (c) => c.primaryKey().autoIncrement() }),
    });
    assert.equal((await migrator.migrateTo('0010_firewall_lists')).error, undefined);
    const event = (seq: number, message: string) => ({
      computer_id: 1,
      seq,
      agent_time: 1,
      received_at: 2,
      type: 't',
      severity: 'info',
      message,
      data: null,
    });
    await db
      .insertInto('events')
      .values([event(1, 'a'), event(2, 'b'), event(3, 'c')])
      .execute();
    await db.deleteFrom('events').where('seq', '=', 1).execute(); // pruned, oldest first
    assert.equal((await migrator.migrateToLatest()).error, undefined);

    const rows = await db.selectFrom('events').select(['id', 'epoch', 'seq', 'message']).orderBy('id').execute();
    assert.deepEqual(rows, [
      { id: 2, epoch: '', seq: 2, message: 'b' },
      { id: 3, epoch: '', seq: 3, message: 'c' },
    ]);
    // The same number in another epoch is another event; in the same epoch, a repeat.
    await db
      .insertInto('events')
      .values({ ...event(2, 'b after a revert'), epoch: 'e2' })
      .execute();
    await assert.rejects(
      db
        .insertInto('events')
        .values({ ...event(2, 'again'), epoch: 'e2' })
        .execute(),
      /UNIQUE constraint failed: events\.computer_id, events\.epoch, events\.seq/,
    );
    const last = await db.selectFrom('events').select('id').where('epoch', '=', 'e2').executeTakeFirstOrThrow();
    assert.equal(last.id, 4, 'ids go on after the copied ones');
  } finally {
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
});
