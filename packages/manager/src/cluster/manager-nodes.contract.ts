import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { KyselyStore } from '../store/kysely-store.js';
import type { StoreEngine, TestDatabase } from '../testing/store-engines.js';
import { ManagerNodeRegistry } from './manager-nodes.js';

/** Manager nodes on one database: registration, the agent address list, one alert per node going offline. */
export const managerNodesContract = (engine: StoreEngine) =>
  describe(`manager nodes on one ${engine.name} database`, () => {
    let db: TestDatabase;
    let a: KyselyStore;
    let b: KyselyStore;
    let clock = 1_000_000;
    const logger = pino({ level: 'silent' });
    const registries: ManagerNodeRegistry[] = [];
    // Beats far apart: the tests drive beats and sweeps by hand.
    const node = async (store: KyselyStore, name: string, agentAddresses: string[] = []) => {
      const r = await ManagerNodeRegistry.start({
        store,
        logger,
        name,
        hostnames: [name],
        agentAddresses,
        version: '0.1.0',
        beatMs: 3_600_000,
        offlineAfterMs: 30_000,
        now: () => clock,
      });
      registries.push(r);
      return r;
    };

    before(async () => {
      db = await engine.database();
      a = db.store;
      b = db.connect();
      await a.policies.ensureBase(0);
    });
    after(async () => {
      for (const r of registries) await r.close();
      await db.close();
    });

    test('nodes register with their addresses; the list is every node’s, oldest first, and bumps the tree version', async () => {
      const v0 = await a.policies.treeVersion();
      const na = await node(a, 'node-a', ['dsm://lb.example:4120/', 'dsm://a.example:4120/']);
      const v1 = await a.policies.treeVersion();
      assert.ok(v1! > v0!, 'a new address moves the version agents’ configurations hang on');
      await node(b, 'node-b', ['dsm://lb.example:4120/', 'dsm://b.example:4120/']);
      assert.deepEqual(await b.managerNodes.agentAddresses(), [
        'dsm://lb.example:4120/',
        'dsm://a.example:4120/',
        'dsm://b.example:4120/',
      ]);
      const v2 = await a.policies.treeVersion();
      await node(a, 'node-a', ['dsm://lb.example:4120/', 'dsm://a.example:4120/']);
      assert.equal(await a.policies.treeVersion(), v2, 'the same addresses again: no change');
      const list = await a.managerNodes.list();
      assert.deepEqual(
        list.map((n) => [n.name, n.offlineSince]),
        [
          ['node-a', null],
          ['node-b', null],
        ],
      );
      assert.equal(list[0]!.id, na.node.id);
    });

    test('a silent node: both others sweep at once, it goes offline once with one alert; its return clears it', async () => {
      const c = await node(a, 'node-c');
      const x = await node(a, 'node-x');
      const y = await node(b, 'node-y');
      clock += 31_000; // node-c stays silent; x and y beat
      // At once on PostgreSQL (two pools); one after the other on SQLite, whose two connections in
      // one thread would only wait on each other's lock (the monitor contract races processes).
      const both = <T>(p: () => Promise<T>, q: () => Promise<T>) =>
        engine.name === 'sqlite' ? p().then(async (r) => [r, await q()] as const) : Promise.all([p(), q()]);
      await both(
        () => x.beat(),
        () => y.beat(),
      );
      const [byX, byY] = await both(
        () => x.sweepNow(),
        () => y.sweepNow(),
      );
      const marked = [...byX, ...byY].map((n) => n.name).sort();
      // node-a and node-b (earlier test) are silent too.
      assert.deepEqual(marked, ['node-a', 'node-b', 'node-c']);
      assert.deepEqual(await x.sweepNow(), [], 'once per transition');
      const alerts = (await a.alerts.list({ type: 'manager-offline', limit: 100, offset: 0 })).alerts;
      assert.equal(alerts.filter((al) => al.subject === 'node-c' && al.clearedAt === null).length, 1);
      assert.equal(alerts[0]!.computerId, null);
      assert.match(alerts.find((al) => al.subject === 'node-c')!.message, /manager node node-c is offline/);
      await c.beat();
      const after = (await a.alerts.list({ type: 'manager-offline', limit: 100, offset: 0 })).alerts;
      assert.notEqual(after.find((al) => al.subject === 'node-c')!.clearedAt, null, 'back online: cleared');
      assert.equal((await a.managerNodes.list()).find((n) => n.name === 'node-c')!.offlineSince, null);
    });
  });
