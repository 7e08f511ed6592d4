import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeyAndCsr, heartbeat, type StateDir } from '@palisade/agent';
import { CertificateAuthority, createCertificateAuthority } from '@palisade/manager';
import { type HeartbeatReply, PROTOCOL_VERSION } from '@palisade/protocol';
import { activateTestAgent, errorOf, httpsJson, startTestManager, type TestManager } from './harness.js';

describe('agent endpoint: bad input and bad certificates get a 4xx with a reason and change nothing', () => {
  let m: TestManager;
  let agent: StateDir;
  let computerId: number;
  let url: (path: string) => string;
  let creds: { cert: string; key: string };

  const snapshot = async () => ({
    computer: await m.manager.store.computers.get(computerId),
    events: await m.manager.store.events.listForComputer(computerId),
  });
  const validReport = () => ({
    protocolVersion: PROTOCOL_VERSION,
    agent: { version: '0.1.0', platform: 'linux', hostName: 'h', uptimeSeconds: 1, clockTime: Date.now() },
    drivers: [],
    events: [{ seq: 1_000_000, time: Date.now(), type: 'x', severity: 'info', message: 'must not be stored' }],
    counters: {},
    configurationFingerprint: null,
  });
  const post = (path: string, body: unknown, o: { cert?: string; key?: string; contentType?: string } = creds) =>
    httpsJson(url(path), m.manager.ca.certificatePem, {
      method: 'POST',
      body,
      ...(o.cert ? { cert: o.cert, key: o.key } : {}),
      ...(o.contentType ? { headers: { 'content-type': o.contentType } } : {}),
    });

  before(async () => {
    m = await startTestManager();
    agent = await activateTestAgent(m);
    computerId = (await heartbeat(agent)).computerId;
    url = (p) => `https://localhost:${m.manager.heartbeatPort}${p}`;
    creds = { cert: agent.credentials().cert, key: agent.credentials().key };
  });
  after(() => m.close());

  const cases: Array<[string, () => unknown, number, string, string?]> = [
    ['malformed JSON', () => '{"protocolVersion": 1, "agent": ', 400, 'INVALID_JSON'],
    ['empty body', () => '', 400, 'INVALID_JSON'],
    [
      'a string where a number belongs',
      () => ({ ...validReport(), agent: { ...validReport().agent, uptimeSeconds: '5' } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a missing member',
      () => {
        const r: Record<string, unknown> = validReport();
        delete r.counters;
        return r;
      },
      400,
      'VALIDATION_FAILED',
    ],
    ['an unknown member', () => ({ ...validReport(), extra: true }), 400, 'VALIDATION_FAILED'],
    [
      'a malformed fingerprint',
      () => ({ ...validReport(), configurationFingerprint: 'md5:0' }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'an event with seq 0',
      () => ({ ...validReport(), events: [{ ...validReport().events[0], seq: 0 }] }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'an event seq of 1e300 (beyond 2^53 - 1)',
      () => ({ ...validReport(), events: [{ ...validReport().events[0], seq: 1e300 }] }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'an event time beyond what a Date holds',
      () => ({ ...validReport(), events: [{ ...validReport().events[0], time: 1e300 }] }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'a counter of 1e300',
      () => ({ ...validReport(), counters: { 'firewall.denied': 1e300 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'an uptime of 1e300',
      () => ({ ...validReport(), agent: { ...validReport().agent, uptimeSeconds: 1e300 } }),
      400,
      'VALIDATION_FAILED',
    ],
    [
      'event data nested 6,000 deep',
      () => {
        // Built as text: the nesting is the point, and a JSON.stringify of it would recurse as deep.
        const deep = `${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}`;
        const event = JSON.stringify({ ...validReport().events[0], data: { x: 0 } }).replace('{"x":0}', deep);
        return JSON.stringify({ ...validReport(), events: [] }).replace('"events":[]', `"events":[${event}]`);
      },
      400,
      'VALIDATION_FAILED',
    ],
    [
      'an unknown protocol version',
      () => ({ ...validReport(), protocolVersion: PROTOCOL_VERSION + 1 }),
      400,
      'PROTOCOL_VERSION_UNSUPPORTED',
    ],
    [
      'a body over the 1 MiB limit',
      () => ({ ...validReport(), pad: 'x'.repeat(1024 * 1024 + 10) }),
      413,
      'BODY_TOO_LARGE',
    ],
    [
      'a non-JSON content type',
      () => 'protocolVersion=1',
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      'application/x-www-form-urlencoded',
    ],
  ];
  for (const [name, body, status, code, contentType] of cases) {
    test(`heartbeat with ${name} → ${status} ${code}`, async () => {
      const before = await snapshot();
      const r = await post('/agent/v1/heartbeat', body(), { ...creds, ...(contentType ? { contentType } : {}) });
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(errorOf(r).code, code);
      assert.ok(errorOf(r).message.length > 10);
      assert.deepEqual(await snapshot(), before);
    });
  }

  /**
   * A heartbeat posted raw: with its length announced, as agents send it (the endpoint's own
   * heartbeat path reads it), or chunked (Fastify reads it).
   */
  const postRaw = (text: string, chunked: boolean) =>
    new Promise<{ status: number; connection: string | undefined; body: unknown }>((resolve, reject) => {
      const payload = Buffer.from(text);
      const req = request(
        url('/agent/v1/heartbeat'),
        {
          method: 'POST',
          ca: m.manager.ca.certificatePem,
          ...creds,
          agent: false,
          headers: {
            'content-type': 'application/json',
            ...(chunked ? {} : { 'content-length': String(payload.length) }),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              connection: res.headers.connection,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
            }),
          );
        },
      );
      req.on('error', reject);
      if (chunked) req.write(payload);
      req.end(chunked ? undefined : payload);
    });

  test('a heartbeat read by the endpoint itself is refused exactly as Fastify refuses it', async () => {
    const more: Array<[string, string]> = [
      ['a __proto__ member', JSON.stringify(validReport()).replace('{', '{"__proto__":{"x":1},')],
      ['constructor.prototype', JSON.stringify(validReport()).replace('{', '{"constructor":{"prototype":{"x":1}},')],
      ['a JSON array', '[]'],
      ['a bare number', '5'],
    ];
    const compared = [
      ...cases
        // Fastify alone answers these: no body, an announced length over the limit, another media type.
        .filter(([, , status, , contentType]) => status !== 413 && contentType === undefined)
        .map(([name, body]): [string, string] => {
          const b = body();
          return [name, typeof b === 'string' ? b : JSON.stringify(b)];
        })
        .filter(([, text]) => text.length > 0),
      ...more,
    ];
    for (const [name, text] of compared) {
      const before = await snapshot();
      const lean = await postRaw(text, false);
      const fastify = await postRaw(text, true);
      assert.ok(lean.status >= 400, `${name}: refused (${JSON.stringify(lean.body)})`);
      assert.deepEqual(lean, fastify, name);
      assert.deepEqual(await snapshot(), before, name);
    }
  });

  test('activation with a broken CSR → 400 CSR_INVALID, no computer created, token use not counted', async () => {
    const count = (await m.manager.store.computers.list()).length;
    const r = await post(
      '/agent/v1/activate',
      {
        protocolVersion: 1,
        token: m.token,
        csr: `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(200)}\n-----END CERTIFICATE REQUEST-----`,
        hostName: 'h',
        platform: 'linux',
        agentVersion: '0.1.0',
      },
      {},
    );
    assert.equal(r.status, 400);
    assert.equal(errorOf(r).code, 'CSR_INVALID');
    assert.equal((await m.manager.store.computers.list()).length, count);
  });

  test('activation with wrong types → 400 VALIDATION_FAILED', async () => {
    const r = await post('/agent/v1/activate', { protocolVersion: '1', token: 5 }, {});
    assert.equal(r.status, 400);
    assert.equal(errorOf(r).code, 'VALIDATION_FAILED');
  });

  test('results for an exchange of another connection → 409, operation left open', async () => {
    // As the agent would send it: with its continuity token (one issued and none presented is a clone).
    const report = { ...validReport(), events: [], configurationFingerprint: null, continuity: agent.continuity() };
    const hb = await post('/agent/v1/heartbeat', report);
    assert.equal(hb.status, 200, JSON.stringify(hb.body));
    const reply = hb.json<HeartbeatReply>();
    if (reply.continuity) agent.saveContinuity(reply.continuity);
    assert.equal(reply.operations.length, 1, 'null fingerprint ⇒ applyConfiguration');
    const op = reply.operations[0]!;
    // httpsJson opens a new connection per request: this is not the heartbeat's connection.
    const r = await post('/agent/v1/results', {
      protocolVersion: 1,
      exchangeId: reply.exchangeId,
      results: [{ id: op.id, status: 'succeeded', fingerprint: op.fingerprint }],
    });
    assert.equal(r.status, 409);
    assert.equal(errorOf(r).code, 'EXCHANGE_NOT_ON_THIS_CONNECTION');
    assert.equal((await m.manager.store.operations.get(op.id))?.status, 'sent');
    await heartbeat(agent); // put the real agent back in sync
  });

  test('no client certificate → 401 CLIENT_CERTIFICATE_REQUIRED', async () => {
    const before = await snapshot();
    const r = await post('/agent/v1/heartbeat', validReport(), {});
    assert.equal(r.status, 401);
    assert.equal(errorOf(r).code, 'CLIENT_CERTIFICATE_REQUIRED');
    assert.deepEqual(await snapshot(), before);
  });

  test('a certificate from another CA → 403 CERTIFICATE_NOT_RECOGNIZED', async () => {
    const evil = await CertificateAuthority.load(await createCertificateAuthority('Not The Manager CA'));
    const { keyPem, csrPem } = await generateKeyAndCsr('intruder');
    const { certificate } = await evil.issueAgentCertificate(csrPem, 'intruder');
    const before = await snapshot();
    const r = await post('/agent/v1/heartbeat', validReport(), { cert: certificate, key: keyPem });
    assert.equal(r.status, 403);
    assert.equal(errorOf(r).code, 'CERTIFICATE_NOT_RECOGNIZED');
    assert.deepEqual(await snapshot(), before);
  });

  test('a certificate from our CA that no computer holds → 403 CERTIFICATE_NOT_RECOGNIZED', async () => {
    const cert = readFileSync(join(m.dataDir, 'tls', 'server.crt'), 'utf8');
    const key = readFileSync(join(m.dataDir, 'tls', 'server.key'), 'utf8');
    const r = await post('/agent/v1/heartbeat', validReport(), { cert, key });
    assert.equal(r.status, 403);
    assert.equal(errorOf(r).code, 'CERTIFICATE_NOT_RECOGNIZED');
  });

  test('after deactivation the certificate is revoked: 403 CERTIFICATE_REVOKED, nothing stored', async () => {
    const other = await activateTestAgent(m);
    const id = (await heartbeat(other)).computerId;
    assert.equal(await m.manager.store.computers.deactivate(id, Date.now()), true);
    const before = await m.manager.store.computers.get(id);
    other.spool().append({ type: 'after.revoke', severity: 'info', message: 'x' });
    await assert.rejects(heartbeat(other), /CERTIFICATE_REVOKED/);
    assert.deepEqual(await m.manager.store.computers.get(id), before);
    assert.equal((await m.manager.store.events.listForComputer(id)).filter((e) => e.type === 'after.revoke').length, 0);
    assert.equal(other.spool().size > 0, true, 'the agent keeps its unsent events');
  });
});
