import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { after, before, describe, test } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { CertificateAuthority, createCertificateAuthority, normalizeSerial } from '../pki/certificate-authority.js';
import { AgentListenerConnection, DialError } from './agent-listener-client.js';
import type { DialerIdentity } from './dialer-identity.js';

/**
 * The dialer's TLS to agents' listeners (issue 16): sessions resumed on the next dial to the
 * same listener and certificate serial only, and the ECDSA client certificate offered first.
 * The oracle is a real HTTPS server with an agent certificate of the CA, as an agent's listener,
 * that records what each connection negotiated.
 */
describe('dialer TLS: session resumption per listener and serial, ECDSA client certificate', () => {
  let identity: DialerIdentity;
  let serial: string;
  /** The TLS 1.2 listener's: an RSA certificate, as the TLS 1.2 suites of the policies authenticate with RSA. */
  let rsaSerial: string;
  const servers: Server[] = [];
  /** Per request the server answered: whether its connection resumed, and the client key's type. */
  const seen: Array<{ resumed: boolean; clientKey: string | undefined }> = [];

  const listen = async (options: object): Promise<number> => {
    const s = createServer(options, (req, res) => {
      const socket = req.socket as TLSSocket;
      seen.push({
        resumed: socket.isSessionReused(),
        clientKey: socket.getPeerX509Certificate()?.publicKey.asymmetricKeyType,
      });
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { 'content-type': 'application/json', connection: 'close' });
        res.end('{}');
      });
    });
    s.on('tlsClientError', () => {});
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    return (s.address() as { port: number }).port;
  };
  let tls13: number;
  let tls12: number;

  before(async () => {
    const ca = await CertificateAuthority.load(await createCertificateAuthority());
    const agent = await ca.issueServerCertificate(['127.0.0.1'], 'ecdsa');
    serial = normalizeSerial(new X509Certificate(agent.certificate).serialNumber);
    const rsa = await ca.issueManagerClientCertificate('test-node', 'rsa');
    const ecdsa = await ca.issueManagerClientCertificate('test-node', 'ecdsa');
    identity = {
      key: rsa.privateKey,
      cert: rsa.certificate,
      ca: ca.certificatePem,
      ecdsa: { key: ecdsa.privateKey, cert: ecdsa.certificate },
    };
    const base = {
      key: agent.privateKey,
      cert: agent.certificate,
      ca: ca.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    };
    tls13 = await listen(base);
    const rsaAgent = await ca.issueServerCertificate(['127.0.0.1'], 'rsa');
    rsaSerial = normalizeSerial(new X509Certificate(rsaAgent.certificate).serialNumber);
    tls12 = await listen({ ...base, key: rsaAgent.privateKey, cert: rsaAgent.certificate, maxVersion: 'TLSv1.2' });
  });
  after(async () => {
    for (const s of servers) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  });

  const call = async (port: number, certSerial = serial) => {
    const conn = new AgentListenerConnection({ host: '127.0.0.1', port, certSerial }, identity, 10_000);
    try {
      await conn.request('/agent-listener/v1/heartbeat-request', {});
      return conn.resumed;
    } finally {
      conn.close();
    }
  };

  test('the next dial to the same listener resumes the session the first one got', async () => {
    assert.equal(await call(tls13), false, 'the first dial: a full handshake');
    assert.equal(seen.at(-1)?.resumed, false);
    assert.equal(await call(tls13), true, 'the second: resumed');
    assert.equal(seen.at(-1)?.resumed, true, 'the listener saw it resumed');
  });

  test("a session is never offered for another serial: that dial's full handshake checks the identity and fails", async () => {
    await call(tls13);
    const before = seen.length;
    await assert.rejects(
      call(tls13, 'DEADBEEF'),
      (e: unknown) => e instanceof DialError && e.kind === 'tls' && /DEADBEEF/.test(e.message),
      'the listener is not the computer the dial is for',
    );
    assert.equal(seen.length, before, 'no request reached it');
    assert.equal(await call(tls13), true, "the right serial's session is still there");
  });

  test('TLS 1.3 listeners get the ECDSA client certificate, TLS 1.2 ones the RSA one', async () => {
    await call(tls13);
    assert.equal(seen.at(-1)?.clientKey, 'ec');
    await call(tls12, rsaSerial);
    assert.equal(seen.at(-1)?.clientKey, 'rsa');
  });
});
