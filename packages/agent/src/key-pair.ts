// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata
// polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/**
 * The agent key's algorithm. `ecdsa` (P-256, the default for Palisade agents): the manager's
 * agent endpoint serves an ECDSA certificate beside its RSA one (docs/tls.md), and an ECDSA
 * handshake costs the manager a fraction of an RSA-2048 signature, which is most of what a
 * heartbeat costs it. `rsa` (2048): what the spec's cipher-suite table assumes, kept for labs
 * and for simulating the agents of its RSA-only rows.
 */
export type AgentKeyType = 'ecdsa' | 'rsa';

const ALGORITHMS = {
  ecdsa: {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
  },
  rsa: {
    generate: {
      name: 'RSASSA-PKCS1-v1_5',
      hash: 'SHA-256',
      publicExponent: new Uint8Array([1, 0, 1]),
      modulusLength: 2048,
    },
    sign: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  },
} as const;

/**
 * Generates the agent's key pair on this host and a PKCS#10 request for it. Only the CSR
 * leaves the host. Default key type `ecdsa` (see {@link AgentKeyType}).
 */
export async function generateKeyAndCsr(
  hostName: string,
  keyType: AgentKeyType = 'ecdsa',
): Promise<{ keyPem: string; csrPem: string }> {
  const alg = ALGORITHMS[keyType];
  const keys = (await webcrypto.subtle.generateKey(alg.generate, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${hostName.replace(/[,=+<>#;"\\]/g, '_')}`,
    keys,
    signingAlgorithm: alg.sign,
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const b64 = der
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return { keyPem: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`, csrPem: csr.toString('pem') };
}
