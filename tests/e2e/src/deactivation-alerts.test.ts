import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { heartbeat } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';

import { activateTestAgent, startTestManager, type TestManager } from './harness.js';
import { sleep, waitFor } from './polling.js';

const INTERVAL_S = 1;

describe('deactivating a computer clears its open alerts (1-second lab interval)', () => {
  let m: TestManager;
  const alerts = async (query: string) => {
    const r = await m.api('GET', `/api/alerts?${query}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.json<V['AlertList']>().alerts;
  };
  const outbox = async (alertId: number) =>
    (await m.manager.store.alerts.notificationsAfter({ tx: 0, id: 0 }, 1000))
      .filter((n) => n.alert.id === alertId)
      .map((n) => n.action);

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: INTERVAL_S });
  });
  after(() => m.close());

  test('an Offline computer: DELETE clears its offline alert (recorded, reason given, sent to the outbox); nothing is raised after', async () => {
    const agent = await activateTestAgent(m, { hostName: 'retired-01' });
    const id = (await heartbeat(agent)).computerId;
    const raised = await waitFor(
      'the offline alert',
      async () => (await alerts(`computer=${id}&type=computer-offline&active=true`))[0],
      10_000,
    );
    assert.deepEqual(await outbox(raised.ID), ['raised']);

    const before = Date.now();
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204);
    const a = (await m.api('GET', `/api/alerts/${raised.ID}`)).json<V['Alert']>();
    assert.equal(a.active, false);
    assert.ok(
      a.clearedAt !== null && a.clearedAt >= before && a.clearedAt <= Date.now(),
      'clearedAt is the deactivation time',
    );
    assert.equal(a.data?.clearedReason, 'computer deactivated');
    assert.equal(a.dismissedAt, null);
    assert.ok(!(await alerts('active=true')).some((x) => x.ID === raised.ID), 'off the active list');
    assert.deepEqual(await outbox(raised.ID), ['raised', 'cleared'], 'the clear went through the outbox');

    // Its deadline long passed, sweeps (run here rather than waited for) find nothing new for it.
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await m.manager.monitoring.sweeper.sweepNow()).some((t) => t.computerId === id),
        false,
      );
    assert.deepEqual(
      (await alerts(`computer=${id}`)).map((x) => [x.ID, x.active]),
      [[raised.ID, false]],
    );
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204, 'again: nothing changes');
    assert.deepEqual(await outbox(raised.ID), ['raised', 'cleared']);
  });

  test('an online computer with a driver alert, deactivated before its deadline: the driver alert clears and the sweep never marks it Offline', async () => {
    const agent = await activateTestAgent(m, { hostName: 'retired-02' });
    const id = (
      await heartbeat(agent, {
        drivers: () => [{ name: 'firewall', status: 'offline', reason: 'nftables is not installed' }],
      })
    ).computerId;
    const driver = (await alerts(`computer=${id}&type=driver-offline&active=true`))[0];
    assert.ok(driver, 'a driver alert');
    assert.equal(driver.subject, 'firewall');
    const deadline = (await m.manager.store.computers.get(id))!.offlineDeadline!;
    assert.ok(deadline > Date.now(), 'still online');

    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204);
    const cleared = (await m.api('GET', `/api/alerts/${driver.ID}`)).json<V['Alert']>();
    assert.deepEqual(
      [cleared.active, cleared.data?.clearedReason, cleared.data?.driver],

      [false, 'computer deactivated', 'firewall'],
    );
    assert.deepEqual(await outbox(driver.ID), ['raised', 'cleared']);

    // Past the deadline it would have had, on purpose: the sweep must find nothing to mark, and
    // only time passing the deadline can show that.
    await sleep(deadline - Date.now() + 1_000);
    assert.equal(
      (await m.manager.monitoring.sweeper.sweepNow()).some((t) => t.computerId === id),
      false,
    );
    assert.deepEqual(
      (await alerts(`computer=${id}`)).map((x) => [x.type, x.active]),
      [['driver-offline', false]],
      'no offline alert',
    );
    assert.equal((await m.manager.store.computers.get(id))!.offlineSince, null);
  });
});
