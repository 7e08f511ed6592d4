import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StoreEngine, TestDatabase } from '../../testing/store-engines.js';
import type { KyselyStore } from '../kysely-store.js';
import type { DialTargetRepository } from './dial-target-repository.js';

export const dialTargetRepositoryContract = (engine: StoreEngine) =>
  describe(`dialer store over ${engine.name}`, () => {
    let db: TestDatabase;
    let store: KyselyStore;
    let d: DialTargetRepository;
    let policyId: number;
    let serial = 0;

    const computer = async () => {
      const r = await store.db
        .insertInto('computers')
        .values({
          host_name: `host-${++serial}`,
          platform: 'linux',
          agent_version: '0.1.0',
          policy_id: policyId,
          state: 'active',
          cert_serial: `S${++serial}`,
          activated_at: 0,
          last_ip: '127.0.0.1',
          drivers: '[]',
          counters: '{}',
          events_acked_through: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    };
    const manager = (computerId: number, now: number) =>
      d.noteContact({
        computerId,
        expectedDirection: 'manager-initiated',
        defaultPort: 4118,
        communication: { direction: 'manager-initiated', listener: { port: 4999 } },
        now,
        nextScheduledAt: now + 1000,
      });

    before(async () => {
      db = await engine.database();
      store = db.store;
      d = store.dialTargets;
      policyId = (await store.policies.ensureBase(0)).id;
    });
    after(() => db.close());

    test('a contact schedules manager-initiated computers one interval on, and only them', async () => {
      const mi = await computer();
      const bi = await computer();
      const ai = await computer();
      const t = await manager(mi, 10_000);
      assert.equal(t.mode, 'scheduled');
      assert.equal(t.nextDialAt, 11_000);
      assert.deepEqual(t.listener, { port: 4999, address: null });
      const b = await d.noteContact({
        computerId: bi,
        expectedDirection: 'bidirectional',
        defaultPort: 4118,
        communication: { direction: 'bidirectional', listener: { port: 4118, address: '10.0.0.5' } },
        now: 10_000,
        nextScheduledAt: 11_000,
      });
      assert.equal(b.mode, 'on-demand');
      assert.equal(b.nextDialAt, null, 'Bidirectional: dialled only when there is something to do now');
      assert.deepEqual(b.listener, { port: 4118, address: '10.0.0.5' });
      const a = await d.noteContact({
        computerId: ai,
        expectedDirection: 'agent-initiated',
        defaultPort: 4118,
        communication: { direction: 'agent-initiated', listener: null },
        now: 10_000,
        nextScheduledAt: 11_000,
      });
      assert.equal(a.mode, 'none');
      assert.equal(a.listener, null);
      // A report without `communication` (an older agent) keeps what the agent said before.
      const again = await d.noteContact({
        computerId: bi,
        expectedDirection: 'bidirectional',
        defaultPort: 4118,
        now: 12_000,
        nextScheduledAt: 13_000,
      });
      assert.deepEqual(again.listener, { port: 4118, address: '10.0.0.5' });
      assert.equal(again.appliedDirection, 'bidirectional');
    });

    test('due work is claimed once: a second claim in the same instant gets nothing, a lapsed claim is due again', async () => {
      const id = await computer();
      await manager(id, 100_000);
      const early = await d.claimDue({ now: 100_500, limit: 100, leaseMs: 5_000, token: 'early' });
      assert.ok(!early.some((r) => r.computerId === id), 'not due yet');
      const [first, second] = await Promise.all([
        d.claimDue({ now: 101_000, limit: 100, leaseMs: 5_000, token: 'node-a' }),
        d.claimDue({ now: 101_000, limit: 100, leaseMs: 5_000, token: 'node-b' }),
      ]);
      const mine = (rows: typeof first) => rows.filter((r) => r.computerId === id);
      assert.equal(mine(first).length + mine(second).length, 1, 'exactly one node holds it');
      const holder = mine(first).length ? 'node-a' : 'node-b';
      const row = [...mine(first), ...mine(second)][0]!;
      assert.equal(row.certSerial.startsWith('S'), true);
      assert.equal(row.lastIp, '127.0.0.1');
      assert.equal(row.claimToken, holder);
      assert.equal(await d.claimOne({ computerId: id, now: 102_000, leaseMs: 5_000, token: 'action' }), 'busy');
      // The holder dies; the lease lapses and the work is due again for anyone.
      const retaken = await d.claimDue({ now: 106_001, limit: 100, leaseMs: 5_000, token: 'node-c' });
      assert.ok(retaken.some((r) => r.computerId === id));
      assert.equal(
        await d.release({ computerId: id, token: holder, ok: true, now: 106_002, nextDialAt: 107_002 }),
        false,
        'a lapsed claim cannot release the new holder',
      );
      assert.equal(
        await d.release({
          computerId: id,
          token: 'node-c',
          ok: false,
          error: 'ECONNREFUSED',
          now: 106_003,
          nextDialAt: 107_000,
        }),
        true,
      );
      const t = (await d.get(id))!;
      assert.equal(t.nextDialAt, 107_000);
      assert.equal(t.dialFailures, 1);
      assert.equal(t.lastDialError, 'ECONNREFUSED');
      assert.equal(t.claimedUntil, null);
    });

    test('a successful release keeps the schedule the exchange set, and replaces one still due', async () => {
      const id = await computer();
      await manager(id, 400_000);
      const [c] = (await d.claimDue({ now: 401_000, limit: 100, leaseMs: 5_000, token: 'ok-1' })).filter(
        (r) => r.computerId === id,
      );
      assert.ok(c);
      await manager(id, 401_500); // the exchange's own contact: next at 402_500
      assert.equal(
        await d.release({ computerId: id, token: 'ok-1', ok: true, now: 401_600, nextDialAt: 999_999 }),
        true,
      );
      assert.equal((await d.get(id))!.nextDialAt, 402_500);
      const [again] = (await d.claimDue({ now: 402_500, limit: 100, leaseMs: 5_000, token: 'ok-2' })).filter(
        (r) => r.computerId === id,
      );
      assert.ok(again);
      // No contact noted this time (it failed to write): the row would be due at once; it is pushed instead.
      assert.equal(
        await d.release({ computerId: id, token: 'ok-2', ok: true, now: 402_600, nextDialAt: 403_600 }),
        true,
      );
      const t = (await d.get(id))!;
      assert.deepEqual([t.nextDialAt, t.lastDialOkAt, t.dialFailures, t.claimedUntil], [403_600, 402_600, 0, null]);
    });

    test('claims are bounded by the limit and oldest-due first', async () => {
      const ids = [await computer(), await computer(), await computer()];
      for (const [i, id] of ids.entries()) await manager(id, 200_000 - i * 10);
      const got = await d.claimDue({ now: 300_000, limit: 2, leaseMs: 1_000, token: 'bounded' });
      assert.equal(got.length, 2);
      assert.ok(
        got.every((g, i) => i === 0 || g.nextDialAt! >= got[i - 1]!.nextDialAt!),
        'ordered by due time',
      );
    });

    test('what the agent says after operations moves the schedule: into Manager Initiated, then out of it', async () => {
      const id = await computer();
      await d.noteContact({
        computerId: id,
        expectedDirection: 'manager-initiated',
        defaultPort: 4118,
        communication: { direction: 'agent-initiated', listener: null },
        now: 1_000,
        nextScheduledAt: 2_000,
      });
      let t = (await d.noteCommunication(
        id,
        { direction: 'manager-initiated', listener: { port: 4118 } },
        1_500,
        2_500,
      ))!;
      assert.equal(t.mode, 'scheduled');
      assert.equal(t.nextDialAt, 2_000, 'already scheduled: kept');
      await d.noteContact({
        computerId: id,
        expectedDirection: 'agent-initiated',
        defaultPort: 4118,
        communication: { direction: 'manager-initiated', listener: { port: 4118 } },
        now: 3_000,
        nextScheduledAt: 4_000,
      });
      assert.equal((await d.get(id))!.mode, 'scheduled', 'still called until it says it switched');
      t = (await d.noteCommunication(id, { direction: 'agent-initiated', listener: null }, 3_100, 4_100))!;
      assert.equal(t.mode, 'none');
      assert.equal(t.nextDialAt, null);
      assert.equal(await d.noteCommunication(999_999, { direction: 'agent-initiated', listener: null }, 1, 2), null);
    });
  });
