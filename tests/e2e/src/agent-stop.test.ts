import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { StateDir } from '@palisade/agent';
import { AGENT_BIN } from './cli.js';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';
/** Below the listener's own 10 s cut of an exchange in flight, and far below the heartbeat interval. */
const STOP_BOUND_MS = 9_000;

describe('SIGTERM stops a running agent promptly, also after it was switched to Manager Initiated', () => {
  let m: TestManager;
  let state: StateDir;
  let agent: ChildProcess;
  let log = '';

  before(async () => {
    // A long interval: a wait the stop failed to end would hold the process for 10 minutes.
    m = await startTestManager({ heartbeatIntervalSeconds: 600, dialer: { pollIntervalMs: 120_000 } });
    await m.api('POST', '/api/policies', {
      name: 'Servers',
      policySettings: { [DIRECTION]: { value: 'Bidirectional' } },
    });
    state = await activateTestAgent(m, { policy: 'Servers', hostName: 'stop-01' });
    agent = spawn(
      process.execPath,
      [AGENT_BIN, 'start', '--state-dir', state.dir, '--listen-address', '127.0.0.1', '--listen-port', '0'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    agent.stderr?.on('data', (d) => {
      log += d;
    });
  });
  after(async () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill('SIGKILL');
    await m.close();
  });

  test('Bidirectional, then Manager Initiated by its policy (the wait woken), then SIGTERM: exits 0 at once', async () => {
    await waitFor('the first heartbeat', () => /"msg":"heartbeat"/.test(log), 30_000);
    const policy = (await m.api('GET', '/api/policies'))
      .json<{ policies: Array<{ ID: number; name: string }> }>()
      .policies.find((p) => p.name === 'Servers')!;
    await m.api('POST', `/api/policies/${policy.ID}`, {
      policySettings: { [DIRECTION]: { value: 'Manager Initiated' } },
    });
    const id = (await m.api('GET', '/api/computers')).json<{ computers: Array<{ ID: number }> }>().computers[0]!.ID;
    // The manager calls the agent with the new configuration: the daemon's wait is woken by the change.
    const sent = await m.api('POST', `/api/computers/${id}/actions/sendpolicy`, {});
    assert.equal(sent.json<{ status: string }>().status, 'completed', JSON.stringify(sent.body));
    const direction = () =>
      (state.appliedConfiguration()?.configuration as { communication?: { direction?: string } } | undefined)
        ?.communication?.direction;
    await waitFor('the agent applied Manager Initiated', () => direction() === 'manager-initiated', 30_000);
    const exited = new Promise<number | null>((resolve) => agent.once('exit', (code) => resolve(code)));
    agent.kill('SIGTERM');
    let code: number | null | undefined;
    void exited.then((c) => {
      code = c;
    });
    await waitFor(`the agent to exit within ${STOP_BOUND_MS} ms of SIGTERM`, () => code !== undefined, STOP_BOUND_MS);
    assert.equal(code, 0, log);
    assert.match(log, /stop notice spooled \(Manager Initiated/);
  });
});
