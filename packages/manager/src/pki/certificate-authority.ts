import {
  createHash,
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  randomBytes,
  sign,
  verify,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import { isIP } from 'node:net';
import { AGENT_IDENTITY_OU, MANAGER_IDENTITY_OU } from '@palisade/protocol';
import {
  BIT_STRING,
  childrenOf,
  contentOf,
  DerError,
  derTime,
  directoryString,
  INTEGER,
  OBJECT_IDENTIFIER,
  oidContent,
  rawOf,
  readElement,
  SEQUENCE,
  SET,
  tlv,
} from './der.js';
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
/** A leaf's key pair: RSA-2048, or ECDSA P-256. */
const leafKeys = async (keyType: 'rsa' | 'ecdsa') =>
  (await webcrypto.subtle.generateKey(keyType === 'rsa' ? rsa(2048) : { name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
/** Key usage of a leaf: an ECDSA key only signs; keyEncipherment is for RSA key transport (RFC 5480 §3). */
const leafKeyUsage = (keyType: 'rsa' | 'ecdsa') =>
  new x509.KeyUsagesExtension(
    keyType === 'rsa'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature,
    true,
  );
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
  /** The CA's subject as DER: the issuer of every certificate it signs. */
  private readonly issuerName: Buffer;
  /** The agent certificates' extensions as DER (`[3] Extensions`), by key type: the same for every agent. */
  private agentExtensions: Promise<Record<'rsa' | 'ecdsa', Buffer>> | undefined;

  private constructor(
    readonly certificatePem: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
    /** The same key for node:crypto, which signs off the main thread (libuv's pool). */
    private readonly keyObject: KeyObject,
  ) {
    const der = new X509Certificate(certificatePem).raw;
    const tbs = childrenOf(der, readElement(der, 0))[0]!;
    // TBSCertificate: [0] version, serialNumber, signature, issuer, validity, subject, … (RFC 5280 §4.1)
    this.issuerName = Buffer.from(rawOf(der, childrenOf(der, tbs)[5]!));
  }

  static async load(ca: PemPair): Promise<CertificateAuthority> {
    return new CertificateAuthority(
      ca.certificate,
      new x509.X509Certificate(ca.certificate),
      await importPrivateKey(ca.privateKey),
      createPrivateKey(ca.privateKey),
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
    const keys = await leafKeys(keyType);
    const cert = await this.sign({
      subject: `CN=${names[0] ?? 'palisade-manager'}`,
      publicKey: keys.publicKey,
      days: 825,
      extensions: [
        new x509.SubjectAlternativeNameExtension(
          names.map((n) => (isIP(n) ? { type: 'ip', value: n } : { type: 'dns', value: n })),
        ),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        leafKeyUsage(keyType),
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
   * RSA-2048 (default: TLS 1.2 listeners) or ECDSA P-256 (offered first at TLS 1.3, where it
   * signs each full handshake for a fraction of RSA's CPU).
   */
  async issueManagerClientCertificate(nodeName: string, keyType: 'rsa' | 'ecdsa' = 'rsa'): Promise<PemPair> {
    const keys = await leafKeys(keyType);
    const cert = await this.sign({
      subject: `CN=${nodeName.replace(/[,=+<>#;"\\]/g, '_')},OU=${MANAGER_IDENTITY_OU}`,
      publicKey: keys.publicKey,
      days: 825,
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]), leafKeyUsage(keyType)],
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
   *
   * Activation's hot path (docs/capacity.md, "Storms"): the request is read and the certificate
   * written as DER directly (der.ts) — only its serial, validity, subject and key change from
   * one agent to the next — and both the CSR check and the CA's RSA signature run on libuv's
   * thread pool. Through a general ASN.1 library this cost about 14 ms of CPU per activation,
   * most of it on the event loop.
   */
  async issueAgentCertificate(csrPem: string, hostName: string): Promise<{ certificate: string; serial: string }> {
    const csr = readCsr(csrPem);
    let key: KeyObject;
    try {
      key = createPublicKey({ key: csr.publicKeyInfo, format: 'der', type: 'spki' });
    } catch (e) {
      throw new CsrError(`certificate request holds no usable public key (${(e as Error).message})`, { cause: e });
    }
    const details = key.asymmetricKeyDetails ?? {};
    let keyType: 'rsa' | 'ecdsa';
    if (key.asymmetricKeyType === 'rsa') {
      if ((details.modulusLength ?? 0) < 2048)
        throw new CsrError(`RSA key of ${details.modulusLength} bits is too small (2048 or more)`);
      keyType = 'rsa';
    } else if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') {
      keyType = 'ecdsa';
    } else {
      const what = `${key.asymmetricKeyType}${details.namedCurve ? ` ${details.namedCurve}` : ''}`;
      throw new CsrError(`key algorithm ${what} is not accepted (RSA 2048+ or ECDSA P-256)`);
    }
    const scheme = CSR_SIGNATURES[csr.signatureOid];
    if (!scheme || scheme.key !== keyType)
      throw new CsrError(
        `certificate request signature algorithm (OID ${csr.signatureOid}) is not accepted for this key`,
      );
    const verified = await new Promise<boolean>((resolve) =>
      verify(scheme.hash, csr.requestInfo, { key, dsaEncoding: 'der' }, csr.signature, (e, ok) => resolve(!e && ok)),
    );
    if (!verified) throw new CsrError('certificate request signature does not verify');
    this.agentExtensions ??= agentExtensionsFor(this.cert);
    const serial = newSerial();
    const now = Date.now();
    const subject = tlv(
      SEQUENCE,
      tlv(SET, tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, OID_CN), directoryString(hostName.replace(/[,=+<>#;"\\]/g, '_')))),
      tlv(SET, tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, OID_OU), directoryString(AGENT_IDENTITY_OU))),
    );
    const tbs = tlv(
      SEQUENCE,
      VERSION_3,
      tlv(INTEGER, Buffer.from(serial, 'hex')),
      SHA256_WITH_RSA,
      this.issuerName,
      tlv(SEQUENCE, derTime(new Date(now - 5 * 60_000)), derTime(new Date(now + 5 * 365 * DAY))),
      subject,
      csr.publicKeyInfo,
      (await this.agentExtensions)[keyType],
    );
    const signature = await new Promise<Buffer>((resolve, reject) =>
      sign('sha256', tbs, this.keyObject, (e, sig) => (e ? reject(e) : resolve(sig))),
    );
    const der = tlv(SEQUENCE, tbs, SHA256_WITH_RSA, tlv(BIT_STRING, Buffer.from([0]), signature));
    const b64 = der
      .toString('base64')
      .replace(/(.{64})/g, '$1\n')
      .replace(/\n$/, '');
    return {
      certificate: `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----`,
      serial: normalizeSerial(serial),
    };
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

const OID_CN = oidContent('2.5.4.3');
const OID_OU = oidContent('2.5.4.11');
/** `[0] EXPLICIT Version v3`. */
const VERSION_3 = tlv(0xa0, tlv(INTEGER, Buffer.from([2])));
/** AlgorithmIdentifier sha256WithRSAEncryption with its NULL parameters (RFC 4055 §5): how the CA signs. */
const SHA256_WITH_RSA = tlv(SEQUENCE, tlv(OBJECT_IDENTIFIER, oidContent('1.2.840.113549.1.1.11')), Buffer.from([5, 0]));

/** The CSR signature algorithms accepted (RFC 4055, RFC 5758), by OID: the hash and the key they go with. */
const CSR_SIGNATURES: Record<string, { hash: string; key: 'rsa' | 'ecdsa' }> = {
  '1.2.840.113549.1.1.11': { hash: 'sha256', key: 'rsa' },
  '1.2.840.113549.1.1.12': { hash: 'sha384', key: 'rsa' },
  '1.2.840.113549.1.1.13': { hash: 'sha512', key: 'rsa' },
  '1.2.840.10045.4.3.2': { hash: 'sha256', key: 'ecdsa' },
  '1.2.840.10045.4.3.3': { hash: 'sha384', key: 'ecdsa' },
  '1.2.840.10045.4.3.4': { hash: 'sha512', key: 'ecdsa' },
};

/** Dotted form of an OBJECT IDENTIFIER's DER content (X.690 §8.19). */
function dottedOid(content: Buffer): string {
  const arcs: number[] = [];
  let v = 0;
  for (const b of content) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      arcs.push(v);
      v = 0;
    }
  }
  const first = arcs.shift() ?? 0;
  const top = first < 80 ? Math.floor(first / 40) : 2;
  return [top, first - 40 * top, ...arcs].join('.');
}

/**
 * The parts of a PKCS#10 request (RFC 2986 §4) the CA uses: the signed `certificationRequestInfo`
 * as it was encoded, the public key as a SubjectPublicKeyInfo, and the signature with its algorithm.
 */
function readCsr(pem: string): { requestInfo: Buffer; publicKeyInfo: Buffer; signatureOid: string; signature: Buffer } {
  const m =
    /-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----([A-Za-z0-9+/=\s]+)-----END (?:NEW )?CERTIFICATE REQUEST-----/.exec(
      pem,
    );
  if (!m) throw new CsrError('certificate request is not a PEM PKCS#10 CSR (no CERTIFICATE REQUEST block)');
  const der = Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64');
  try {
    const outer = readElement(der, 0);
    if (outer.tag !== SEQUENCE || outer.end !== der.length) throw new DerError('not one SEQUENCE');
    const [info, algorithm, signature] = childrenOf(der, outer);
    if (info?.tag !== SEQUENCE || algorithm?.tag !== SEQUENCE || signature?.tag !== BIT_STRING)
      throw new DerError('not a CertificationRequest');
    // CertificationRequestInfo: version (0), subject, subjectPKInfo, [0] attributes.
    const [version, , spki] = childrenOf(der, info);
    if (version?.tag !== INTEGER || contentOf(der, version).toString('hex') !== '00')
      throw new DerError('not a version 1 request');
    if (spki?.tag !== SEQUENCE) throw new DerError('no subjectPKInfo');
    const oid = childrenOf(der, algorithm)[0];
    if (oid?.tag !== OBJECT_IDENTIFIER) throw new DerError('no signature algorithm');
    const bits = contentOf(der, signature);
    if (bits[0] !== 0) throw new DerError('signature is not a whole number of bytes');
    return {
      requestInfo: rawOf(der, info),
      publicKeyInfo: rawOf(der, spki),
      signatureOid: dottedOid(contentOf(der, oid)),
      signature: bits.subarray(1),
    };
  } catch (e) {
    throw new CsrError(`certificate request is not a PEM PKCS#10 CSR (${(e as Error).message})`, { cause: e });
  }
}

/**
 * The extensions of every agent certificate, encoded once per CA: not a CA, the CA's key
 * identifier, client and server authentication, and the key usage of the agent's key type.
 */
async function agentExtensionsFor(ca: x509.X509Certificate): Promise<Record<'rsa' | 'ecdsa', Buffer>> {
  const common = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    await x509.AuthorityKeyIdentifierExtension.create(ca),
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth]),
  ].map((e) => Buffer.from(e.rawData));
  const of = (keyType: 'rsa' | 'ecdsa') =>
    tlv(0xa3, tlv(SEQUENCE, ...common, Buffer.from(leafKeyUsage(keyType).rawData)));
  return { rsa: of('rsa'), ecdsa: of('ecdsa') };
}
