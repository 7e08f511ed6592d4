import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateAuthority, PemPair } from '../pki/certificate-authority.js';

/** The certificate and key the dialer presents to agents' listeners, and the CA their certificates must chain to. */
export interface DialerIdentity {
  /** RSA-2048: what TLS 1.2 listeners get. */
  key: string;
  cert: string;
  ca: string;
  /**
   * ECDSA P-256, offered beside the RSA pair: OpenSSL picks the certificate matching the
   * signature algorithms the listener asks for, and TLS 1.3 listeners (Palisade agents) list
   * ECDSA first — a full handshake then costs the manager an ECDSA signature, not an RSA-2048
   * one. Absent: RSA only.
   */
  ecdsa?: { key: string; cert: string };
}

/**
 * The pair in `DATA_DIR/tls/NAME.{crt,key}` if the CA issued it and it is valid for 30 more
 * days, else a new one from `issue`, written there (the key 0600).
 */
async function loadOrIssue(
  dir: string,
  name: string,
  ca: CertificateAuthority,
  issue: () => Promise<PemPair>,
): Promise<{ key: string; cert: string }> {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    const x = new X509Certificate(cert);
    const caCert = new X509Certificate(ca.certificatePem);
    if (
      x.checkIssued(caCert) &&
      x.verify(caCert.publicKey) &&
      new Date(x.validTo).getTime() > Date.now() + 30 * 86_400_000
    ) {
      return { key: readFileSync(keyFile, 'utf8'), cert };
    }
  }
  const issued = await issue();
  writeFileSync(keyFile, issued.privateKey, { mode: 0o600 });
  writeFileSync(certFile, issued.certificate);
  return { key: issued.privateKey, cert: issued.certificate };
}

/**
 * This node's client identity for calling agents (`OU=Palisade Manager`, see
 * `CertificateAuthority.issueManagerClientCertificate`), kept beside the server certificate in
 * `DATA_DIR/tls/` (`dialer.crt`, RSA; `dialer-ecdsa.crt`, ECDSA) and re-issued when the CA is
 * not its issuer (a data dir pointed at another database) or it expires within 30 days.
 */
export async function loadDialerIdentity(
  dataDir: string,
  ca: CertificateAuthority,
  nodeName: string,
): Promise<DialerIdentity> {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const rsa = await loadOrIssue(dir, 'dialer', ca, () => ca.issueManagerClientCertificate(nodeName, 'rsa'));
  const ecdsa = await loadOrIssue(dir, 'dialer-ecdsa', ca, () => ca.issueManagerClientCertificate(nodeName, 'ecdsa'));
  return { ...rsa, ca: ca.certificatePem, ecdsa };
}
