import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StoreEngine, TestDatabase } from '../../testing/store-engines.js';
import type { KyselyStore } from '../kysely-store.js';

/**
 * Reported events on each engine (migration 0020): an event is the agent's (epoch, seq), stored
 * once whichever computer delivers it (a cloned host's copied spool); without an epoch, the same
 * number is told apart per computer.
 */
export const eventRepositoryContract = (engine: StoreEngine) =>
  describe(`events on ${engine.name}: stored once per agent event`, () => {
    let db: TestDatabase;
    let s: KyselyStore;
    const computers: number[] = [];

    before(async () => {
      db = await engine.database();
      s = db.store;
      const policyId = (await s.policies.ensureBase(0)).id;
      for (const name of ['original', 'clone']) {
        const c = await s.db
          .insertInto('computers')
          .values({
            host_name: name,
            platform: 'linux',
            agent_version: '0.1.0',
            policy_id: policyId,
            state: 'active',
            cert_serial: `events-${name}`,
            activated_at: 0,
            drivers: '[]',
            counters: '{}',
            events_acked_through: 0,
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        computers.push(Number(c.id));
      }
    });
    after(() => db.close());

    const event = (seq: number, epoch?: string) => ({
      ...(epoch === undefined ? {} : { epoch }),
      seq,
      time: 1,
      type: 't',
      severity: 'info',
      message: `m${seq}`,
    });

    test('the same epoch and seq from a second computer is a repeat; a new epoch or none is not', async () => {
      const [original, clone] = computers as [number, number];
      assert.equal(await s.events.insertReported(original, [event(1, 'e-shared'), event(2, 'e-shared')], 1), 2);
      // The clone delivers the copied spool, then its own event in the epoch it began.
      assert.equal(
        await s.events.insertReported(clone, [event(1, 'e-shared'), event(2, 'e-shared'), event(3, 'e-clone')], 2),
        1,
      );
      assert.equal(await s.events.insertReported(original, [event(2, 'e-shared')], 3), 0, 'a re-send');
      // Agents from before epochs: per computer.
      assert.equal(await s.events.insertReported(original, [event(7)], 4), 1);
      assert.equal(await s.events.insertReported(clone, [event(7)], 4), 1);
      assert.equal(await s.events.insertReported(clone, [event(7)], 5), 0);
      const of = async (c: number) => (await s.events.listForComputer(c)).map((e) => `${e.epoch}/${e.seq}`);
      assert.deepEqual(await of(original), ['e-shared/1', 'e-shared/2', '/7']);
      assert.deepEqual(await of(clone), ['e-clone/3', '/7']);
    });
  });
