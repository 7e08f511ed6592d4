import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { tlsContextOptions } from '@palisade/core';
import { CertificateAuthority, createCertificateAuthority } from '../pki/certificate-authority.js';
import {
  type HeldCertificates,
  negotiatedCertificate,
  presentedCertificate,
  type ServedCertificate,
  servedCertificate,
} from './served-certificate.js';

interface Seen {
  protocol: string | null;
  negotiated: 'ECDSA' | 'RSA' | null;
  presented: ServedCertificate;
  served: ServedCertificate;
}

type ClientOptions = { sigalgs?: string; ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' };

/**
 * Which certificate a full handshake used, told from what was negotiated, held against what
 * OpenSSL says it presented (`getCertificate()`), on real handshakes over loopback: the agent
 * endpoint's two pairs (ECDSA P-256 and RSA-2048 of one CA) under the `compatible` policy, and
 * clients of every kind the rule has to get right or leave to OpenSSL.
 */
describe('the certificate a full handshake served', () => {
  let caPem: string;
  const servers: Server[] = [];
  let agentPort: number;
  /** The same pairs with Node's default suites: the endpoint's policies have no ECDSA suite below TLS 1.3. */
  let agentDefaultsPort: number;
  /** The same pairs, the client's order first: the shared list then leads with what it prefers. */
  let agentClientOrderPort: number;
  let rsaOnlyPort: number;
  const seen: Seen[] = [];

  const listen = (options: object, held: HeldCertificates, policy = true, honorCipherOrder = true) =>
    new Promise<number>((resolve) => {
      const server = createServer(
        {
          ...options,
          ...(policy ? tlsContextOptions('compatible') : {}),
          honorCipherOrder,
          ca: caPem,
          requestCert: false,
        },
        (s: TLSSocket) => {
          // Read before anything else asks, so `served` comes from the rule where it applies.
          const served = servedCertificate(s, held);
          seen.push({
            protocol: s.getProtocol(),
            negotiated: negotiatedCertificate(s, held),
            presented: presentedCertificate(s),
            served,
          });
          s.end('ok');
        },
      );
      servers.push(server);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });

  before(async () => {
    const pair = await createCertificateAuthority();
    caPem = pair.certificate;
    const ca = await CertificateAuthority.load(pair);
    const rsa = await ca.issueServerCertificate(['localhost', '127.0.0.1'], 'rsa');
    const ecdsa = await ca.issueServerCertificate(['localhost', '127.0.0.1'], 'ecdsa');
    const chain = (c: string) => `${c.trim()}\n${caPem.trim()}\n`;
    const pairs = { key: [rsa.privateKey, ecdsa.privateKey], cert: [chain(rsa.certificate), chain(ecdsa.certificate)] };
    agentPort = await listen(pairs, 'agent');
    agentDefaultsPort = await listen(pairs, 'agent', false);
    agentClientOrderPort = await listen(pairs, 'agent', true, false);
    rsaOnlyPort = await listen({ key: rsa.privateKey, cert: chain(rsa.certificate) }, 'unknown');
  });
  after(async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  });

  /** One full handshake; resolves with what the server saw on it. */
  const handshake = (port: number, o: ClientOptions) =>
    new Promise<Seen>((resolve, reject) => {
      const before = seen.length;
      const c = connect({ host: '127.0.0.1', port, ca: caPem, servername: 'localhost', ...o });
      c.on('error', reject);
      c.resume();
      c.on('end', () => {
        c.destroy();
        assert.equal(seen.length, before + 1);
        resolve(seen.at(-1)!);
      });
    });

  // [client, what the rule must say (null: it leaves it to OpenSSL), what OpenSSL presents].
  type Case = [string, ClientOptions, 'ECDSA' | 'RSA' | null, 'ECDSA' | 'RSA'];
  const check = (port: () => number, [name, options, rule, presented]: Case) =>
    test(`${name}: ${rule ?? 'left to OpenSSL'}, ${presented} presented`, async () => {
      const s = await handshake(port(), options);
      assert.equal(s.presented, presented);
      assert.equal(s.negotiated, rule);
      assert.equal(s.served, presented);
    });

  describe("in the server's order (the manager honours its own)", () => {
    // ECDSA P-256 leads the shared list for any client that offers it.
    const cases: Case[] = [
      ["Node's defaults (a Palisade agent)", {}, 'ECDSA', 'ECDSA'],
      ['RSA-PSS preferred, P-256 ECDSA offered', { sigalgs: 'RSA-PSS+SHA256:ECDSA+SHA256' }, 'ECDSA', 'ECDSA'],
      ['no P-256 ECDSA', { sigalgs: 'ECDSA+SHA384:RSA-PSS+SHA256' }, null, 'RSA'],
      [
        'RSA-PSS for a PSS key, then for an RSA key',
        { sigalgs: 'rsa_pss_pss_sha256:rsa_pss_rsae_sha256' },
        null,
        'RSA',
      ],
      ['TLS 1.2, ECDHE-RSA', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES256-GCM-SHA384' }, 'RSA', 'RSA'],
      ['TLS 1.2, RSA key exchange', { maxVersion: 'TLSv1.2', ciphers: 'AES128-GCM-SHA256' }, 'RSA', 'RSA'],
    ];
    for (const c of cases) check(() => agentPort, c);
  });

  describe("in the client's order", () => {
    // What OpenSSL passes over before P-256 ECDSA, and what it does not.
    const cases: Case[] = [
      [
        'Ed25519, PKCS #1, SHA-1 and P-384 ECDSA first',
        { sigalgs: 'ed25519:RSA+SHA256:ECDSA+SHA1:ECDSA+SHA384:ECDSA+SHA256:RSA-PSS+SHA256' },
        'ECDSA',
        'ECDSA',
      ],
      ['RSA-PSS first', { sigalgs: 'RSA-PSS+SHA256:ECDSA+SHA256' }, null, 'RSA'],
      [
        'RSA-PSS for a PSS key first',
        { sigalgs: 'rsa_pss_pss_sha256:ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256' },
        null,
        'ECDSA',
      ],
    ];
    for (const c of cases) check(() => agentClientOrderPort, c);
  });

  test("TLS 1.2, ECDHE-ECDSA (a server with OpenSSL's default suites): ECDSA", async () => {
    const s = await handshake(agentDefaultsPort, { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' });
    assert.equal(s.protocol, 'TLSv1.2');
    assert.equal(s.presented, 'ECDSA');
    assert.equal(s.negotiated, 'ECDSA');
    assert.equal(s.served, 'ECDSA');
  });

  test('a TLS 1.3 server not known to hold the pairs is asked', async () => {
    const s = await handshake(rsaOnlyPort, {});
    assert.equal(s.protocol, 'TLSv1.3');
    assert.equal(s.negotiated, null);
    assert.equal(s.served, 'RSA');
    // The suite still settles it at TLS 1.2, whatever the server holds.
    const t = await handshake(rsaOnlyPort, { maxVersion: 'TLSv1.2' });
    assert.equal(t.negotiated, 'RSA');
    assert.equal(t.served, 'RSA');
  });
});
