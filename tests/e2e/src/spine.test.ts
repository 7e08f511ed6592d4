import assert from 'node:assert/strict';
import { cpSync, rmSync, unlinkSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { heartbeat, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';

import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

describe('activation and agent-initiated heartbeats over mutual TLS', () => {
  let m: TestManager;
  let agent: StateDir;

  before(async () => {
    m = await startTestManager();
    agent = await activateTestAgent(m, { hostName: 'web-01.example.test' });
  });
  after(() => m.close());

  test('activation leaves key, certificate, pinned CA and the first configuration on the host', () => {
    const a = agent.activation();
    assert.equal(a.policyName, 'Base Policy');
    assert.equal(a.caFingerprint, m.manager.caFingerprint);
    const creds = agent.credentials();
    assert.match(creds.key, /BEGIN PRIVATE KEY/);
    assert.match(creds.cert, /BEGIN CERTIFICATE/);
    assert.ok(agent.appliedConfiguration()?.fingerprint.startsWith('sha256:'));
  });

  test('a heartbeat lands over TLS 1.3 and the API lists the computer Managed (Online)', async () => {
    const before = Date.now();
    const o = await heartbeat(agent);
    assert.equal(o.tlsProtocol, 'TLSv1.3');
    assert.equal(o.operations.length, 0, 'configuration from activation is current');
    const r = await m.api('GET', '/api/computers');
    assert.equal(r.status, 200);
    const c = r.json<V['ComputerList']>().computers.find((x) => x.ID === o.computerId);
    assert.ok(c, 'computer listed');
    assert.equal(c.hostName, 'web-01.example.test');
    assert.equal(c.platform, process.platform);
    assert.equal(c.agentVersion, '0.1.0');
    assert.equal(typeof c.policyID, 'number');
    assert.ok(c.lastAgentCommunication !== null && c.lastAgentCommunication >= before);
    assert.ok(c.lastAgentCommunication <= Date.now());
    assert.deepEqual(c.computerStatus.agentStatusMessages, ['Managed (Online)']);
    assert.equal(c.tlsProtocol, 'TLSv1.3');
    assert.match(c.tlsCipherSuite ?? '', /^TLS_AES_|^TLS_CHACHA20/);
    assert.match(c.lastIPUsed ?? '', /^(::ffff:)?127\.0\.0\.1$/, 'the address the heartbeat came from');
  });

  test('forced to TLS 1.2 the agent gets an ECDHE-GCM suite, and the manager records it', async () => {
    const o = await heartbeat(agent, { tls: { maxVersion: 'TLSv1.2' } });
    assert.equal(o.tlsProtocol, 'TLSv1.2');
    assert.match(o.tlsCipher ?? '', /^TLS_ECDHE_RSA_WITH_AES_(128|256)_GCM_SHA(256|384)$/);
    const c = (await m.api('GET', `/api/computers/${o.computerId}`)).json<V['Computer']>();
    assert.equal(c.tlsProtocol, 'TLSv1.2');
    assert.equal(c.tlsCipherSuite, o.tlsCipher);
  });

  test('events are spooled, stored once, acknowledged, then dropped by the agent', async () => {
    const spool = agent.spool();
    const first = spool.append({ type: 'test.event', severity: 'warning', message: 'one' });
    spool.append({ type: 'test.event', severity: 'info', message: 'two', data: { k: 1 } });
    const o = await heartbeat(agent);
    assert.ok(o.eventsSent >= 2);
    assert.equal(o.eventsAcknowledgedThrough, first + 1);
    assert.equal(agent.spool().size, 0);
    const stored = await m.manager.store.events.listForComputer(o.computerId);
    const mine = stored.filter((e) => e.type === 'test.event');
    assert.deepEqual(
      mine.map((e) => [e.seq, e.message, e.severity]),
      [
        [first, 'one', 'warning'],
        [first + 1, 'two', 'info'],
      ],
    );
    assert.deepEqual(mine[1]!.data, { k: 1 });
    assert.ok(
      stored.some((e) => e.type === 'agent.activated'),
      'the activation event went out with the first heartbeat',
    );
  });

  test('an acknowledgement lost in transit does not double events: the re-sent ones are recognised', async () => {
    const spool = agent.spool();
    spool.append({ type: 'resend.event', severity: 'info', message: 'x' });
    // Keep a copy of the spool as it was before the exchange, as if the agent crashed before
    // it could record the manager's acknowledgement.
    const copy = `${agent.path('spool')}.copy`;
    cpSync(agent.path('spool'), copy, { recursive: true });
    const o1 = await heartbeat(agent);
    rmSync(agent.path('spool'), { recursive: true });
    cpSync(copy, agent.path('spool'), { recursive: true });
    rmSync(copy, { recursive: true });
    const o2 = await heartbeat(agent);
    assert.equal(o2.eventsSent, o1.eventsSent);
    assert.equal(o2.eventsAcknowledgedThrough, o1.eventsAcknowledgedThrough);
    const stored = (await m.manager.store.events.listForComputer(o1.computerId)).filter(
      (e) => e.type === 'resend.event',
    );
    assert.equal(stored.length, 1);
  });

  test('a stale configuration is replaced in the same exchange; results go on the same connection', async () => {
    unlinkSync(agent.path('configuration.json'));
    const o = await heartbeat(agent);
    assert.equal(o.operations.length, 1);
    assert.deepEqual(
      { type: o.operations[0]!.type, status: o.operations[0]!.status },
      { type: 'applyConfiguration', status: 'succeeded' },
    );
    assert.equal(o.resultsOnSameConnection, true);
    const c = (await m.api('GET', `/api/computers/${o.computerId}`)).json<V['Computer']>();
    assert.equal(c.configurationFingerprint.applied, agent.appliedConfiguration()!.fingerprint);
    assert.equal(c.configurationFingerprint.applied, c.configurationFingerprint.expected);
    assert.deepEqual(c.computerStatus.agentStatusMessages, ['Managed (Online)']);
    const again = await heartbeat(agent);
    assert.equal(again.operations.length, 0);
  });

  test('the agent records counters and clock offset from the exchange', async () => {
    const o = await heartbeat(agent);
    assert.ok(Math.abs(o.clockOffsetMs) < 5_000);
    const c = (await m.api('GET', `/api/computers/${o.computerId}`)).json<V['Computer']>();
    assert.ok((c.counters.heartbeatsSent ?? 0) >= 1);

    assert.equal(typeof c.agentClockOffsetMs, 'number');
  });
});
