import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { AgentError, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { AGENT_BIN, activateCommand, runCli } from './cli.js';
import { activateTestAgent, agentRunner, errorOf, httpsJson, startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const ALLOW = 'platformSettingAgentInitiatedActivationEnabled';
const SHIFT = 'platformSettingHeartbeatLocalTimeShiftAlertThreshold';

/**
 * The agent's life cycle against a real manager (issue 14, docs/deployment.md): deactivation
 * from the manager reaches the agent (at its next heartbeat, or at once where it listens) and
 * the agent resets itself to Activation Required; `palisade-agent reset` tells the manager; a
 * deactivated computer can be deleted, and its certificate stays refused.
 */
describe('agent life cycle: deactivation both ways, deletion', () => {
  let m: TestManager;
  const runner = agentRunner({ listener: { bindAddress: '127.0.0.1', port: 0 }, finalHeartbeatTimeoutMs: 2_000 });
  const computer = async (id: number) => m.api('GET', `/api/computers/${id}`);
  const statusOf = async (id: number) =>
    (await computer(id)).json<V['Computer']>().computerStatus.agentStatusMessages[0];
  const start = (state: StateDir) => runner.start(state);
  /** Sets who may activate through the API (`/api/systemsettings`, docs/deployment.md). */
  const allow = async (value: string) =>
    assert.equal((await m.api('POST', `/api/systemsettings/${ALLOW}`, { value })).status, 200);
  /** A heartbeat with the certificate `state` held (kept as files), straight to the endpoint. */
  const heartbeatWith = (creds: { key: string; cert: string }) =>
    httpsJson(`https://localhost:${m.manager.heartbeatPort}/agent/v1/heartbeat`, m.manager.ca.certificatePem, {
      method: 'POST',
      body: {},
      ...creds,
    });

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: 1 });
  });
  after(async () => {
    await runner.stopAll();
    await m.close();
  });

  test('deactivated on the manager, an agent-initiated agent learns at its next heartbeat and resets itself', async () => {
    const state = await activateTestAgent(m, { hostName: 'deact-hb' });
    const id = state.activation().computerId;
    const agent = start(state);
    await waitFor('a first heartbeat', () => state.counters().heartbeatsSent > 0);
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204);
    assert.equal(await statusOf(id), 'Deactivated');
    await agent.stopped;
    assert.equal(agent.ended, 'deactivated');
    assert.equal(state.isActivated(), false, 'activation forgotten on the host');
    const s = await runCli(AGENT_BIN, ['status', '--json', '--state-dir', state.dir]);
    assert.deepEqual([JSON.parse(s.stdout).activated, JSON.parse(s.stdout).status], [false, 'Activation Required']);
    const audit = (await m.api('GET', '/api/auditevents')).json<V['AuditList']>().auditEvents;
    assert.ok(audit.some((e) => e.action === 'computer.deactivate' && e.targetID === id && e.actor.type === 'apiKey'));
  });

  test('a listening agent (Bidirectional) is told at once and resets itself, long before its next heartbeat', async () => {
    // A manager with the product's 10-minute interval: only its call can make the agent reset now.
    const slow = await startTestManager({ heartbeatIntervalSeconds: 600 });
    try {
      const base = (await slow.manager.store.policies.findByName('Base Policy'))!.id;
      await slow.manager.store.policies.setSetting(base, DIRECTION, 'Bidirectional');
      const state = await activateTestAgent(slow, { hostName: 'deact-listen' });
      const id = state.activation().computerId;
      const agent = start(state);
      await waitFor('the manager to learn the listener', async () => {
        const port = agent.communication.listening()?.port;
        const v = (await slow.api('GET', `/api/computers/${id}/communication`)).json<V['Communication']>();
        return port !== undefined && v.listener?.port === port;
      });
      assert.equal((await slow.api('DELETE', `/api/computers/${id}`)).status, 204);
      // Its next heartbeat is about ten minutes away: resetting within seconds is the manager's call.
      await waitFor('the agent to reset itself', () => agent.ended === 'deactivated', 15_000);
      assert.equal(state.isActivated(), false);
      assert.equal(agent.communication.listening(), null, 'the listener is closed');
    } finally {
      await slow.close();
    }
  });

  test('palisade-agent reset tells the manager: Deactivated, audited as the agent; then the computer can be deleted', async () => {
    const state = await activateTestAgent(m, { hostName: 'reset-me' });
    const id = state.activation().computerId;
    const creds = state.credentials();
    const r = await runCli(AGENT_BIN, ['reset', '--yes', '--state-dir', state.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`The manager localhost shows computer ${id} as Deactivated\\.`));
    assert.equal(await statusOf(id), 'Deactivated');
    const audit = (await m.api('GET', '/api/auditevents')).json<V['AuditList']>().auditEvents;
    const row = audit.find((e) => e.action === 'computer.deactivate' && e.targetID === id);
    assert.deepEqual([row?.actor.type, row?.actor.ID], ['agent', id]);

    // Deleted once deactivated: gone from the API, and its certificate is refused as revoked.
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204);
    const gone = await computer(id);
    assert.equal(gone.status, 404);
    assert.equal(errorOf(gone).code, 'COMPUTER_NOT_FOUND');
    assert.deepEqual(await m.manager.store.events.listForComputer(id), []);
    const deleted = (await m.api('GET', '/api/auditevents')).json<V['AuditList']>().auditEvents;
    assert.ok(deleted.some((e) => e.action === 'computer.delete' && e.targetID === id && e.oldValue === 'reset-me'));
    const refused = await heartbeatWith(creds);
    assert.equal(refused.status, 403);
    assert.equal(errorOf(refused).code, 'CERTIFICATE_REVOKED');
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 404);
  });

  test('reset with the manager unreachable still resets, and says the manager was not told', async () => {
    const state = await activateTestAgent(m, { hostName: 'offline-reset' });
    const id = state.activation().computerId;
    const a = state.activation();
    // Point the activation at a port nothing listens on: the manager cannot be told.
    writeFileSync(state.path('activation.json'), JSON.stringify({ ...a, manager: { ...a.manager, port: 1 } }));
    const r = await runCli(AGENT_BIN, ['reset', '--yes', '--state-dir', state.dir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stdout,
      /Could not tell the manager \(.*refused the connection.*\); it lists the computer until it is deactivated there\./,
    );
    assert.equal(state.isActivated(), false);
    assert.notEqual(await statusOf(id), 'Deactivated');
  });

  test('the activation settings: Off and For existing computers refuse a new host, and the token keeps its uses', async () => {
    const usesOfToken = async () => (await m.manager.store.activationTokens.list()).reduce((n, t) => n + t.uses, 0);
    const refusal = async (hostName: string) => {
      try {
        await activateTestAgent(m, { hostName });
      } catch (e) {
        return e;
      }
      assert.fail(`${hostName} was activated`);
    };
    try {
      for (const [value, why] of [
        ['Off', /agent-initiated activation is Off/],
        ['For existing computers', /"For existing computers" and this host is not one the manager knows/],
      ] as const) {
        await allow(value);
        const before = await usesOfToken();
        const e = await refusal(`refused-${value.length}`);
        assert.ok(e instanceof AgentError, String(e));
        assert.deepEqual([e.code, e.managerCode], ['ACTIVATION_REFUSED', 'ACTIVATION_NOT_ALLOWED']);
        assert.match(e.message, why);
        assert.equal(await usesOfToken(), before, 'a refused activation uses nothing of the token');
      }
    } finally {
      await allow('For any computers');
    }
    const state = await activateTestAgent(m, { hostName: 'allowed-again' });
    assert.ok(state.isActivated());
  });

  test('a reset host activates again as the same computer: ID, settings kept, its old certificate refused', async () => {
    const state = await activateTestAgent(m, { hostName: 'again' });
    const id = state.activation().computerId;
    const identity = readFileSync(state.path('host-identity'), 'utf8');
    assert.equal((await m.api('POST', `/api/computers/${id}/settings/${SHIFT}`, { value: '15' })).status, 200);
    const old = {
      key: readFileSync(state.path('agent.key'), 'utf8'),
      cert: readFileSync(state.path('agent.crt'), 'utf8'),
    };
    const reset = await runCli(AGENT_BIN, ['reset', '--yes', '--state-dir', state.dir]);
    assert.equal(reset.code, 0, reset.stderr);
    assert.equal(await statusOf(id), 'Deactivated');
    assert.equal(readFileSync(state.path('host-identity'), 'utf8'), identity, 'the reset kept the host identity');
    // "For existing computers" lets a host the manager knows come back.
    await allow('For existing computers');
    try {
      const again = await runCli(AGENT_BIN, activateCommand(m, state.dir, ['--host-name', 'again']));
      assert.equal(again.code, 0, again.stderr);
      assert.match(again.stdout, new RegExp(`^Activated: computer ${id} "again" \\(its record kept`));
    } finally {
      await allow('For any computers');
    }
    assert.equal(state.activation().computerId, id);
    assert.notEqual(await statusOf(id), 'Deactivated');
    const kept = await m.api('GET', `/api/computers/${id}/settings/${SHIFT}`);
    assert.equal(kept.json<{ value: string }>().value, '15', 'its own setting survived');
    const named = (await m.api('GET', '/api/computers')).json<V['ComputerList']>().computers;
    assert.equal(named.filter((c) => c.hostName === 'again').length, 1, 'no second record');
    const refused = await heartbeatWith(old);
    assert.equal(refused.status, 403);
    assert.equal(errorOf(refused).code, 'CERTIFICATE_REVOKED', 'the certificate held before is revoked');
  });
});
