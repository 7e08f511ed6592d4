import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { heartbeat } from '@palisade/agent';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';
import { freePort } from './polling.js';

/**
 * An agent fails over in order (docs/scale-out.md): the manager addresses its configuration
 * lists, then the one it activated with. Nothing listens on the first address here, so the
 * exchange has to move on to the next one and succeed there.
 */
let m: TestManager;
before(async () => {
  m = await startTestManager();
});
after(() => m.close());

test('an agent whose listed manager refuses goes on to the next address, in order, and its report lands', async () => {
  const state = await activateTestAgent(m, { hostName: 'failover-01' });
  await heartbeat(state);
  const applied = state.appliedConfiguration()!;
  const dead = await freePort();
  // What a configuration from several nodes carries: a node that is down, then a live one.
  state.saveAppliedConfiguration({
    ...applied,
    configuration: {
      ...(applied.configuration as object),
      managers: [`dsm://localhost:${dead}/`, m.agentUrl],
    },
  });
  state.spool().append({ type: 'failover.test', severity: 'info', message: 'through the second address' });
  const out = await heartbeat(state);
  assert.equal(out.eventsSent, 1);
  // The spool may hold a new event of its own: the manager replaces the edited configuration and
  // the agent records applying it. What counts is that the live node acknowledged this one.
  assert.deepEqual(
    state
      .spool()
      .pending(100)
      .filter((e) => e.type === 'failover.test'),
    [],
    'acknowledged by the live node',
  );
  const stored = await m.manager.store.events.listForComputer(out.computerId);
  assert.equal(stored.filter((e) => e.type === 'failover.test').length, 1);
});

test('when every address refuses, the error names the last one tried', async () => {
  const state = await activateTestAgent(m, { hostName: 'failover-02' });
  await heartbeat(state);
  const applied = state.appliedConfiguration()!;
  const [a, b] = [await freePort(), await freePort()];
  state.saveAppliedConfiguration({
    ...applied,
    configuration: {
      ...(applied.configuration as object),
      managers: [`dsm://localhost:${a}/`, `dsm://localhost:${b}/`],
    },
  });
  await m.stop();
  await assert.rejects(heartbeat(state), (e: Error) => {
    assert.match(e.message, new RegExp(`localhost:${m.manager.heartbeatPort} refused`));
    return true;
  });
});
