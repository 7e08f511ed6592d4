import assert from 'node:assert/strict';
import { cpSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { heartbeat, runAgent, type StateDir } from '@palisade/agent';
import pino from 'pino';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

const logger = pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' });

/**
 * A VM snapshot reverted under a running fleet (issue 12, item 6): the agent's state directory
 * goes back in time, so it numbers its next events with sequence numbers the manager already
 * holds for other events. They used to be dropped as repeats while being acknowledged; with
 * epochs (a new one at every start of the agent) every event is stored, once.
 */
describe('an agent whose state goes back in time (a VM snapshot reverted)', () => {
  let m: TestManager;
  let state: StateDir;

  before(async () => {
    m = await startTestManager();
    state = await activateTestAgent(m, { hostName: 'reverted' });
  });
  after(() => m.close());

  const run = async (why: string, events: string[]) => {
    const agent = runAgent(state, logger, { finalHeartbeatTimeoutMs: 5_000 });
    const spool = state.spool();
    for (const e of events) spool.append({ type: 'test.event', severity: 'info', message: e });
    await waitFor(`the ${why} events to be acknowledged`, () => state.spool().size === 0, 30_000);
    await agent.stop(why);
  };

  test('every event of both timelines is stored exactly once', async () => {
    await run('first run', ['first run']);
    const snapshot = join(m.tempDir('palisade-snapshot-'), 'state');
    cpSync(state.dir, snapshot, { recursive: true });

    // The timeline the snapshot will erase: events the manager stores and acknowledges.
    const lost = Array.from({ length: 5 }, (_, i) => `before the revert ${i}`);
    for (const e of lost) state.spool().append({ type: 'test.event', severity: 'info', message: e });
    const erased = await heartbeat(state);
    assert.equal(erased.eventsSent, 5);

    // The revert: the state directory as the snapshot had it; the agent starts again from it and
    // numbers its next events from where the snapshot was.
    rmSync(state.dir, { recursive: true, force: true });
    cpSync(snapshot, state.dir, { recursive: true });
    const after = Array.from({ length: 5 }, (_, i) => `after the revert ${i}`);
    await run('second run', after);

    const stored = await m.manager.store.events.listForComputer(state.activation().computerId);
    const count = (message: string) => stored.filter((e) => e.message === message).length;
    for (const e of ['first run', ...lost, ...after]) assert.equal(count(e), 1, `"${e}" stored once`);
    assert.equal(stored.filter((e) => e.type === 'agent.started').length, 2, 'both starts');
    assert.equal(stored.filter((e) => e.type === 'agent.stopped').length, 2, 'both stops');
    // The numbers collided, the epochs did not.
    const seqOf = (message: string) => stored.find((e) => e.message === message)!;
    const before0 = seqOf('before the revert 0');
    const clash = stored.find((e) => e.seq === before0.seq && e.id !== before0.id);
    assert.ok(clash, 'a post-revert event reused a number the erased timeline had used');
    assert.notEqual(clash.epoch, before0.epoch);
    // Nothing of the erased timeline came back twice, and nothing is left to send.
    assert.equal(new Set(stored.map((e) => `${e.epoch}/${e.seq}`)).size, stored.length);
    assert.equal(state.spool().size, 0);
  });
});
