import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { heartbeat, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

const FIREWALL = 'firewallSettingState';

/** The firewall state the agent recorded as applied. */
function appliedFirewall(agent: StateDir): string | undefined {
  return (agent.appliedConfiguration()?.configuration as { firewall?: { state?: string } } | undefined)?.firewall
    ?.state;
}

describe('policies over the REST API reach a real agent on its next heartbeat', () => {
  let m: TestManager;
  let agent: StateDir;
  let id: number;
  let web: number;
  let prod: number;

  const computer = async () => {
    const r = await m.api('GET', `/api/computers/${id}`);
    assert.equal(r.status, 200);
    return r.json<V['Computer']>();
  };

  before(async () => {
    m = await startTestManager();
    agent = await activateTestAgent(m, { hostName: 'web-01.example.test' });
    id = (await heartbeat(agent)).computerId;
    web = (await m.api('POST', '/api/policies', { name: 'Web' })).json<V['Policy']>().ID;
    prod = (await m.api('POST', '/api/policies', { name: 'Web Production', parentID: web })).json<V['Policy']>().ID;
  });
  after(() => m.close());

  test('before any change: Managed (Online), fingerprints match, firewall On from the Base Policy', async () => {
    const c = await computer();
    assert.deepEqual(c.computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.equal(c.configurationFingerprint.expected, c.configurationFingerprint.applied);
    assert.equal(appliedFirewall(agent), 'On');
  });

  test('moving the computer onto a three-level chain whose middle policy turns the firewall Off: pending, then applied', async () => {
    assert.equal((await m.api('POST', `/api/policies/${web}/settings/${FIREWALL}`, { value: 'Off' })).status, 200);
    const moved = await m.api('POST', `/api/computers/${id}`, { policyID: prod });
    assert.equal(moved.status, 200);
    assert.deepEqual(moved.json<V['Computer']>().computerSettings[FIREWALL], { value: 'Off', source: `policy:${web}` });

    const pending = await computer();
    assert.deepEqual(pending.computerStatus.agentStatusMessages, ['Update Pending (Heartbeat)']);
    assert.notEqual(pending.configurationFingerprint.expected, pending.configurationFingerprint.applied);
    assert.equal(appliedFirewall(agent), 'On', 'agent-initiated: nothing reaches the agent before it heartbeats');

    const o = await heartbeat(agent);
    assert.deepEqual(
      o.operations.map((x) => [x.type, x.status]),
      [['applyConfiguration', 'succeeded']],
    );
    assert.equal(o.resultsOnSameConnection, true);

    const done = await computer();
    assert.deepEqual(done.computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.equal(done.configurationFingerprint.applied, done.configurationFingerprint.expected);
    assert.equal(
      done.configurationFingerprint.expected,
      pending.configurationFingerprint.expected,
      'the agent applied what the API announced',
    );
    assert.equal(agent.appliedConfiguration()?.fingerprint, done.configurationFingerprint.expected);
    assert.equal(appliedFirewall(agent), 'Off');
  });

  test('a Base Policy change is overridden lower down: nothing to do; an override on the leaf policy is picked up', async () => {
    // Web overrides firewall, so the Base Policy turning it Off... then On changes nothing here.
    assert.equal((await m.api('POST', `/api/policies/1/settings/${FIREWALL}`, { value: 'Off' })).status, 200);
    assert.deepEqual((await computer()).computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.equal((await heartbeat(agent)).operations.length, 0);

    assert.equal((await m.api('POST', `/api/policies/${prod}/settings/${FIREWALL}`, { value: 'On' })).status, 200);
    assert.deepEqual((await computer()).computerStatus.agentStatusMessages, ['Update Pending (Heartbeat)']);
    assert.equal((await heartbeat(agent)).operations.length, 1);
    assert.deepEqual((await computer()).computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.equal(appliedFirewall(agent), 'On');
  });

  test('resetting the leaf override returns the agent to the inherited value on the next heartbeat', async () => {
    const r = await m.api('DELETE', `/api/policies/${prod}/settings/${FIREWALL}`);
    assert.deepEqual(r.body, { value: 'Off', source: `policy:${web}` });
    assert.deepEqual((await computer()).computerStatus.agentStatusMessages, ['Update Pending (Heartbeat)']);
    await heartbeat(agent);
    const c = await computer();
    assert.deepEqual(c.computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.equal(appliedFirewall(agent), 'Off');
  });

  test('a setting the agent does not use changes nothing on the agent', async () => {
    const before = agent.appliedConfiguration()?.fingerprint;
    assert.equal(
      (
        await m.api('POST', `/api/policies/${web}/settings/platformSettingHeartbeatInactiveVmOfflineAlertEnabled`, {
          value: 'true',
        })
      ).status,
      200,
    );
    assert.deepEqual((await computer()).computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.equal((await heartbeat(agent)).operations.length, 0);
    assert.equal(agent.appliedConfiguration()?.fingerprint, before);
  });

  test('the audit log names the first-run API key for each change', async () => {
    const r = await m.api('GET', '/api/auditevents?limit=3');
    assert.equal(r.status, 200);
    const events = r.json<V['AuditList']>().auditEvents;
    assert.equal(events[0]?.setting, 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled');
    for (const e of events) assert.equal(e.actor.name, 'admin (first run)');
  });

  test('DELETE /api/computers/{id} deactivates: the agent is refused with CERTIFICATE_REVOKED', async () => {
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204);
    assert.deepEqual((await computer()).computerStatus.agentStatusMessages, ['Deactivated']);
    await assert.rejects(heartbeat(agent), /CERTIFICATE_REVOKED/);
  });
});
