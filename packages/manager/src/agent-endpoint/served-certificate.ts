import type { TLSSocket } from 'node:tls';

/**
 * Key type of the certificate a TLS server presented on a connection; `none` when it presented
 * none — as on a resumed session, whose handshake sends no certificate.
 */
export type ServedCertificate = 'ECDSA' | 'RSA' | 'other' | 'none';

/**
 * What a server's contexts hold, as far as telling its certificates apart goes. `agent`: the
 * agent endpoint's two pairs (manager.ts, `agentCredentials`) — an ECDSA P-256 and an RSA-2048
 * leaf, both issued by the manager's one CA — in every context (4120's, whatever the policy, and
 * the legacy one). `unknown`: anything else (the API on 4119).
 */
export type HeldCertificates = 'agent' | 'unknown';

const seen = new WeakMap<TLSSocket, ServedCertificate>();

/**
 * Which of its certificates the server presented on this connection (4120 serves an ECDSA P-256
 * and an RSA-2048 one side by side; OpenSSL picks per handshake). Read once per connection —
 * the metrics and the heartbeat both ask — and, where the negotiated parameters already say
 * which ({@link negotiatedCertificate}), without asking OpenSSL for the certificate:
 * `getCertificate()` builds a whole object with names and fingerprints (27–34 µs a call in a
 * quiet process, about 100 µs per full handshake in the manager's profile under heartbeat load;
 * `getX509Certificate().publicKey` costs more still).
 */
export function servedCertificate(socket: TLSSocket, held: HeldCertificates = 'unknown'): ServedCertificate {
  // Resumed: no certificate went out, and asking costs more than on a full handshake (about
  // 130 µs per connection under heartbeat load, measured by profile).
  if (socket.isSessionReused()) return 'none';
  let kind = seen.get(socket);
  if (kind === undefined) {
    kind = negotiatedCertificate(socket, held) ?? presentedCertificate(socket);
    seen.set(socket, kind);
  }
  return kind;
}

/** The key type of the certificate OpenSSL says it presented. */
export function presentedCertificate(socket: TLSSocket): ServedCertificate {
  const cert = socket.getCertificate() as { asn1Curve?: string; modulus?: string } | null;
  return !cert || Object.keys(cert).length === 0 ? 'none' : cert.modulus ? 'RSA' : cert.asn1Curve ? 'ECDSA' : 'other';
}

/** TLS 1.2 and older: suites whose authentication needs an RSA certificate, and an ECDSA one. */
const RSA_AUTHENTICATED = /^TLS_(?:(?:EC)?DHE_)?RSA_WITH_/;
const ECDSA_AUTHENTICATED = /^TLS_ECDHE_ECDSA_WITH_/;
/**
 * TLS 1.3, among the signature algorithms both sides share (Node's names), those OpenSSL passes
 * over for a server holding the agent endpoint's pairs: SHA-1 and SHA-224, PKCS #1 v1.5 RSA and
 * DSA (never for a TLS 1.3 handshake), ECDSA bound to another curve than P-256, and keys it
 * does not hold.
 */
const PASSED_OVER_IN_TLS13 = /^(?:RSA\+|DSA\+|ECDSA\+(?:SHA1|SHA224|SHA384|SHA512)$|Ed25519\+|Ed448\+)/;

/**
 * The certificate the negotiated parameters prove OpenSSL chose, or null when they do not
 * settle it (then OpenSSL is asked, {@link presentedCertificate}).
 *
 * - TLS 1.2 and older: the suite names its authentication — `ECDHE_ECDSA` needs the ECDSA
 *   certificate, `RSA`, `DHE_RSA` and `ECDHE_RSA` the RSA one — whatever the server holds.
 * - TLS 1.3, only for a server known to hold the agent endpoint's pairs: OpenSSL takes the first
 *   signature algorithm of the shared list (`getSharedSigalgs()`, in the order it walks it) that
 *   a certificate it holds can make (`tls_choose_sigalg` → `find_sig_alg`). For these pairs the
 *   first one not in {@link PASSED_OVER_IN_TLS13} decides: `ECDSA+SHA256` is the P-256 key's.
 *   `RSA-PSS+…` does not settle it: Node's name is the same for rsa_pss_rsae_* (the RSA key's)
 *   and rsa_pss_pss_* (a PSS key, not held), nor does anything unfamiliar. The client's
 *   `signature_algorithms_cert` cannot tell the two certificates apart: one CA signed both,
 *   with the same algorithm.
 *
 * served-certificate.test.ts holds it against `getCertificate()` for clients of every kind.
 */
export function negotiatedCertificate(socket: TLSSocket, held: HeldCertificates): 'ECDSA' | 'RSA' | null {
  const protocol = socket.getProtocol();
  if (protocol === 'TLSv1.3') {
    if (held !== 'agent') return null;
    for (const sigalg of socket.getSharedSigalgs()) {
      if (sigalg === 'ECDSA+SHA256') return 'ECDSA';
      if (!PASSED_OVER_IN_TLS13.test(sigalg)) return null;
    }
    return null;
  }
  if (protocol !== 'TLSv1.2' && protocol !== 'TLSv1.1' && protocol !== 'TLSv1') return null;
  const suite = socket.getCipher()?.standardName ?? '';
  return ECDSA_AUTHENTICATED.test(suite) ? 'ECDSA' : RSA_AUTHENTICATED.test(suite) ? 'RSA' : null;
}

/**
 * The certificate to record for the computer on this connection: the one its full handshake
 * used, or null for a resumed session, which presents none (what is stored stays).
 */
export function handshakeCertificate(socket: TLSSocket, held: HeldCertificates): 'ECDSA' | 'RSA' | null {
  if (socket.isSessionReused()) return null;
  const kind = servedCertificate(socket, held);
  return kind === 'ECDSA' || kind === 'RSA' ? kind : null;
}
