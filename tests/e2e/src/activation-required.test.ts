import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AGENT_BIN, activateCommand, runCli, startAgentProcess } from './cli.js';
import { startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

/**
 * An agent service started before activation (a deployment script without activation, or a
 * host whose computer was deactivated) waits as "Activation Required" instead of exiting, and
 * carries on by itself once "activate" has run.
 */
describe('agent start before activation', () => {
  let m: TestManager;
  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: 1 });
  });
  after(async () => {
    await m.close();
  });

  test('waits, then heartbeats once activated; status --json says which', async () => {
    const stateDir = m.tempDir();
    const agent = startAgentProcess(stateDir);
    try {
      await waitFor('the Activation Required log line', () => agent.log().includes('Activation Required'));
      assert.equal(agent.proc.exitCode, null, 'still running');
      const before = await runCli(AGENT_BIN, ['status', '--json', '--state-dir', stateDir]);
      assert.equal(JSON.parse(before.stdout).activated, false);

      const a = await runCli(AGENT_BIN, activateCommand(m, stateDir));
      assert.equal(a.code, 0, a.stderr);
      const id = Number(/computer (\d+)/.exec(a.stdout)![1]);
      // The waiting process heartbeats by itself: the computer's agent.started event arrives.
      await waitFor(
        'agent.started from the waiting process',
        async () => (await m.manager.store.events.listForComputer(id)).some((e) => e.type === 'agent.started'),
        30_000,
      );
      const s = JSON.parse((await runCli(AGENT_BIN, ['status', '--json', '--state-dir', stateDir])).stdout);
      assert.equal(s.activated, true);
      assert.equal(s.computerId, id);
    } finally {
      await agent.stop();
    }
  });
});
