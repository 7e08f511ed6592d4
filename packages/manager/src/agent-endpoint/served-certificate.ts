import type { TLSSocket } from 'node:tls';

/**
 * Key type of the certificate a TLS server presented on a connection; `none` when it presented
 * none — as on a resumed session, whose handshake sends no certificate.
 */
export type ServedCertificate = 'ECDSA' | 'RSA' | 'other' | 'none';

const seen = new WeakMap<TLSSocket, ServedCertificate>();

/**
 * Which of its certificates the server presented on this connection (4120 serves an ECDSA P-256
 * and an RSA-2048 one side by side; OpenSSL picks per handshake). Read once per connection —
 * the metrics and the heartbeat both ask. `getCertificate()` builds a whole object (about 16 µs
 * measured on Node 20); `getX509Certificate().publicKey` costs ten times that.
 */
export function servedCertificate(socket: TLSSocket): ServedCertificate {
  // Resumed: no certificate went out, and asking costs more than on a full handshake (about
  // 130 µs per connection under heartbeat load, measured by profile).
  if (socket.isSessionReused()) return 'none';
  let kind = seen.get(socket);
  if (kind === undefined) {
    const cert = socket.getCertificate() as { asn1Curve?: string; modulus?: string } | null;
    kind = !cert || Object.keys(cert).length === 0 ? 'none' : cert.modulus ? 'RSA' : cert.asn1Curve ? 'ECDSA' : 'other';
    seen.set(socket, kind);
  }
  return kind;
}

/**
 * The certificate to record for the computer on this connection: the one its full handshake
 * used, or null for a resumed session, which presents none (what is stored stays).
 */
export function handshakeCertificate(socket: TLSSocket): 'ECDSA' | 'RSA' | null {
  if (socket.isSessionReused()) return null;
  const kind = servedCertificate(socket);
  return kind === 'ECDSA' || kind === 'RSA' ? kind : null;
}
