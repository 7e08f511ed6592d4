import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { activateTestAgent, agentRunner, startTestManager, type TestManager } from './harness.js';
import { waitingUpTo } from './polling.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';

const waitFor = waitingUpTo(45_000);

/**
 * Issue 5: "a policy change reaching the agent: at once in Bidirectional/Manager Initiated, at the
 * next heartbeat in Agent Initiated". The heartbeat interval is the production 10 minutes and the
 * dialer's idle poll two minutes, so within this test neither a heartbeat nor a routine poll can
 * deliver the change: only the dial the change itself asks for can.
 */
describe('a configuration change reaches a listening agent at once, an Agent Initiated one at its next heartbeat', () => {
  let m: TestManager;
  const runner = agentRunner({ listener: { bindAddress: '127.0.0.1', port: 0 }, finalHeartbeatTimeoutMs: 2_000 });
  const computer = async (id: number) => (await m.api('GET', `/api/computers/${id}`)).json<V['Computer']>();
  const comm = async (id: number) =>
    (await m.api('GET', `/api/computers/${id}/communication`)).json<V['Communication']>();
  const status = async (id: number) => (await computer(id)).computerStatus.agentStatusMessages;
  const firewallState = (state: StateDir) =>
    (state.appliedConfiguration()?.configuration as { firewall?: { state?: string } } | undefined)?.firewall?.state;
  const start = (state: StateDir) => runner.start(state);
  const setting = (value: string) => ({ [DIRECTION]: { value } });

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: 600, dialer: { pollIntervalMs: 120_000 } });
  });
  after(async () => {
    await runner.stopAll();
    await m.close();
  });

  test('Bidirectional: applied with no heartbeat and no Send Policy; Agent Initiated: Update Pending (Heartbeat) until its heartbeat', async () => {
    const bi = (
      await m.api('POST', '/api/policies', { name: 'Bi on change', policySettings: setting('Bidirectional') })
    ).json<V['Policy']>().ID;
    const ai = (
      await m.api('POST', '/api/policies', {
        name: 'AI on change',
        policySettings: setting('Agent/Appliance Initiated'),
      })
    ).json<V['Policy']>().ID;
    const biState = await activateTestAgent(m, { policy: 'Bi on change', hostName: 'bi-change' });
    const aiState = await activateTestAgent(m, { policy: 'AI on change', hostName: 'ai-change' });
    const biId = biState.activation().computerId;
    const aiId = aiState.activation().computerId;
    const biAgent = start(biState);
    let aiAgent = start(aiState);
    await waitFor('the manager to learn the Bidirectional listener', async () => {
      const v = await comm(biId);
      return v.mode === 'on-demand' && v.listener?.port === biAgent.communication.listening()?.port;
    });
    for (const id of [biId, aiId])
      await waitFor(`computer ${id} Managed (Online)`, async () => (await status(id))[0] === 'Managed (Online)');
    assert.equal(aiAgent.communication.listening(), null);
    assert.equal(firewallState(biState), 'On');
    assert.equal(firewallState(aiState), 'On');
    const biSent = biState.counters().heartbeatsSent;
    const aiSent = aiState.counters().heartbeatsSent;
    const dialsBefore = (await comm(biId)).lastDial.okAt;

    // Agent Initiated first: by the time the Bidirectional agent has its change, the dialer has
    // had every chance to (wrongly) call this one too.
    const aiChange = await m.api('POST', `/api/policies/${ai}/settings/firewallSettingState`, { value: 'Off' });
    assert.equal(aiChange.status, 200, JSON.stringify(aiChange.body));
    assert.deepEqual(await status(aiId), ['Update Pending (Heartbeat)']);
    const biChange = await m.api('POST', `/api/policies/${bi}/settings/firewallSettingState`, { value: 'Off' });
    assert.equal(biChange.status, 200, JSON.stringify(biChange.body));

    await waitFor('the Bidirectional agent to apply the change', async () => firewallState(biState) === 'Off');
    await waitFor('Managed (Online) in the API', async () => (await status(biId))[0] === 'Managed (Online)');
    assert.equal(biState.counters().heartbeatsSent, biSent, 'no heartbeat from the agent carried it');
    const view = await comm(biId);
    assert.ok(view.lastDial.okAt !== null && view.lastDial.okAt !== dialsBefore, 'the manager dialled it');
    assert.equal(view.nextDialAt, null, 'nothing left due: Bidirectional is dialled on demand only');
    assert.equal((await computer(biId)).tlsProtocol, 'TLSv1.3', 'the dial negotiated TLS 1.3 under the modern policy');

    assert.equal(firewallState(aiState), 'On', 'the Agent Initiated agent was not called');
    assert.equal(aiState.counters().heartbeatsSent, aiSent);
    assert.deepEqual(await status(aiId), ['Update Pending (Heartbeat)']);
    assert.equal((await comm(aiId)).lastDial.at, null, 'never dialled');

    // Its next heartbeat: a restarted agent heartbeats at once.
    await aiAgent.stop('restart');
    aiAgent = start(aiState);
    await waitFor('the next heartbeat to deliver it', async () => firewallState(aiState) === 'Off');
    await waitFor('Managed (Online) after the heartbeat', async () => (await status(aiId))[0] === 'Managed (Online)');
    assert.equal(aiAgent.communication.listening(), null);
  });
});
