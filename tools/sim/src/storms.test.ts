import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { issueActivationToken, type RunningManager } from '@palisade/manager';
import { activateArgs, simJson as sim, startTestManager, tempDirs } from './sim-testing.js';

// Small N with tiny queues, so the refusals happen for certain; no timing is asserted, only
// that every agent ends where it must and that the manager refused, hinted and was waited for.
// After the outage the manager holds each heartbeat's reply HOLD_MS (the crash tests' hook):
// sixteen agents coming back overflow a queue of two however slowly the simulator's processes
// start on a loaded machine, where replies as fast as the agents arrive could leave none refused.
const HOLD_MS = 100;

describe('storms at small N: a bounded queue, 503 + Retry-After, agents that back off with jitter', () => {
  const temps = tempDirs();
  const dataDir = temps.make('palisade-storm-mgr-');
  const fleet = join(temps.make('palisade-storm-fleet-'), 'fleet');
  let manager: RunningManager | undefined;
  const start = (heartbeatPort = 0) =>
    startTestManager(dataDir, {
      heartbeatPort,
      agentQueues: { activations: { concurrency: 1, maxQueued: 1 }, heartbeats: { concurrency: 1, maxQueued: 1 } },
    });
  after(async () => {
    await manager?.close();
    temps.removeAll();
  });

  test('activation storm: all end activated; the queue refused some with 503 and they came back', async () => {
    manager = await start();
    const base = await manager.store.policies.ensureBase(Date.now());
    const { token } = await issueActivationToken(
      manager.store,
      { policyId: base.id, maxUses: null, ttlMs: 3_600_000, description: 'storm test' },
      'test',
      Date.now(),
    );
    const r = await sim([...activateArgs(manager, token, 16, fleet), '--processes', '2', '--concurrency', '8']);
    assert.equal(r.ok, 16, JSON.stringify(r.errors));
    assert.deepEqual(r.errors, {});
    assert.ok(r.retriesAfterBusy > 0, 'some were told to come back');
    assert.equal((await manager.store.computers.list()).length, 16);
    const text = await manager.metrics.text();
    assert.match(text, /palisade_refusals_total\{port="4120",cap="activation-queue"\} [1-9]/);
    assert.match(text, /palisade_activations_total\{outcome="busy",status="503"\} [1-9]/);
  });

  test('reconnect storm after an outage: every computer heartbeats again, none fails beyond its retries', async () => {
    const port = manager!.heartbeatPort;
    await manager!.close();
    manager = undefined;
    const restartedAt = Date.now();
    process.env.PALISADE_TEST_HOLD_HEARTBEAT_REPLY_MS = String(HOLD_MS);
    try {
      manager = await start(port);
    } finally {
      delete process.env.PALISADE_TEST_HOLD_HEARTBEAT_REPLY_MS;
    }
    const r = await sim([
      'run',
      '--dir',
      fleet,
      '--duration',
      '300',
      '--reconnect-storm',
      '--processes',
      '2',
      '--concurrency',
      '8',
    ]);
    assert.equal(r.ok, 16, JSON.stringify(r.errors));
    assert.deepEqual(r.errors, {});
    assert.ok(r.retriesAfterBusy > 0, 'the manager spread them with 503 + Retry-After');
    assert.equal(
      r.timeline.reduce((a, b) => a + b, 0),
      16,
      'the recovery curve accounts for every heartbeat',
    );
    for (const c of await manager.store.computers.list())
      assert.ok((c.lastCommunication ?? 0) >= restartedAt, `${c.hostName} is back`);
    assert.match(await manager.metrics.text(), /palisade_heartbeats_total\{outcome="busy",status="503"\} [1-9]/);
  });
});
