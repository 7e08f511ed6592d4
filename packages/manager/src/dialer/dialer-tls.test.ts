import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import type { TlsPolicyName } from '@palisade/core';
import pino from 'pino';
import { HeartbeatIngest } from '../ingest.js';
import { openInitializedStore } from '../manager.js';
import { type CertificateAuthority, normalizeSerial } from '../pki/certificate-authority.js';
import { ConfigurationService } from '../services/configuration-service.js';
import type { Store } from '../store/store.js';
import { enrolTestComputer } from '../testing/enrol-test-computer.js';
import { recordTestHeartbeat } from '../testing/record-test-heartbeat.js';
import { AgentListenerConnection, DialError } from './agent-listener-client.js';
import { Dialer } from './dialer.js';
import type { DialerIdentity } from './dialer-identity.js';
import { dialerTlsOptions } from './dialer-tls.js';

/**
 * The dialer's outgoing TLS follows the manager TLS policy (issue 7). The oracle is a real
 * handshake with a TLS server holding a certificate of the manager CA, as an agent's listener
 * does: one offering only TLS_RSA_WITH_AES_256_CBC_SHA256 at TLS 1.2 (a Deep Security 10.x-style
 * listener), one with Node's defaults (TLS 1.3, as Palisade's agent listener).
 */
describe('dialer TLS follows the manager TLS policy', () => {
  let dir: string;
  let store: Store;
  let ca: CertificateAuthority;
  let identity: DialerIdentity;
  let serial: string;
  const servers: Server[] = [];
  let rsaOnlyPort: number;
  let defaultPort: number;
  /** What the RSA-only listener saw: the protocol and suite of each completed handshake. */
  const seen: Array<{ protocol: string | null; cipher: string }> = [];

  const listen = async (options: object): Promise<number> => {
    const s = createServer(options, (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'TEST', message: 'not an agent' } }));
      });
    });
    s.on('secureConnection', (socket: TLSSocket) =>
      seen.push({ protocol: socket.getProtocol(), cipher: socket.getCipher().standardName }),
    );
    s.on('tlsClientError', () => {});
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as { port: number }).port;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-dialer-tls-'));
    ({ store, ca } = await openInitializedStore(dir));
    const agentCert = await ca.issueServerCertificate(['127.0.0.1']);
    serial = normalizeSerial(new X509Certificate(agentCert.certificate).serialNumber);
    const client = await ca.issueManagerClientCertificate('test-node');
    identity = { key: client.privateKey, cert: client.certificate, ca: ca.certificatePem };
    const base = {
      key: agentCert.privateKey,
      cert: agentCert.certificate,
      ca: ca.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    };
    rsaOnlyPort = await listen({ ...base, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', ciphers: 'AES256-SHA256' });
    defaultPort = await listen(base);
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const call = async (port: number, policy: TlsPolicyName) => {
    const conn = new AgentListenerConnection(
      { host: '127.0.0.1', port, certSerial: serial },
      identity,
      10_000,
      dialerTlsOptions(policy),
    );
    try {
      return await conn.request('/agent-listener/v1/heartbeat-request', {});
    } finally {
      conn.close();
    }
  };

  test('the options: modern offers TLS 1.2 ECDHE and TLS 1.3 only; legacy dials as compatible (no security level 0, no TLS 1.0)', () => {
    const modern = dialerTlsOptions('modern');
    assert.equal(modern.minVersion, 'TLSv1.2');
    assert.equal(modern.maxVersion, 'TLSv1.3');
    assert.ok(
      modern.ciphers
        .split(':')
        .filter((c) => !c.startsWith('TLS_'))
        .every((c) => c.startsWith('ECDHE-')),
      modern.ciphers,
    );
    assert.deepEqual(dialerTlsOptions('legacy'), dialerTlsOptions('compatible'));
    assert.doesNotMatch(dialerTlsOptions('legacy').ciphers, /SECLEVEL/);
  });

  test('modern: a TLS 1.3 listener negotiates TLS 1.3', async () => {
    await assert.rejects(
      call(defaultPort, 'modern'),
      (e: unknown) => e instanceof DialError && e.kind === 'refused',
      'past TLS: the test listener answers 404',
    );
    assert.equal(seen.at(-1)?.protocol, 'TLSv1.3');
  });

  test('modern refuses a listener offering only TLS_RSA_WITH_AES_256_CBC_SHA256 at TLS 1.2; compatible and legacy reach it with that suite', async () => {
    const before = seen.length;
    await assert.rejects(
      call(rsaOnlyPort, 'modern'),
      (e: unknown) => e instanceof DialError && e.kind === 'tls',
      'no shared suite: a TLS failure',
    );
    assert.equal(seen.length, before, 'no handshake completed');
    for (const policy of ['compatible', 'legacy'] as const) {
      await assert.rejects(
        call(rsaOnlyPort, policy),
        (e: unknown) => e instanceof DialError && e.kind === 'refused',
        `${policy}: past TLS, the test listener answers 404`,
      );
      assert.deepEqual(seen.at(-1), { protocol: 'TLSv1.2', cipher: 'TLS_RSA_WITH_AES_256_CBC_SHA256' });
    }
  });

  test('the dialer reads the policy in force at each dial', async () => {
    const targets = store.dialTargets;
    const { id } = await enrolTestComputer(store, { hostName: 'rsa-only', certSerial: serial });
    await recordTestHeartbeat(store, id, { agentVersion: '10.0.0-1', lastIp: '127.0.0.1' });
    await targets.noteContact({
      computerId: id,
      expectedDirection: 'bidirectional',
      defaultPort: 4118,
      communication: { direction: 'bidirectional', listener: { port: rsaOnlyPort } },
      now: 0,
      nextScheduledAt: 1,
    });
    const logger = pino({ level: 'silent' });
    const configurations = new ConfigurationService(600);
    const ingest = new HeartbeatIngest({
      store,
      configurations,
      heartbeatIntervalSeconds: 600,
      logger,
    });
    let policy: TlsPolicyName = 'modern';
    const dialer = new Dialer({
      store,
      ingest,
      identity,
      heartbeatIntervalSeconds: 600,
      logger,
      tlsPolicy: () => policy,
      options: { requestTimeoutMs: 10_000 },
    });
    try {
      const refused = await dialer.dialNow(id, 'test');
      assert.equal(refused.failure, 'tls', refused.error);
      policy = 'compatible';
      const through = await dialer.dialNow(id, 'test');
      assert.equal(through.failure, 'refused', `past TLS under compatible: ${through.error}`);
      assert.equal(seen.at(-1)?.cipher, 'TLS_RSA_WITH_AES_256_CBC_SHA256');
    } finally {
      await dialer.close();
    }
  });
});
