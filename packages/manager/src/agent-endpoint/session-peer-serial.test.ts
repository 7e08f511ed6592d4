import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import {
  CertificateAuthority,
  createCertificateAuthority,
  normalizeSerial,
  type PemPair,
} from '../pki/certificate-authority.js';
import { INTEGER, SEQUENCE, tlv } from '../pki/der.js';
import { sessionPeerSerial } from './session-peer-serial.js';

interface Seen {
  fromSession: string | null | undefined;
  fromNode: string | null;
  /** `getPeerX509Certificate()`'s, which the endpoint reads on resumed sessions. */
  fromX509: string | null;
  resumed: boolean;
}

/** The serial read from the session against Node's own reading, on real handshakes over loopback. */
describe('the peer certificate serial read from the TLS session', () => {
  let caPem: string;
  let ca: CertificateAuthority;
  let server: Server;
  let port: number;
  const seen: Seen[] = [];
  before(async () => {
    const pair = await createCertificateAuthority();
    caPem = pair.certificate;
    ca = await CertificateAuthority.load(pair);
    const served = await ca.issueServerCertificate(['localhost', '127.0.0.1'], 'ecdsa');
    server = createServer(
      { key: served.privateKey, cert: served.certificate, ca: caPem, requestCert: true, rejectUnauthorized: false },
      (s: TLSSocket) => {
        const session = s.getSession();
        const raw = s.getPeerCertificate()?.serialNumber;
        const x509 = s.getPeerX509Certificate()?.serialNumber;
        seen.push({
          fromSession: session ? sessionPeerSerial(session) : undefined,
          fromNode: raw ? normalizeSerial(raw) : null,
          fromX509: x509 ? normalizeSerial(x509) : null,
          resumed: s.isSessionReused(),
        });
        s.end('ok');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  /** One connection; resolves with the session the server issued on it. */
  const exchange = (o: { client?: PemPair; session?: Buffer; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }) =>
    new Promise<Buffer | undefined>((resolve, reject) => {
      let issued: Buffer | undefined;
      const c = connect({
        host: '127.0.0.1',
        port,
        ca: caPem,
        servername: 'localhost',
        ...(o.client ? { key: o.client.privateKey, cert: o.client.certificate } : {}),
        ...(o.session ? { session: o.session } : {}),
        ...(o.maxVersion ? { maxVersion: o.maxVersion } : {}),
      });
      c.on('session', (s: Buffer) => {
        issued = s;
      });
      c.on('data', () => {});
      c.on('end', () => c.end());
      c.on('close', () => resolve(issued ?? c.getSession()));
      c.on('error', reject);
    });

  for (const keyType of ['ecdsa', 'rsa'] as const)
    for (const maxVersion of ['TLSv1.3', 'TLSv1.2'] as const)
      test(`${keyType} client certificates, ${maxVersion}: the same serial as Node's two ways, after a full handshake and resumed`, async () => {
        for (let i = 0; i < 4; i++) {
          const client = await ca.issueManagerClientCertificate(`node-${keyType}-${i}`, keyType);
          seen.length = 0;
          const session = await exchange({ client, maxVersion });
          assert.ok(session, 'the server issued a session');
          await exchange({ client, session, maxVersion });
          assert.deepEqual(
            seen.map((s) => s.resumed),
            [false, true],
            'the second connection resumed',
          );
          for (const s of seen) {
            assert.equal(typeof s.fromSession, 'string');
            assert.equal(s.fromSession, s.fromNode);
            assert.equal(s.fromX509, s.fromNode);
          }
        }
      });

  test('no client certificate: none in the session either', async () => {
    seen.length = 0;
    await exchange({});
    assert.deepEqual(
      seen.map((s) => [s.fromSession, s.fromNode, s.fromX509]),
      [[null, null, null]],
    );
  });
});

describe('a session that is not as expected is not read', () => {
  const session = (...fields: Buffer[]) => tlv(SEQUENCE, tlv(INTEGER, Buffer.from([1])), ...fields);
  const certificate = (...tbs: Buffer[]) => tlv(0xa3, tlv(SEQUENCE, tlv(SEQUENCE, ...tbs)));

  test('serials are read as Node reports them: a leading zero byte (high bit set) and a version field', () => {
    const serial = tlv(INTEGER, Buffer.from([0x00, 0x8a, 0xbc, 0x01]));
    assert.equal(sessionPeerSerial(session(certificate(tlv(0xa0, tlv(INTEGER, Buffer.from([2]))), serial))), '8ABC01');
    assert.equal(sessionPeerSerial(session(certificate(serial))), normalizeSerial('008abc01'));
  });

  test('anything else: undefined, so that the caller asks Node', () => {
    assert.equal(sessionPeerSerial(Buffer.from([1, 2, 3])), undefined, 'not DER');
    assert.equal(sessionPeerSerial(Buffer.alloc(0)), undefined, 'empty');
    assert.equal(sessionPeerSerial(tlv(INTEGER, Buffer.from([1]))), undefined, 'not a SEQUENCE');
    assert.equal(
      sessionPeerSerial(session(tlv(0xa3, tlv(INTEGER, Buffer.from([1]))))),
      undefined,
      'peer not a certificate',
    );
    assert.equal(sessionPeerSerial(session(certificate(tlv(0x04, Buffer.from([1]))))), undefined, 'no serial');
    assert.equal(sessionPeerSerial(session(tlv(0xa3, Buffer.from([0x30, 0x05, 0x30])))), undefined, 'truncated');
    assert.equal(sessionPeerSerial(session()), null, 'no peer field: no certificate');
  });
});
