import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { StateDir } from '@palisade/agent';
import type { SecurityConfiguration } from '@palisade/core';
import { CertificateAuthority, createCertificateAuthority, type ApiViews as V } from '@palisade/manager';
import type { ErrorBody } from '@palisade/protocol';

import { activateTestAgent, agentRunner, startTestManager, type TestManager } from './harness.js';
import { acceptsTcp, freePort, waitingUpTo } from './polling.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const INTERVAL_S = 2;

const waitFor = waitingUpTo(45_000);

const accepts = acceptsTcp;

/** One TLS request to an agent's listener with the given client identity: status, or the handshake error. */
function callListener(
  port: number,
  identity: { key?: string; cert?: string },
): Promise<{ status?: number | undefined; body?: unknown; error?: string }> {
  return new Promise((resolve) => {
    const payload = Buffer.from(JSON.stringify({ protocolVersion: 1, exchangeId: 'intruder' }));
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/agent-listener/v1/heartbeat-request',
        agent: false,
        // What the listener does with the client is under test, not who it is.
        rejectUnauthorized: false,
        ...identity,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, body: JSON.parse(Buffer.concat(chunks).toString('utf8') || 'null') }),
        );
        res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
      },
    );
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(payload);
  });
}

describe('communication direction: Agent Initiated, Bidirectional, Manager Initiated, Inherited', () => {
  let m: TestManager;
  let baseId: number;
  const runner = agentRunner({ finalHeartbeatTimeoutMs: 2_000 });

  const store = () => m.manager.store;
  const policy = async (name: string, direction: string | null, parentId = baseId) => {
    const p = await store().policies.create({ parentId, name, description: '', now: Date.now() });
    if (direction) await store().policies.setSetting(p.id, DIRECTION, direction);
    return p.id;
  };
  /** A change the agent must apply: flips the policy's firewall state. */
  const changePolicy = async (policyId: number) => {
    const now = (await store().policies.overrides()).get(policyId)?.firewallSettingState;
    await store().policies.setSetting(policyId, 'firewallSettingState', now === 'Off' ? 'On' : 'Off');
  };
  const computer = async (id: number) => (await m.api('GET', `/api/computers/${id}`)).json<V['Computer']>();
  const comm = async (id: number) =>
    (await m.api('GET', `/api/computers/${id}/communication`)).json<V['Communication']>();
  /** Runs an action; `result` is the action's reply (ActionResult). */
  const action = async (id: number, name: 'checkstatus' | 'sendpolicy') => {
    const r = await m.api('POST', `/api/computers/${id}/actions/${name}`, {});
    return { status: r.status, result: r.json<V['ActionResult']>() };
  };
  const start = (state: StateDir, listener: { port?: number } = {}) =>
    runner.start(state, { listener: { bindAddress: '127.0.0.1', port: 0, ...listener } });
  const expectedOf = async (id: number) => (await store().computers.get(id))!.expectedFingerprint;

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: INTERVAL_S });
    baseId = (await store().policies.findByName('Base Policy'))!.id;
  });
  after(async () => {
    await runner.stopAll();
    await m.close();
  });

  test('Agent Initiated (the default): heartbeats, listens on no port; actions are queued for the next heartbeat', async () => {
    const port = await freePort();
    const state = await activateTestAgent(m, { hostName: 'ai-01' });
    const id = state.activation().computerId;
    const agent = start(state, { port });
    await waitFor('the first heartbeat', async () => (await computer(id)).lastAgentCommunication);
    assert.equal(agent.communication.listening(), null);
    assert.equal(await accepts(port), false, 'the listening port it would use is not bound');
    const view = await comm(id);
    assert.deepEqual(
      [view.direction.expected, view.direction.applied, view.mode, view.listener, view.nextDialAt],
      ['Agent/Appliance Initiated', 'Agent/Appliance Initiated', 'none', null, null],
    );

    const check = await action(id, 'checkstatus');
    assert.equal(check.status, 202);
    assert.equal(check.result.status, 'queued');
    assert.equal(check.result.delivery, 'next-heartbeat');
    assert.match(check.result.message, /next heartbeat/);

    const pid = await policy('AI change', null);
    await store().computers.setPolicy(id, pid);
    await changePolicy(pid);
    const send = await action(id, 'sendpolicy');
    assert.equal(send.status, 202, 'no body at all is fine too');
    assert.equal(send.result.status, 'queued');
    const expected = send.result.configurationFingerprint.expected;
    assert.notEqual(expected, state.appliedConfiguration()!.fingerprint, 'not delivered by the action itself');
    assert.deepEqual((await computer(id)).computerStatus.agentStatusMessages, ['Update Pending (Heartbeat)']);
    await waitFor(
      'the next heartbeat to deliver it',
      async () => state.appliedConfiguration()!.fingerprint === expected,
    );
    assert.equal(agent.communication.listening(), null);
  });

  test('Bidirectional: heartbeats and listens; Send Policy and Check Status reach the agent at once', async () => {
    const pid = await policy('Bi', 'Bidirectional');
    const state = await activateTestAgent(m, { policy: 'Bi', hostName: 'bi-01' });
    const id = state.activation().computerId;
    const activated = await comm(id);
    assert.deepEqual(
      [activated.mode, activated.listener?.port],
      ['on-demand', 4118],
      "from activation: the configuration's port until the agent says otherwise",
    );
    const agent = start(state);
    const view = await waitFor('the manager to learn the listener', async () => {
      const v = await comm(id);
      return v.listener && v.listener.port === agent.communication.listening()?.port ? v : null;
    });
    assert.equal(view.mode, 'on-demand');
    assert.equal(view.nextDialAt, null, 'nothing scheduled: it heartbeats itself');

    await changePolicy(pid);
    const sentBefore = state.counters().heartbeatsSent;
    const r = await action(id, 'sendpolicy');
    assert.equal(r.status, 200, JSON.stringify(r.result));
    assert.equal(r.result.status, 'completed', r.result.message);
    assert.equal(r.result.delivery, 'immediate');
    assert.equal(r.result.direction, 'Bidirectional');
    assert.deepEqual(
      r.result.operations?.map((o) => o.status),
      ['succeeded'],
    );
    assert.equal(r.result.configurationFingerprint.applied, r.result.configurationFingerprint.expected);
    assert.equal(
      state.appliedConfiguration()!.fingerprint,
      await expectedOf(id),
      'applied on the agent when the response came',
    );
    assert.equal(r.result.tlsProtocol, 'TLSv1.3');

    const c = await action(id, 'checkstatus');
    assert.equal(c.status, 200);
    assert.equal(c.result.status, 'completed');
    assert.deepEqual(c.result.operations, []);
    assert.ok(
      (c.result.lastAgentCommunication ?? 0) >= (c.result.contactedAt ?? Infinity),
      'the status came in this call',
    );
    await waitFor('it to keep heartbeating by itself', async () => state.counters().heartbeatsSent > sentBefore);
  });

  test("the listener accepts only the manager: plain TCP, no certificate, another CA, another agent and the manager's server certificate are refused, and the agent carries on", async () => {
    const state = await activateTestAgent(m, { policy: 'Bi', hostName: 'bi-02' });
    const other = await activateTestAgent(m, { policy: 'Bi', hostName: 'bi-other' });
    const id = state.activation().computerId;
    const agent = start(state);
    const port = await waitFor('the manager to learn the listener', async () => {
      const p = agent.communication.listening()?.port;
      return p && (await comm(id)).listener?.port === p ? p : null;
    });

    // Plain TCP: an HTTP request in clear text gets no HTTP answer, only a closed connection.
    const plain = await new Promise<string>((resolve) => {
      const s = connect(port, '127.0.0.1', () =>
        s.write('POST /agent-listener/v1/heartbeat-request HTTP/1.1\r\nHost: x\r\n\r\n'),
      );
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString('latin1')));
      s.on('close', () => resolve(got));
      s.on('error', () => {});
    });
    assert.ok(!plain.startsWith('HTTP/'), 'no HTTP reply to plain TCP');

    assert.ok((await callListener(port, {})).error, 'no client certificate: the handshake fails');
    const evil = await CertificateAuthority.load(await createCertificateAuthority('Evil CA'));
    const forged = await evil.issueManagerClientCertificate('evil');
    assert.ok(
      (await callListener(port, { key: forged.privateKey, cert: forged.certificate })).error,
      'OU=Palisade Manager from another CA: the handshake fails',
    );
    const peer = other.credentials();
    const asAgent = await callListener(port, { key: peer.key, cert: peer.cert });
    assert.equal(asAgent.status, 403, 'another agent of this manager');
    assert.equal((asAgent.body as ErrorBody).error.code, 'NOT_THE_MANAGER');
    const server = {
      key: readFileSync(join(m.dataDir, 'tls', 'server.key'), 'utf8'),
      cert: readFileSync(join(m.dataDir, 'tls', 'server.crt'), 'utf8'),
    };
    assert.equal(
      (await callListener(port, server)).status,
      403,
      "the manager's TLS server certificate is not its dialer identity",
    );
    assert.ok(agent.communication.rejected.count >= 4, `refusals counted (${agent.communication.rejected.count})`);

    // Undisturbed: the manager still gets through, the agent still heartbeats, its spool holds no intruder's trace.
    const r = await action(id, 'checkstatus');
    assert.equal(r.result.status, 'completed', r.result.message);
    const sent = state.counters().heartbeatsSent;
    await waitFor('another heartbeat', async () => state.counters().heartbeatsSent > sent);
    assert.deepEqual(agent.communication.listening(), { host: '127.0.0.1', port });
  });

  test('Manager Initiated: the agent never heartbeats; the manager calls it every interval; unreachable is a missed heartbeat', async () => {
    const pid = await policy('MI', 'Manager Initiated');
    const port = await freePort();
    const state = await activateTestAgent(m, {
      policy: 'MI',
      hostName: 'mi-01',
      listener: { port, bindAddress: '127.0.0.1' },
    });
    const id = state.activation().computerId;
    const planned = await comm(id);
    assert.deepEqual(
      [planned.mode, planned.listener?.port],
      ['scheduled', port],
      'the manager knows where to call from activation on',
    );
    assert.ok((planned.nextDialAt ?? 0) > Date.now() - 1_000, 'first call about one interval after activation');
    const agent = start(state, { port });
    await waitFor('the listener', async () => agent.communication.listening());
    assert.equal(agent.communication.heartbeats(), false);
    const first = await waitFor('a scheduled call', async () => (await comm(id)).lastDial.okAt);
    const firstContact = (await computer(id)).lastAgentCommunication ?? 0;
    await waitFor('a second scheduled call', async () => ((await comm(id)).lastDial.okAt ?? 0) > first);
    assert.ok(
      ((await computer(id)).lastAgentCommunication ?? 0) > firstContact,
      'each call is a heartbeat on the manager',
    );
    assert.equal(state.counters().heartbeatsSent, 0, 'the agent opened no connection itself');
    assert.deepEqual((await computer(id)).computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.ok(
      (await store().events.listForComputer(id)).some((e) => e.type === 'listener.opened'),
      'its events travel on the calls',
    );

    // A change waits for the next call; Send Policy delivers it at once.
    await changePolicy(pid);
    const r = await action(id, 'sendpolicy');
    assert.equal(r.status, 200);
    assert.equal(r.result.status, 'completed', r.result.message);
    assert.deepEqual(
      r.result.operations?.map((o) => o.status),
      ['succeeded'],
    );
    assert.equal(state.appliedConfiguration()!.fingerprint, await expectedOf(id));
    await changePolicy(pid);
    const pending = await expectedOf(id);
    await waitFor(
      'the next scheduled call to deliver the next change',
      async () =>
        state.appliedConfiguration()!.fingerprint !== r.result.configurationFingerprint.applied &&
        state.appliedConfiguration()!.fingerprint === (await expectedOf(id)),
    );
    assert.notEqual(pending, await expectedOf(id), 'the expected fingerprint moved on with the change');

    // The agent goes away: calls fail, and nothing extends its offline deadline.
    await agent.stop('unplugged');
    const deadline = (await store().computers.get(id))!.offlineDeadline!;
    const failing = await waitFor('a failed call', async () => {
      const v = await comm(id);
      return v.lastDial.consecutiveFailures > 0 ? v : null;
    });
    assert.match(failing.lastDial.error ?? '', /refused/);
    assert.equal((await store().computers.get(id))!.offlineDeadline, deadline, 'a failed call is a missed heartbeat');
    const check = await action(id, 'checkstatus');
    assert.equal(check.status, 200);
    assert.equal(check.result.status, 'failed');
    assert.equal(check.result.error?.kind, 'unreachable');
    await waitFor(
      'Offline after (2 + 1) missed intervals',
      async () => (await computer(id)).computerStatus.agentStatusMessages[0] === 'Offline',
      (3 * INTERVAL_S + 30) * 1000,
    );
  });

  test('a running agent switches direction through the configuration, without a restart: Agent Initiated → Manager Initiated → Bidirectional → Agent Initiated', async () => {
    const pid = await policy('Switching', null);
    const state = await activateTestAgent(m, { hostName: 'switch-01' });
    const id = state.activation().computerId;
    await store().computers.setPolicy(id, pid);
    const agent = start(state);
    await waitFor('the first heartbeat', async () => (await computer(id)).lastAgentCommunication);
    assert.equal(agent.communication.listening(), null);

    await store().policies.setSetting(pid, DIRECTION, 'Manager Initiated');
    await waitFor('the listener to open with the next heartbeat', async () => agent.communication.listening());
    assert.equal(agent.communication.heartbeats(), false);
    const scheduled = await waitFor('the manager to schedule calls', async () => {
      const v = await comm(id);
      return v.mode === 'scheduled' && v.listener?.port === agent.communication.listening()?.port ? v : null;
    });
    assert.equal(scheduled.direction.applied, 'Manager Initiated');
    const firstCall = await waitFor('a call from the manager', async () => (await comm(id)).lastDial.okAt);
    const sent = state.counters().heartbeatsSent;
    await waitFor('another call', async () => ((await comm(id)).lastDial.okAt ?? 0) > firstCall);
    assert.equal(state.counters().heartbeatsSent, sent, 'no heartbeat between the calls');

    await store().policies.setSetting(pid, DIRECTION, 'Bidirectional');
    await waitFor(
      'the next call to deliver Bidirectional',
      async () =>
        (state.appliedConfiguration()?.configuration as SecurityConfiguration | undefined)?.communication.direction ===
        'bidirectional',
    );
    await waitFor('heartbeats to resume', async () => state.counters().heartbeatsSent > sent);
    assert.ok(agent.communication.listening(), 'still listening');
    assert.equal(
      (
        await waitFor('the manager to stop scheduling', async () =>
          (await comm(id)).mode === 'on-demand' ? comm(id) : null,
        )
      ).nextDialAt,
      null,
    );

    const port = agent.communication.listening()!.port;
    await store().policies.setSetting(pid, DIRECTION, 'Agent/Appliance Initiated');
    const r = await action(id, 'sendpolicy');
    assert.equal(r.result.status, 'completed', r.result.message);
    assert.equal(r.result.direction, 'Agent/Appliance Initiated');
    assert.equal(agent.communication.listening(), null, 'closed when the configuration was applied');
    await waitFor('the port to be released', async () => !(await accepts(port)));
    assert.equal((await comm(id)).mode, 'none');
    assert.equal((await action(id, 'checkstatus')).status, 202, 'nothing to call any more');
  });

  test("Inherited (through the settings API): a computer without an override follows its policy, then the parent policy when the policy's override is removed", async () => {
    const setting = (value: string) => ({ [DIRECTION]: { value } });
    const parent = (
      await m.api('POST', '/api/policies', { name: 'Parent', policySettings: setting('Bidirectional') })
    ).json<V['Policy']>().ID;
    const child = (
      await m.api('POST', '/api/policies', {
        name: 'Child',
        parentID: parent,
        policySettings: setting('Manager Initiated'),
      })
    ).json<V['Policy']>().ID;
    const state = await activateTestAgent(m, { hostName: 'inherit-01' });
    const id = state.activation().computerId;
    assert.equal((await m.api('POST', `/api/computers/${id}`, { policyID: child })).status, 200);
    const own = await m.api('GET', `/api/computers/${id}/settings/${DIRECTION}?overrides=true`);
    assert.equal(own.json<V['SettingValue']>().value, null, 'no override on the computer: Inherited');
    assert.deepEqual((await m.api('GET', `/api/computers/${id}/settings/${DIRECTION}`)).body, {
      value: 'Manager Initiated',
      source: `policy:${child}`,
    });
    const agent = start(state);
    await waitFor(
      "the child policy's Manager Initiated",
      async () => (await comm(id)).direction.applied === 'Manager Initiated',
    );
    assert.equal((await comm(id)).direction.expected, 'Manager Initiated');
    assert.ok(agent.communication.listening());

    const reset = await m.api('DELETE', `/api/policies/${child}/settings/${DIRECTION}`);
    assert.equal(reset.json<V['SettingValue']>().value, 'Bidirectional', 'the child inherits now');
    assert.deepEqual((await m.api('GET', `/api/computers/${id}/settings/${DIRECTION}`)).body, {
      value: 'Bidirectional',
      source: `policy:${parent}`,
    });
    const view = await waitFor("the parent's Bidirectional, delivered by a scheduled call", async () => {
      const v = await comm(id);
      return v.direction.applied === 'Bidirectional' ? v : null;
    });
    assert.equal(view.direction.expected, 'Bidirectional');
    assert.equal(view.mode, 'on-demand');
    const sent = state.counters().heartbeatsSent;
    await waitFor('it to heartbeat, as Bidirectional does', async () => state.counters().heartbeatsSent > sent);
    assert.ok(agent.communication.listening());
  });
});
