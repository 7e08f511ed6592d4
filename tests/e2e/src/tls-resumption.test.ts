import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { connect } from 'node:tls';
import { heartbeat, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { AGENT_PATHS } from '@palisade/protocol';

import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

/** One heartbeat POST on a fresh connection offering `session`; the status and whether it resumed. */
function postOffering(
  port: number,
  creds: { key: string; cert: string; ca: string },
  session: Buffer | undefined,
): Promise<{ status: number; resumed: boolean; code: string | null }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: 'localhost',
        port,
        method: 'POST',
        path: AGENT_PATHS.heartbeat,
        ...creds,
        ...(session ? { session } : {}),
        agent: false,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
          resolve({
            status: res.statusCode ?? 0,
            resumed: (res.socket as import('node:tls').TLSSocket).isSessionReused(),
            code: body?.error?.code ?? null,
          });
        });
      },
    );
    req.on('error', reject);
    req.end('{}');
  });
}

describe('TLS session resumption on the agent endpoint, and its two certificates', () => {
  let m: TestManager;
  let agent: StateDir;

  before(async () => {
    m = await startTestManager();
    agent = await activateTestAgent(m);
  });
  after(async () => {
    await m?.close();
  });

  test('the agent keeps its ticket in the state dir (0600) and resumes at the next heartbeat, ECDSA certificate at TLS 1.3', async () => {
    const first = await heartbeat(agent);
    assert.equal(first.tlsResumed, false, 'nothing to resume yet');
    assert.equal(first.tlsProtocol, 'TLSv1.3');
    assert.equal(first.tlsServerKey, 'ECDSA P-256', 'a TLS 1.3 agent gets the ECDSA certificate');
    assert.equal(statSync(join(agent.dir, 'tls-session')).mode & 0o777, 0o600);
    const second = await heartbeat(agent);
    assert.equal(second.tlsResumed, true);
    assert.equal(second.tlsServerKey, 'ECDSA P-256');
    const c = (await m.api('GET', `/api/computers/${second.computerId}`)).json<V['Computer']>();
    assert.ok((c.lastAgentCommunication ?? 0) >= Date.now() - 60_000, 'the resumed heartbeat was stored');
    assert.equal(c.tlsCertificateType, 'ECDSA', 'the certificate of the full handshake, kept over the resumed one');
  });

  test('an agent held to TLS 1.2 gets the RSA certificate (ECDHE-RSA suites); an RSA-key agent heartbeats too', async () => {
    const o12 = await heartbeat(agent, { tls: { maxVersion: 'TLSv1.2' } });
    assert.equal(o12.tlsProtocol, 'TLSv1.2');
    assert.equal(o12.tlsServerKey, 'RSA 2048');
    const c = (await m.api('GET', `/api/computers/${o12.computerId}`)).json<V['Computer']>();
    assert.equal(c.tlsCertificateType, 'RSA', 'the API shows which certificate the computer used');
    const rsaAgent = await activateTestAgent(m, { hostName: 'rsa-agent', keyType: 'rsa' });
    assert.match(rsaAgent.credentials().key, /BEGIN PRIVATE KEY/);
    const o = await heartbeat(rsaAgent);
    assert.equal(o.tlsProtocol, 'TLSv1.3');
    assert.equal((await heartbeat(rsaAgent)).tlsResumed, true);
  });

  test('resumption never skips identity: a revoked certificate is refused on a resumed session', async () => {
    const victim = await activateTestAgent(m, { hostName: 'victim' });
    const id = (await heartbeat(victim)).computerId;
    const session = victim.tlsSession();
    assert.ok(session);
    const creds = victim.credentials();
    const before = await postOffering(m.manager.heartbeatPort, creds, session);
    assert.equal(before.resumed, true, 'the session resumes');
    assert.equal(before.status, 400, 'authenticated (the empty body is refused)');
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204);
    const afterRevoke = await postOffering(m.manager.heartbeatPort, creds, session);
    assert.equal(afterRevoke.resumed, true, 'the TLS session itself still resumes');
    assert.equal(afterRevoke.status, 403);
    assert.equal(afterRevoke.code, 'CERTIFICATE_REVOKED');
    await assert.rejects(heartbeat(victim), /CERTIFICATE_REVOKED/);
    assert.equal(victim.tlsSession(), undefined, 'a refused agent drops its session');
  });

  test('one port for every admitted version: a TLS 1.0 client is served on 4120 under legacy, refused under modern', async () => {
    const rsaAgent = await activateTestAgent(m, { hostName: 'old-agent', keyType: 'rsa' });
    const creds = rsaAgent.credentials();
    const tls10 = () =>
      new Promise<string>((resolve) => {
        const s = connect({
          host: '127.0.0.1',
          port: m.manager.heartbeatPort,
          servername: 'localhost',
          ...creds,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1',
          ciphers: 'AES256-SHA:@SECLEVEL=0',
        });
        s.once('secureConnect', () => {
          resolve(`${s.getProtocol()} ${s.getCipher().standardName} ${s.authorized ? 'verified' : 'unverified'}`);
          s.destroy();
        });
        s.once('error', (e: NodeJS.ErrnoException) => resolve(`refused: ${e.code ?? e.message}`));
      });
    assert.match(await tls10(), /^refused/, 'modern: refused on 4120');
    assert.equal((await m.api('POST', '/api/tls/policy', { value: 'legacy' })).status, 200);
    try {
      assert.equal(await tls10(), 'TLSv1 TLS_RSA_WITH_AES_256_CBC_SHA verified', 'legacy: served on 4120 itself');
      const o = await heartbeat(agent);
      assert.equal(o.tlsProtocol, 'TLSv1.3', 'modern clients still get the main context under legacy');
    } finally {
      assert.equal((await m.api('POST', '/api/tls/policy', { value: 'modern' })).status, 200);
    }
    assert.match(await tls10(), /^refused/, 'modern again: refused');
  });
  test('a session resumes across a manager restart and on another node of the same database', async () => {
    await heartbeat(agent); // a TLS 1.3 session again (the previous test ended with a TLS 1.2 one)
    const session = agent.tlsSession();
    assert.ok(session);
    const creds = agent.credentials();
    // Another node: its own data dir (its own server certificates), the same database and
    // master key file (the ticket secret is sealed with it).
    const other = await startTestManager({
      db: `sqlite:${join(m.dataDir, 'palisade.db')}`,
      masterKeyFile: join(m.dataDir, 'master.key'),
    });
    try {
      const r = await postOffering(other.manager.heartbeatPort, creds, session);
      assert.equal(r.resumed, true, 'resumed on the other node');
      assert.equal(r.status, 400, 'and authenticated there');
    } finally {
      await other.close();
    }
    // The same node restarted on the same data dir.
    const dataDir = m.dataDir;
    await m.stop();
    const restarted = await startTestManager({ dataDir });
    try {
      const r = await postOffering(restarted.manager.heartbeatPort, creds, session);
      assert.equal(r.resumed, true, 'resumed after the restart');
      assert.equal(r.status, 400);
    } finally {
      await restarted.close();
    }
  });
});
