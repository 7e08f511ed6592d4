import { createHash, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { AGENT_IDENTITY_OU, MANAGER_IDENTITY_OU } from '@palisade/protocol';
import { x509 } from './x509.js';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

/**
 * RSA everywhere: every cipher suite in the spec's table authenticates with RSA, so the
 * manager's certificates (and agents', for the legacy TLS 1.0 handshakes with client
 * certificates) use RSA keys; 3072 bits for the long-lived CA, 2048 for leaves.
 */
const rsa = (modulusLength: number) => ({
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength,
});
const SIGNING = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface PemPair {
  certificate: string;
  privateKey: string;
}

function pemKey(der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function importPrivateKey(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), SIGNING, false, [
    'sign',
  ]) as Promise<CryptoKey>;
}

/** Random positive 128-bit serial, hex (RFC 5280 §4.1.2.2: ≤ 20 octets, unpredictable). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  b[0]! |= 0x10;
  return b.toString('hex');
}

/** Canonical serial form used for lookups: uppercase hex without leading zeros, as Node reports it. */
export function normalizeSerial(hex: string): string {
  return hex.replace(/^0+/, '').toUpperCase();
}

/** `sha256:` + lowercase hex of the DER certificate — the form operators pass to `--ca-fingerprint`. */
export function certificateFingerprint(pem: string): string {
  return `sha256:${createHash('sha256').update(new X509Certificate(pem).raw).digest('hex')}`;
}

export async function createCertificateAuthority(commonName = 'Palisade Manager CA'): Promise<PemPair> {
  const keys = (await webcrypto.subtle.generateKey(rsa(3072), true, ['sign', 'verify'])) as CryptoKeyPair;
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: newSerial(),
    name: `CN=${commonName}`,
    notBefore: new Date(now - DAY),
    notAfter: new Date(now + 20 * 365 * DAY),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certificate: cert.toString('pem'),
    privateKey: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** Issues certificates signed by the manager CA. */
export class CertificateAuthority {
  private constructor(
    readonly certificatePem: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
  ) {}

  static async load(ca: PemPair): Promise<CertificateAuthority> {
    return new CertificateAuthority(
      ca.certificate,
      new x509.X509Certificate(ca.certificate),
      await importPrivateKey(ca.privateKey),
    );
  }

  get fingerprint(): string {
    return certificateFingerprint(this.certificatePem);
  }

  /**
   * A TLS server certificate for the manager naming each of `names` (DNS names or IP addresses),
   * with an RSA-2048 key (default; every suite of the spec's table needs it) or an ECDSA P-256
   * one (served beside it on the agent endpoint for TLS 1.3 clients).
   */
  async issueServerCertificate(names: string[], keyType: 'rsa' | 'ecdsa' = 'rsa'): Promise<PemPair> {
    const keys = (await webcrypto.subtle.generateKey(
      keyType === 'rsa' ? rsa(2048) : { name: 'ECDSA', namedCurve: 'P-256' },
      true,
      ['sign', 'verify'],
    )) as CryptoKeyPair;
    const cert = await this.sign({
      subject: `CN=${names[0] ?? 'palisade-manager'}`,
      publicKey: keys.publicKey,
      days: 825,
      extensions: [
        new x509.SubjectAlternativeNameExtension(
          names.map((n) => (isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n })),
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.KeyUsagesExtension(
          keyType === 'rsa'
            ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
            : x509.KeyUsageFlags.digitalSignature,
          true,
        ),
      ],
    });
    return {
      certificate: cert.certificate,
      privateKey: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    };
  }

  /**
   * The manager's client identity for calling agents' listeners (Manager Initiated,
   * Bidirectional): `OU=Palisade Manager`, client authentication only. Agents accept a client
   * certificate from the pinned CA only with that unit, which this CA never gives an agent
   * (their subjects are chosen here, `OU=Palisade Agents`), so one agent cannot call another.
   */
  async issueManagerClientCertificate(nodeName: string): Promise<PemPair> {
    const keys = (await webcrypto.subtle.generateKey(rsa(2048), true, ['sign', 'verify'])) as CryptoKeyPair;
    const cert = await this.sign({
      subject: `CN=${nodeName.replace(/[,=+<>#;"\\]/g, '_')},OU=${MANAGER_IDENTITY_OU}`,
      publicKey: keys.publicKey,
      days: 825,
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      ],
    });
    return {
      certificate: cert.certificate,
      privateKey: pemKey(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
    };
  }

  /**
   * Checks a PEM CSR's self-signature and issues a client certificate for the agent. The
   * subject is chosen here, not taken from the CSR: the agent proves possession of the key and
   * nothing more. Returns the certificate and its normalized serial.
   */
  async issueAgentCertificate(csrPem: string, hostName: string): Promise<{ certificate: string; serial: string }> {
    let csr: x509.Pkcs10CertificateRequest;
    try {
      csr = new x509.Pkcs10CertificateRequest(csrPem);
    } catch (e) {
      throw new CsrError(`certificate request is not a PEM PKCS#10 CSR (${(e as Error).message})`, { cause: e });
    }
    if (!(await csr.verify())) throw new CsrError('certificate request signature does not verify');
    const alg = csr.publicKey.algorithm as { name: string; modulusLength?: number };
    if (alg.name === 'RSASSA-PKCS1-v1_5' && (alg.modulusLength ?? 0) < 2048) {
      throw new CsrError(`RSA key of ${alg.modulusLength} bits is too small (2048 or more)`);
    }
    if (
      alg.name !== 'RSASSA-PKCS1-v1_5' &&
      !(alg.name === 'ECDSA' && (alg as { namedCurve?: string }).namedCurve === 'P-256')
    ) {
      throw new CsrError(`key algorithm ${alg.name} is not accepted (RSA 2048+ or ECDSA P-256)`);
    }
    const publicKey = await csr.publicKey.export();
    const cert = await this.sign({
      subject: `CN=${hostName.replace(/[,=+<>#;"\\]/g, '_')},OU=${AGENT_IDENTITY_OU}`,
      publicKey,
      days: 5 * 365,
      extensions: [
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
        // An ECDSA key only signs; keyEncipherment is for RSA key transport (RFC 5480 §3).
        new x509.KeyUsagesExtension(
          alg.name === 'ECDSA'
            ? x509.KeyUsageFlags.digitalSignature
            : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment,
          true,
        ),
      ],
    });
    return { certificate: cert.certificate, serial: cert.serial };
  }

  private async sign(o: { subject: string; publicKey: CryptoKey; days: number; extensions: x509.Extension[] }) {
    const serial = newSerial();
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: o.subject,
      issuer: this.cert.subject,
      notBefore: new Date(now - 5 * 60_000),
      notAfter: new Date(now + o.days * DAY),
      signingAlgorithm: SIGNING,
      publicKey: o.publicKey,
      signingKey: this.key,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
        ...o.extensions,
      ],
    });
    return { certificate: cert.toString('pem'), serial: normalizeSerial(serial) };
  }
}

/** A certificate request the CA will not sign; the message says why. */
export class CsrError extends Error {
  override readonly name = 'CsrError';
}
