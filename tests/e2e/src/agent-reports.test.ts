import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { uptime } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { heartbeat, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { AGENT_BIN, runCli } from './cli.js';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

/**
 * Issue 12, item 14: what the agent reports about itself is its own — its uptime beside the
 * host's, the fingerprint of the configuration it really applied (never a stored value taken on
 * trust), and `status` shows the computer's policy now, not the one it was activated with.
 */
describe('agent reports: uptimes, the applied fingerprint recomputed, the current policy in status', () => {
  let m: TestManager;
  let state: StateDir;
  let id: number;
  const computer = async () => (await m.api('GET', `/api/computers/${id}`)).json<V['Computer']>();
  const configFile = () => state.path('configuration.json');

  before(async () => {
    m = await startTestManager();
    state = await activateTestAgent(m, { hostName: 'reports-01' });
    id = state.activation().computerId;
  });
  after(() => m.close());

  test("the heartbeat carries the agent's uptime and the host's; the API shows both", async () => {
    await heartbeat(state);
    const c = await computer();
    assert.ok(
      c.hostUptimeSeconds !== null && Math.abs(c.hostUptimeSeconds - uptime()) < 60,
      `host ${c.hostUptimeSeconds}`,
    );
    // No daemon runs: the agent here is this test process.
    assert.ok(
      c.agentUptimeSeconds !== null && c.agentUptimeSeconds >= 0 && c.agentUptimeSeconds <= process.uptime() + 1,
      `agent ${c.agentUptimeSeconds}, process ${process.uptime()}`,
    );
    assert.ok(c.agentUptimeSeconds < c.hostUptimeSeconds, 'the agent started after the host booted');
  });

  test('a stored fingerprint edited on disk is not reported as applied; an edited configuration is replaced', async () => {
    const expected = (await computer()).configurationFingerprint.expected!;
    const stored = JSON.parse(readFileSync(configFile(), 'utf8'));
    assert.equal(stored.fingerprint, expected);

    // The fingerprint alone edited: the agent reports what it applied, which is still current.
    writeFileSync(configFile(), JSON.stringify({ ...stored, fingerprint: `sha256:${'0'.repeat(64)}` }));
    const quiet = await heartbeat(state);
    assert.deepEqual(quiet.operations, [], 'nothing to send: the configuration itself is the expected one');
    assert.equal((await computer()).configurationFingerprint.applied, expected);

    // The configuration edited under its fingerprint (the firewall turned Off by hand): reported
    // as the different configuration it is, so the manager sends its own again, and it is applied.
    const edited = { ...stored.configuration, firewall: { ...stored.configuration.firewall, state: 'Off' } };
    writeFileSync(configFile(), JSON.stringify({ ...stored, configuration: edited }));
    const s = await runCli(AGENT_BIN, ['status', '--state-dir', state.dir]);
    assert.match(s.stdout, new RegExp(`the stored fingerprint ${expected} does not match it`));
    const repaired = await heartbeat(state);
    assert.deepEqual(
      repaired.operations.map((o) => [o.type, o.status]),
      [['applyConfiguration', 'succeeded']],
    );
    assert.equal(JSON.parse(readFileSync(configFile(), 'utf8')).configuration.firewall.state, 'On');
    await heartbeat(state);
    const c = await computer();
    assert.equal(c.configurationFingerprint.applied, c.configurationFingerprint.expected);
  });

  test('status shows the policy the computer has now, not the one it was activated with', async () => {
    const before = await runCli(AGENT_BIN, ['status', '--state-dir', state.dir]);
    assert.match(before.stdout, /policy "Base Policy"/);
    const policy = (await m.api('POST', '/api/policies', { name: 'Web servers' })).json<V['Policy']>().ID;
    const moved = await m.api('POST', `/api/computers/${id}`, { policyID: policy });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    await heartbeat(state);
    const after = await runCli(AGENT_BIN, ['status', '--state-dir', state.dir]);
    assert.match(after.stdout, /^Activated: computer \d+, policy "Web servers"/m);
    const json = await runCli(AGENT_BIN, ['status', '--json', '--state-dir', state.dir]);
    assert.equal(JSON.parse(json.stdout).policyName, 'Web servers');
    // Renamed: the next reply says so.
    await m.api('POST', `/api/policies/${policy}`, { name: 'Web servers (nginx)' });
    await heartbeat(state);
    assert.match(
      (await runCli(AGENT_BIN, ['status', '--state-dir', state.dir])).stdout,
      /policy "Web servers \(nginx\)"/,
    );
  });
});
