import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SealedSecret } from '../keys/secret-box.js';
import type { StoreEngine, TestDatabase } from '../testing/store-engines.js';
import { FEED_START, type FeedPosition } from './feed-position.js';
import type { KyselyStore } from './kysely-store.js';

/**
 * Several manager nodes on one database: what each node's claim statements promise when they
 * race. On PostgreSQL the two stores are two connection pools whose statements truly overlap.
 */
export const multiNodeContract = (engine: StoreEngine) =>
  describe(`several nodes on one ${engine.name} database: each claim is won once`, () => {
    let db: TestDatabase;
    let a: KyselyStore;
    let b: KyselyStore;
    let policyId: number;
    let serial = 0;

    const computers = async (n: number, deadline: number) => {
      const rows = await a.db
        .insertInto('computers')
        .values(
          Array.from({ length: n }, () => ({
            host_name: `node-${++serial}`,
            platform: 'linux',
            agent_version: '0.1.0',
            policy_id: policyId,
            state: 'active',
            cert_serial: `mn-${serial}`,
            activated_at: 0,
            last_communication: deadline - 3000,
            offline_deadline: deadline,
            last_ip: '127.0.0.1',
            drivers: '[]',
            counters: '{}',
            events_acked_through: 0,
          })),
        )
        .returning('id')
        .execute();
      return rows.map((r) => Number(r.id));
    };

    before(async () => {
      db = await engine.database();
      a = db.store;
      b = db.connect();
      policyId = (await a.policies.ensureBase(0)).id;
    });
    after(() => db.close());

    test('two nodes sweeping at once: every due computer is marked Offline by exactly one of them', async () => {
      const ids = await computers(400, 1_000);
      const sweepAll = async (s: KyselyStore) => {
        const got: number[] = [];
        for (let i = 0; i < 100; i++) {
          const rows = await s.computers.markOfflineDue(2_000, 25);
          if (rows.length === 0) break;
          got.push(...rows.map((r) => r.id));
        }
        return got;
      };
      const [x, y] = await Promise.all([sweepAll(a), sweepAll(b)]);
      assert.deepEqual(
        [...x, ...y].sort((p, q) => p - q),
        ids,
        'each once, none missed',
      );
    });

    test('two nodes claiming dial work at once: each due computer is claimed by one node', async () => {
      const ids = await computers(200, 10_000_000);
      for (const id of ids)
        await a.dialTargets.noteContact({
          computerId: id,
          expectedDirection: 'manager-initiated',
          defaultPort: 4118,
          communication: { direction: 'manager-initiated', listener: { port: 4118 } },
          now: 1_000,
          nextScheduledAt: 2_000,
        });
      const claimAll = async (s: KyselyStore, token: string) => {
        const got: number[] = [];
        for (let i = 0; i < 100; i++) {
          const rows = await s.dialTargets.claimDue({ now: 3_000, limit: 10, leaseMs: 60_000, token });
          if (rows.length === 0) break;
          got.push(...rows.map((r) => r.computerId));
        }
        return got;
      };
      const [x, y] = await Promise.all([claimAll(a, 'node-a'), claimAll(b, 'node-b')]);
      assert.deepEqual(
        [...x, ...y].sort((p, q) => p - q),
        ids,
      );
      assert.equal(new Set([...x, ...y]).size, ids.length, 'no computer claimed twice');
    });

    test('a notifier is leased to one node at a time; the lease lapses for the other', async () => {
      const n = await a.notifiers.create({
        name: `n-${engine.name}`,
        settings: {
          kind: 'webhook',
          sources: ['alerts'],
          minSeverity: 'info',
          webhook: {
            url: 'https://127.0.0.1:1/',
            headerNames: [],
            // What the store holds is opaque to it: a contract test needs no real seal.
            secret: 'sealed' as SealedSecret,
            ca: null,
            timeoutSeconds: 5,
          },
        },
        enabled: true,
        now: 1,
      });
      assert.notEqual(n, 'name-taken');
      const id = (n as { id: number }).id;
      const [x, y] = await Promise.all([
        a.notifiers.lease(id, 'a', 100, 1_000),
        b.notifiers.lease(id, 'b', 100, 1_000),
      ]);
      assert.equal([x, y].filter(Boolean).length, 1, 'one holder');
      const holder = x ? 'a' : 'b';
      const other = x ? b : a;
      assert.equal(await other.notifiers.lease(id, holder === 'a' ? 'b' : 'a', 999, 2_000), null, 'held');
      assert.equal(
        await other.notifiers.recordDelivery(id, holder === 'a' ? 'b' : 'a', {
          alertCursor: { tx: 0, id: 5 },
          eventCursor: FEED_START,
          delivered: 1,
          now: 999,
        }),
        false,
        'only the holder moves the cursor',
      );
      assert.ok(await other.notifiers.lease(id, holder === 'a' ? 'b' : 'a', 1_001, 2_000), 'lapsed: taken over');
    });

    /** Reads the event feed from `p` to its end, as a notifier does; returns the seqs and where it stopped. */
    const drain = async (s: KyselyStore, p: FeedPosition) => {
      const seqs: number[] = [];
      for (let i = 0; i < 100; i++) {
        const batch = await s.events.after(p, 50);
        if (batch.length === 0) break;
        seqs.push(...batch.map((e) => e.seq));
        const last = batch[batch.length - 1]!;
        p = { tx: last.tx, id: last.cursor };
      }
      return { seqs, p };
    };
    const event = (seq: number) => [{ epoch: 'feed', seq, time: 1, type: 'feed.test', severity: 'info', message: 'm' }];
    /** A transaction on `s` that runs `fn`, then holds until `go` is called, then commits. */
    const held = (
      s: KyselyStore,
      fn: (tx: Parameters<Parameters<KyselyStore['transaction']>[0]>[0]) => Promise<void>,
    ) => {
      let go!: () => void;
      let ready!: () => void;
      const gate = new Promise<void>((r) => {
        go = r;
      });
      const started = new Promise<void>((r) => {
        ready = r;
      });
      const done = s.transaction(async (tx) => {
        await fn(tx);
        ready();
        await gate;
      });
      return { started, go, done };
    };

    test('events committed out of id order: a notifier feed read meanwhile skips none and repeats none', {
      skip: engine.name === 'sqlite' ? 'one writer at a time: ids become visible in order' : false,
    }, async () => {
      const [cid] = await computers(1, 10_000_000);
      let p = (await drain(b, FEED_START)).p;
      const delivered: number[] = [];

      // 1. The first transaction takes the lower id; the second takes the next one and commits first.
      const first = held(a, (tx) => tx.events.insertReported(cid!, event(1), 1).then(() => {}));
      await first.started;
      await b.events.insertReported(cid!, event(2), 1);
      let r = await drain(b, p);
      delivered.push(...r.seqs);
      p = r.p;
      first.go();
      await first.done;
      r = await drain(b, p);
      delivered.push(...r.seqs);
      p = r.p;
      assert.deepEqual(delivered.sort(), [1, 2], 'the event whose transaction committed last is not skipped');

      // 2. The transaction that commits first took its transaction id first, and its event
      //    the higher id, while the other is still running.
      let lateInserted!: () => void;
      const lateGate = new Promise<void>((res) => {
        lateInserted = res;
      });
      let earlyHasXid!: () => void;
      const earlyReady = new Promise<void>((res) => {
        earlyHasXid = res;
      });
      const earlyDone = b.transaction(async (tx) => {
        await tx.systemSettings.set('feed-test', 'x'); // its transaction id is taken here
        earlyHasXid();
        await lateGate;
        await tx.events.insertReported(cid!, event(4), 1);
      });
      await earlyReady;
      const late = held(a, (tx) => tx.events.insertReported(cid!, event(3), 1).then(() => {}));
      await late.started;
      lateInserted();
      await earlyDone;
      r = await drain(b, p);
      delivered.push(...r.seqs);
      p = r.p;
      late.go();
      await late.done;
      r = await drain(b, p);
      delivered.push(...r.seqs);
      assert.deepEqual(
        delivered.sort((x, y) => x - y),
        [1, 2, 3, 4],
        'each once',
      );
    });

    test('a policy change committed on one node is what the other reads next', async () => {
      const before = await b.policies.treeVersion();
      await a.transaction(async (tx) => {
        await tx.policies.lockTree();
        await tx.policies.setSetting(policyId, 'firewallSettingState', 'Off');
      });
      assert.ok((await b.policies.treeVersion())! > before!);
      assert.deepEqual((await b.policies.overrides()).get(policyId), { firewallSettingState: 'Off' });
    });
  });
