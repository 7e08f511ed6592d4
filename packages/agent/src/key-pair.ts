// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata
// polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * Generates the agent's key pair on this host and a PKCS#10 request for it. RSA 2048: every
 * suite in the spec's cipher table is RSA-authenticated, and older managers' TLS stacks
 * expect RSA client certificates too. Only the CSR leaves the host.
 */
export async function generateKeyAndCsr(hostName: string): Promise<{ keyPem: string; csrPem: string }> {
  const alg = {
    name: 'RSASSA-PKCS1-v1_5',
    hash: 'SHA-256',
    publicExponent: new Uint8Array([1, 0, 1]),
    modulusLength: 2048,
  };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${hostName.replace(/[,=+<>#;"\\]/g, '_')}`,
    keys,
    signingAlgorithm: alg,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return { keyPem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`, csrPem: csr.toString('pem') };
}
