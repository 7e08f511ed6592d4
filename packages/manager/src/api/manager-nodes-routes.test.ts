import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { ManagerNodeRegistry } from '../cluster/manager-nodes.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';

const logger = pino({ level: 'silent' });

describe('DELETE /api/managernodes/{id}', () => {
  let f: ApiFixture;
  let clock = 1_700_000_000_000;
  const registries: ManagerNodeRegistry[] = [];
  const node = async (name: string, address: string) => {
    const r = await ManagerNodeRegistry.start({
      store: f.store,
      logger,
      name,
      hostnames: [name],
      agentAddresses: [address],
      version: '1.0.0',
      beatMs: 3_600_000,
      offlineAfterMs: 30_000,
      now: () => clock,
    });
    registries.push(r);
    return r;
  };

  before(async () => {
    f = await startApiFixture({ now: () => clock });
  });
  after(async () => {
    for (const r of registries) await r.close();
    await f.close();
  });

  test('an online node is refused (409, nothing changes); once offline it goes with its addresses, alert and an audit row', async () => {
    const live = await node('node-live', 'dsm://live.example:4120/');
    const gone = await node('node-gone', 'dsm://gone.example:4120/');
    const online = await f.request('DELETE', `/api/managernodes/${gone.node.id}`);
    assert.equal(online.status, 409);
    assert.equal(online.json<{ error: { code: string } }>().error.code, 'MANAGER_NODE_ONLINE');
    assert.equal((await f.store.managerNodes.list()).length, 2);

    clock += 31_000; // node-gone stays silent; node-live beats and sweeps it offline
    await live.beat();
    assert.deepEqual(
      (await live.sweepNow()).map((n) => n.name),
      ['node-gone'],
    );
    const alertOpen = async () =>
      (await f.store.alerts.list({ type: 'manager-offline', limit: 10, offset: 0 })).alerts.find(
        (a) => a.subject === 'node-gone',
      )!.clearedAt === null;
    assert.equal(await alertOpen(), true);

    const readOnly = await f.request('DELETE', `/api/managernodes/${gone.node.id}`, undefined, {
      key: f.keys.readOnly,
    });
    assert.equal(readOnly.status, 403);
    const del = await f.request('DELETE', `/api/managernodes/${gone.node.id}`);
    assert.equal(del.status, 204);
    assert.deepEqual(
      (await f.store.managerNodes.list()).map((n) => n.name),
      ['node-live'],
    );
    assert.deepEqual(await f.store.managerNodes.agentAddresses(), ['dsm://live.example:4120/']);
    assert.equal(await alertOpen(), false, 'its Manager Offline alert is cleared');
    const [row] = await f.store.audit.list({ limit: 1 });
    assert.deepEqual(
      [row!.action, row!.targetType, row!.targetId, JSON.parse(row!.oldValue!).name, row!.newValue],
      ['managerNode.delete', 'managerNode', gone.node.id, 'node-gone', null],
    );

    const again = await f.request('DELETE', `/api/managernodes/${gone.node.id}`);
    assert.equal(again.status, 404);
    assert.equal(again.json<{ error: { code: string } }>().error.code, 'MANAGER_NODE_NOT_FOUND');
  });
});
