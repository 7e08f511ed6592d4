import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import type { StoreEngine, TestDatabase } from '../../testing/store-engines.js';
import type { KyselyStore } from '../kysely-store.js';

export const computerRepositoryContract = (engine: StoreEngine) =>
  describe(`computers over ${engine.name}: the offline sweep statement`, () => {
    let db: TestDatabase;
    let store: KyselyStore;
    let policyId: number;
    let serial = 0;

    const computer = async (o: { deadline: number | null; state: 'active' | 'deactivated' }) => {
      const r = await store.db
        .insertInto('computers')
        .values({
          host_name: `host-${++serial}`,
          platform: 'linux',
          agent_version: '0.1.0',
          policy_id: policyId,
          state: o.state,
          cert_serial: `s-${serial}`,
          activated_at: 0,
          last_communication: o.deadline === null ? null : o.deadline - 3000,
          offline_deadline: o.deadline,
          drivers: '[]',
          counters: '{}',
          events_acked_through: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(r.id);
    };

    before(async () => {
      db = await engine.database();
      store = db.store;
      policyId = (await store.policies.ensureBase(0)).id;
    });
    after(() => db.close());

    test('the agent endpoint’s lookup by serial: the computer as stored, without its drivers and counters', async () => {
      const id = await computer({ deadline: null, state: 'active' });
      await store.db
        .updateTable('computers')
        .set({ drivers: '[{"name":"firewall","status":"online"}]', counters: '{"firewall.r_1.packets":7}' })
        .where('id', '=', id)
        .execute();
      const full = (await store.computers.get(id))!;
      assert.deepEqual(full.counters, { 'firewall.r_1.packets': 7 }, 'stored');
      const seen = await store.computers.findByCertSerial(full.certSerial);
      assert.ok(seen);
      assert.equal('drivers' in seen, false);
      assert.equal('counters' in seen, false);
      const { drivers: _d, counters: _c, ...rest } = full;
      assert.deepEqual(seen, rest);
      assert.equal(await store.computers.findByCertSerial('no-such-serial'), null);
    });

    const SWEEP = sql`SELECT id FROM computers WHERE offline_deadline <= 5 AND offline_since IS NULL AND state = 'active' ORDER BY offline_deadline LIMIT 10`;

    test('the sweep reads the partial index, not the table', { skip: engine.name !== 'sqlite' }, async () => {
      const plan = await sql<{ detail: string }>`EXPLAIN QUERY PLAN ${SWEEP}`.execute(store.db);
      assert.match(
        plan.rows.map((r) => r.detail).join('\n'),
        /USING INDEX computers_offline_due \(offline_deadline<\?\)/,
      );
    });

    test('the sweep can read the partial index, not the table (PostgreSQL)', {
      skip: engine.name !== 'postgres',
    }, async () => {
      // A near-empty table is cheaper to scan, so the planner would rightly pick that: forbid it
      // to see that the index matches the statement at all.
      const plan = await store.db.transaction().execute(async (trx) => {
        await sql`SET LOCAL enable_seqscan = off`.execute(trx);
        return sql<{ 'QUERY PLAN': string }>`EXPLAIN ${SWEEP}`.execute(trx);
      });
      assert.match(plan.rows.map((r) => r['QUERY PLAN']).join('\n'), /Index Scan using computers_offline_due/);
    });

    test('a deactivated computer whose deadline passed is never marked Offline; an active one once', async () => {
      const gone = await computer({ deadline: 1, state: 'deactivated' });
      const due = await computer({ deadline: 1, state: 'active' });
      assert.deepEqual(
        (await store.computers.markOfflineDue(10_000_000, 100)).map((r) => r.id),
        [due],
      );
      assert.deepEqual(await store.computers.markOfflineDue(10_000_000, 100), [], 'already offline: not again');
      assert.equal((await store.computers.get(gone))!.offlineSince, null);
      assert.equal(await store.computers.nextOfflineDeadline(), null, 'nothing left for the sweep to wait for');
    });

    test('upgrade orders past their life: the oldest by the partial index; each failed once by concurrent sweeps', async () => {
      // One computer each: a new request supersedes the computer's open one.
      const order = async (sentAt: number) => {
        const c = await computer({ deadline: null, state: 'active' });
        return store.transaction(async (tx) => {
          const u = await tx.computers.requestUpgrade({
            computerId: c,
            fromVersion: '1.0.0',
            toVersion: '1.1.0',
            packages: [{ file: 'palisade-agent-1.1.0-linux-x64.tar.gz', sha256: 'a'.repeat(64) }],
            requestedBy: 'test',
            now: sentAt,
          });
          await tx.computers.markUpgradeSent(u.id, sentAt);
          return { id: u.id, computer: c };
        });
      };
      const orders = [];
      for (const t of [100, 200, 300]) orders.push(await order(t));
      const ids = orders.map((o) => o.id);
      assert.equal(await store.computers.oldestSentUpgrade(), 100);
      if (engine.name === 'sqlite') {
        const plan = await sql<{
          detail: string;
        }>`EXPLAIN QUERY PLAN SELECT MIN(sent_at) FROM agent_upgrades WHERE status = 'sent'`.execute(store.db);
        assert.match(plan.rows.map((r) => r.detail).join('\n'), /agent_upgrades_sent/);
      }
      // Two nodes sweeping at once: between them each order due is failed once, by one of them.
      const sweeps = await Promise.all([1, 2].map(() => store.computers.expireUpgradesDue(250, 'too late', 9, 1)));
      const again = await Promise.all([1, 2].map(() => store.computers.expireUpgradesDue(250, 'too late', 9, 10)));
      const failed = [...sweeps, ...again].flat().map((r) => r.id);
      assert.deepEqual(failed.sort(), ids.slice(0, 2).sort(), 'the two sent before 250, each once');
      assert.equal(await store.computers.oldestSentUpgrade(), 300);
      const states = await Promise.all(orders.map(async (o) => (await store.computers.upgradesOf(o.computer))[0]));
      assert.deepEqual(
        states.map((u) => [u?.status, u?.reason]),
        [
          ['failed', 'too late'],
          ['failed', 'too late'],
          ['sent', null],
        ],
      );
    });

    test('continuity tokens: an activation without a token, then a compare-and-set rotation', async () => {
      const c = await store.computers.activate(null, {
        hostName: 'no-token',
        platform: 'linux',
        agentVersion: '0.1.0',
        policyId,
        certSerial: `s-${++serial}`,
        expectedFingerprint: 'sha256:x',
        now: 1,
        hostIdentity: 'identity-hash',
        continuity: 'c0',
        offlineDeadline: 100,
      });
      assert.ok(typeof c !== 'string');
      assert.deepEqual(await store.computers.identityOf(c.id), {
        hostIdentity: 'identity-hash',
        continuityCurrent: 'c0',
        continuityPrevious: null,
        cloneDetectedAt: null,
      });
      assert.equal(await store.computers.rotateContinuity(c.id, 'c0', 'c1', 'c0'), true);
      // A second exchange that read c0 too loses the race and must look again.
      assert.equal(await store.computers.rotateContinuity(c.id, 'c0', 'c2', 'c0'), false);
      await store.computers.markCloneDetected(c.id, 7);
      assert.deepEqual(await store.computers.identityOf(c.id), {
        hostIdentity: 'identity-hash',
        continuityCurrent: 'c1',
        continuityPrevious: 'c0',
        cloneDetectedAt: 7,
      });
    });
  });
