import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CertificateAuthority } from '../pki/certificate-authority.js';

/** The certificate and key the dialer presents to agents' listeners, and the CA their certificates must chain to. */
export interface DialerIdentity {
  key: string;
  cert: string;
  ca: string;
}

/**
 * This node's client identity for calling agents (`OU=Palisade Manager`, see
 * `CertificateAuthority.issueManagerClientCertificate`), kept beside the server certificate in
 * `DATA_DIR/tls/` and re-issued when the CA is not its issuer (a data dir pointed at another
 * database) or it expires within 30 days.
 */
export async function loadDialerIdentity(
  dataDir: string,
  ca: CertificateAuthority,
  nodeName: string,
): Promise<DialerIdentity> {
  const dir = join(dataDir, 'tls');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const certFile = join(dir, 'dialer.crt');
  const keyFile = join(dir, 'dialer.key');
  if (existsSync(certFile) && existsSync(keyFile)) {
    const cert = readFileSync(certFile, 'utf8');
    const x = new X509Certificate(cert);
    const caCert = new X509Certificate(ca.certificatePem);
    if (
      x.checkIssued(caCert) &&
      x.verify(caCert.publicKey) &&
      new Date(x.validTo).getTime() > Date.now() + 30 * 86_400_000
    ) {
      return { key: readFileSync(keyFile, 'utf8'), cert, ca: ca.certificatePem };
    }
  }
  const issued = await ca.issueManagerClientCertificate(nodeName);
  writeFileSync(keyFile, issued.privateKey, { mode: 0o600 });
  writeFileSync(certFile, issued.certificate);
  return { key: issued.privateKey, cert: issued.certificate, ca: ca.certificatePem };
}
