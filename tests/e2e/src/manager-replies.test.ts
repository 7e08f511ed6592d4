import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { AgentError, activate, heartbeat, StateDir } from '@palisade/agent';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

/** What the impostor answers next: a status and a body (sent as JSON unless a string). */
type Canned = { status: number; body: unknown };

/**
 * The agent trusts nothing a manager sends before checking it against the protocol's schemas
 * (issue 12, item 15). A stand-in manager (the real CA's certificate for localhost, so TLS
 * succeeds) answers the agent with replies a bug or a compromised manager could send.
 */
describe('the agent validates every manager reply', () => {
  let m: TestManager;
  let server: Server;
  let port = 0;
  let next: Canned = { status: 500, body: {} };
  let state: StateDir;

  before(async () => {
    m = await startTestManager();
    const pair = await m.manager.ca.issueServerCertificate(['localhost']);
    server = createServer({ key: pair.privateKey, cert: pair.certificate }, (req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/agent/v1/ca') {
          res.writeHead(200, { 'content-type': 'application/x-pem-file' });
          res.end(m.manager.ca.certificatePem);
          return;
        }
        const text = typeof next.body === 'string' ? next.body : JSON.stringify(next.body);
        res.writeHead(next.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    // A real activation, then the agent is pointed at the impostor.
    state = await activateTestAgent(m, { hostName: 'trusting' });
    const a = JSON.parse(readFileSync(state.path('activation.json'), 'utf8'));
    a.manager.port = port;
    writeFileSync(state.path('activation.json'), JSON.stringify(a));
    for (let i = 0; i < 3; i++) state.spool().append({ type: 'test.event', severity: 'info', message: `e${i}` });
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
    await m.close();
  });

  const refusal = async (body: unknown, status = 200): Promise<AgentError> => {
    next = { status, body };
    const e = await heartbeat(state).then(
      () => null,
      (x: unknown) => x,
    );
    assert.ok(e instanceof AgentError, `refused, got ${String(e)}`);
    return e;
  };

  const good = {
    protocolVersion: 1,
    computerId: 0,
    serverTime: Date.now(),
    eventsAckedThrough: 0,
    eventsStored: 0,
    operations: [],
    exchangeId: 'x1',
    heartbeatIntervalSeconds: 600,
  };

  test('a heartbeat reply with the three hand-checked fields but nothing else: refused, nothing acknowledged', async () => {
    const pending = state.spool().size;
    const e = await refusal({ eventsAckedThrough: 1e300, operations: [], exchangeId: 'x' });
    assert.equal(e.code, 'MANAGER_REPLY_INVALID');
    assert.match(e.message, /POST \/agent\/v1\/heartbeat: the reply does not match the protocol \(/);
    assert.equal(state.spool().size, pending, 'the spool keeps every event');
    assert.equal(state.heartbeatIntervalSeconds(), 600);
  });

  test('out-of-range and wrongly-typed members, another computer, another protocol version: each refused', async () => {
    const computerId = state.activation().computerId;
    const cases: Array<[string, unknown, RegExp]> = [
      [
        'interval of a billion seconds',
        { ...good, computerId, heartbeatIntervalSeconds: 1e9 },
        /heartbeatIntervalSeconds/,
      ],
      ['acknowledgement past 2^53', { ...good, computerId, eventsAckedThrough: 2 ** 60 }, /eventsAckedThrough/],
      [
        'an operation without fingerprint',
        { ...good, computerId, operations: [{ id: 1, type: 'applyConfiguration', configuration: {} }] },
        /operations/,
      ],
      ['a string for a number', { ...good, computerId, serverTime: 'now' }, /serverTime/],
      ["someone else's reply", { ...good, computerId: computerId + 1 }, /reply is for computer/],
      ['protocol 2', { ...good, computerId, protocolVersion: 2 }, /protocol 2, this agent 1/],
      ['not JSON at all', 'Service Unavailable', /body is not JSON/],
    ];
    const pending = state.spool().size;
    for (const [what, body, why] of cases) {
      const e = await refusal(body);
      assert.equal(e.code, 'MANAGER_REPLY_INVALID', what);
      assert.match(e.message, why, what);
    }
    assert.equal(state.spool().size, pending);
    // And the same reply, well-formed, is taken (the stand-in is otherwise a fine manager).
    next = { status: 200, body: { ...good, computerId, eventsAckedThrough: 0 } };
    const ok = await heartbeat(state);
    assert.equal(ok.exchanges, 1);
  });

  test("an error body that is not the protocol's: the HTTP status, not whatever it held", async () => {
    const e = await refusal({ error: { code: 12, message: ['x'] } }, 500);
    assert.equal(e.code, 'MANAGER_REFUSED');
    assert.match(e.message, /HTTP 500$/);
    assert.equal(e.managerCode, undefined);
  });

  test('activation: a certificate that is not for the key made here is refused, and nothing is written', async () => {
    const fresh = new StateDir(m.tempDir());
    next = {
      status: 200,
      body: {
        protocolVersion: 1,
        computerId: 7,
        policyId: 1,
        policyName: 'Base Policy',
        certificate: m.manager.ca.certificatePem,
        caCertificate: m.manager.ca.certificatePem,
        configuration: {},
        fingerprint: `sha256:${'0'.repeat(64)}`,
        heartbeatIntervalSeconds: 600,
      },
    };
    const e = await activate(fresh, {
      managerUrl: `dsm://localhost:${port}/`,
      token: 'tok',
      caFingerprint: m.manager.caFingerprint,
    }).then(
      () => null,
      (x: unknown) => x,
    );
    assert.ok(e instanceof AgentError);
    assert.equal(e.code, 'MANAGER_REPLY_INVALID');
    assert.match(e.message, /not for the key this agent made/);
    assert.equal(fresh.isActivated(), false);
  });
});
