import assert from 'node:assert/strict';
import { createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { before, describe, test } from 'node:test';
import { CertificateAuthority, CsrError, createCertificateAuthority } from './certificate-authority.js';
import { x509 } from './x509.js';

type Pair = webcrypto.CryptoKeyPair;

/** A PKCS#10 request made the way an agent makes one (packages/agent/src/key-pair.ts), by the general library. */
async function csrFor(generate: object, signing: object, name = 'CN=agent-host'): Promise<string> {
  const keys = (await webcrypto.subtle.generateKey(generate as never, true, ['sign', 'verify'])) as Pair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: signing as never });
  return csr.toString('pem');
}
const ECDSA = [
  { name: 'ECDSA', namedCurve: 'P-256' },
  { name: 'ECDSA', hash: 'SHA-256' },
] as const;
const rsa = (bits: number) =>
  [
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: bits },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ] as const;

/**
 * Agent certificates are written as DER directly (der.ts) on the activation path. The oracle:
 * Node's X509Certificate and the general ASN.1 library read them back, chained to the CA.
 */
describe('the CA issues agent certificates from their PKCS#10 requests', () => {
  let caPem: string;
  let ca: CertificateAuthority;
  before(async () => {
    const pair = await createCertificateAuthority();
    caPem = pair.certificate;
    ca = await CertificateAuthority.load(pair);
  });

  for (const [type, [generate, signing], keyUsage] of [
    ['ecdsa', ECDSA, x509.KeyUsageFlags.digitalSignature],
    ['rsa', rsa(2048), x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment],
  ] as const) {
    test(`${type}: chained to the CA, the subject chosen by the CA, the CSR's key, 5 years, client and server auth`, async () => {
      const csrPem = await csrFor(generate, signing, 'CN=whatever-the-agent-asks');
      const issued = await ca.issueAgentCertificate(csrPem, 'web-01,evil=x');
      const cert = new X509Certificate(issued.certificate);
      const caCert = new X509Certificate(caPem);
      assert.ok(cert.checkIssued(caCert) && cert.verify(caCert.publicKey), 'signed by the CA');
      assert.equal(cert.subject, 'CN=web-01_evil_x\nOU=Palisade Agents');
      assert.equal(cert.issuer, caCert.subject);
      assert.equal(issued.serial, cert.serialNumber.replace(/^0+/, ''));
      const csr = new x509.Pkcs10CertificateRequest(csrPem);
      assert.deepEqual(
        cert.publicKey.export({ format: 'der', type: 'spki' }),
        createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' }).export({
          format: 'der',
          type: 'spki',
        }),
        "the CSR's public key",
      );
      const years = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / (365 * 86_400_000);
      assert.ok(years > 4.99 && years < 5.01, `valid ${years} years`);
      assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.1']);
      const parsed = new x509.X509Certificate(issued.certificate);
      assert.equal(parsed.getExtension(x509.KeyUsagesExtension)?.usages, keyUsage);
      assert.equal(parsed.getExtension(x509.BasicConstraintsExtension)?.ca, false);
      const aki = parsed.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
      const ski = new x509.X509Certificate(caPem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
      assert.ok(aki && aki === ski, "the CA's key identifier");
    });
  }

  test('a request whose signed part was altered is refused: the signature does not verify', async () => {
    const pem = await csrFor(...ECDSA, 'CN=agent-host');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const at = der.indexOf(Buffer.from('agent-host'));
    der[at] = 'A'.charCodeAt(0);
    const altered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----`;
    await assert.rejects(
      ca.issueAgentCertificate(altered, 'h'),
      (e: unknown) => e instanceof CsrError && /does not verify/.test(e.message),
    );
  });

  test('keys other than RSA 2048+ and ECDSA P-256 are refused, saying why', async () => {
    await assert.rejects(
      ca.issueAgentCertificate(await csrFor(...rsa(1024)), 'h'),
      (e: unknown) => e instanceof CsrError && /1024 bits is too small/.test(e.message),
    );
    await assert.rejects(
      ca.issueAgentCertificate(
        await csrFor({ name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' }),
        'h',
      ),
      (e: unknown) => e instanceof CsrError && /secp384r1 is not accepted/.test(e.message),
    );
  });

  test('what is not a PEM PKCS#10 request is refused as such', async () => {
    for (const bad of [
      'not a request',
      `-----BEGIN CERTIFICATE REQUEST-----\n${'A'.repeat(200)}\n-----END CERTIFICATE REQUEST-----`,
      caPem.replace(/CERTIFICATE/g, 'CERTIFICATE REQUEST'),
    ])
      await assert.rejects(
        ca.issueAgentCertificate(bad, 'h'),
        (e: unknown) => e instanceof CsrError && /not a PEM PKCS#10 CSR/.test(e.message),
        bad.slice(0, 40),
      );
  });
});
