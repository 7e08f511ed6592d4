import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { AGENT_BIN, runCli } from './cli.js';
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
    const proc = spawn(process.execPath, [AGENT_BIN, 'start', '--state-dir', stateDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, PALISADE_LOG_LEVEL: 'info' },
    });
    let log = '';
    proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    try {
      await waitFor('the Activation Required log line', () => log.includes('Activation Required'));
      assert.equal(proc.exitCode, null, 'still running');
      const before = await runCli(AGENT_BIN, ['status', '--json', '--state-dir', stateDir]);
      assert.equal(JSON.parse(before.stdout).activated, false);

      const a = await runCli(AGENT_BIN, [
        'activate',
        m.agentUrl,
        '--token',
        m.token,
        '--ca-fingerprint',
        m.manager.caFingerprint,
        '--state-dir',
        stateDir,
      ]);
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
      proc.kill('SIGTERM');
      await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once('exit', r)));
    }
  });
});
