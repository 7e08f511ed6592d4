import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Migrator } from 'kysely';
import type { StoreEngine, TestDatabase } from '../../testing/store-engines.js';
import type { MigrationDb } from './migration-dialect.js';
import { migrationProvider } from './migration-provider.js';

/**
 * Migration 0011 rebuilds `events` under its new key on every engine: the stored events keep
 * their ids, and the ids generated afterwards go on after them (PostgreSQL's identity sequence
 * does not follow copied ids by itself).
 */
export const eventEpochsMigrationContract = (engine: StoreEngine) =>
  describe(`migration 0011 (event epochs) on ${engine.name}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await engine.database({ migrate: false });
    });
    after(() => database.close());

    test('keys events by (computer, epoch, seq), keeping every stored event and its id', async () => {
      const store = database.store;
      // The schema as of 0010, before the current Database type.
      const db = store.db as unknown as MigrationDb;
      const migrator = new Migrator({ db, provider: migrationProvider(store.dialect) });
      assert.equal((await migrator.migrateTo('0010_firewall_lists')).error, undefined);
      // Tables 0011 leaves alone: today's repositories build the computer the events belong to.
      const base = await store.policies.ensureBase(1);
      const token = await store.activationTokens.create({
        tokenHash: 't',
        policyId: base.id,
        maxUses: 1,
        expiresAt: null,
        now: 1,
      });
      const computer = await store.computers.activate(token, {
        hostName: 'h',
        platform: 'linux',
        agentVersion: '0.1.0',
        policyId: base.id,
        certSerial: 's',
        expectedFingerprint: 'sha256:x',
        now: 1,
        offlineDeadline: 1 + 1_800_000,
      });
      assert.notEqual(computer, 'token-used-up');
      const computerId = (computer as { id: number }).id;
      const event = (seq: number, message: string) => ({
        computer_id: computerId,
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
        // SQLite names the columns, PostgreSQL the constraint (or, since 0020, the agent's key).
        /UNIQUE constraint failed: events\.(computer_id, events\.)?epoch, events\.seq|unique constraint "events_(computer_epoch_seq|agent_event)"/,
      );
      const last = await db.selectFrom('events').select('id').where('epoch', '=', 'e2').executeTakeFirstOrThrow();
      assert.equal(last.id, 4, 'ids go on after the copied ones');
    });
  });
