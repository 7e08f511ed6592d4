import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { heartbeat, type StateDir } from '@palisade/agent';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

describe('an agent over its event rate (issue 12, item 3)', () => {
  let m: TestManager;
  let agent: StateDir;
  before(async () => {
    // One event a minute: nothing refills while the test runs, so the counts below are exact.
    m = await startTestManager({ eventRate: { perMinute: 1, burst: 600 } });
    agent = await activateTestAgent(m);
  });
  after(() => m.close());

  test('the manager stores its burst; the agent keeps the rest and stops sending them until later', async () => {
    const spool = agent.spool();
    for (let i = 0; i < 1_200; i++) spool.append({ type: 'flood.test', severity: 'info', message: `event ${i}` });
    const pending = agent.spool().size;
    const first = await heartbeat(agent);
    // 500 taken whole, then 100 of the next 500: a partial acknowledgement ends the run.
    assert.equal(first.exchanges, 2);
    const stored = (await m.manager.store.events.listForComputer(first.computerId)).length;
    assert.ok(stored >= 600 && stored <= 601, `stored ${stored}`);
    assert.equal(agent.spool().size, pending - stored, 'what is not stored is still in the spool');

    const second = await heartbeat(agent);
    assert.equal(second.exchanges, 1, 'an over-rate agent does not resend at once');
    assert.ok((await m.manager.store.events.listForComputer(first.computerId)).length <= 602);
    assert.equal(agent.spool().size + (await m.manager.store.events.listForComputer(first.computerId)).length, pending);
    const metrics = await m.manager.metrics.registry.getSingleMetricAsString('palisade_events_deferred_total');
    assert.match(metrics, /palisade_events_deferred_total \d+/);
    assert.ok(Number(/palisade_events_deferred_total (\d+)/.exec(metrics)?.[1]) >= 400 + 499);
  });
});
