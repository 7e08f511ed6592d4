import type { SecureVersion } from 'node:tls';
import { DEFAULT_TLS_POLICY, type TlsPolicyName, tlsContextOptions } from '@palisade/core';

/**
 * The dialer's outgoing TLS follows the manager TLS policy in force (issue 7, docs/tls.md
 * "The dialer"): the policy that governs the agent endpoint (4120) governs what the manager
 * offers when it calls agents' listeners (4118).
 *
 * - `modern`: TLS 1.3, and TLS 1.2 with the ECDHE suites only. A listener that offers only RSA
 *   key exchange (`TLS_RSA_*`, no forward secrecy) or only TLS 1.0/1.1 is refused: the dial fails
 *   as `tls`, which counts as a missed heartbeat.
 * - `compatible`: adds the TLS 1.2 `TLS_RSA_*` suites (Deep Security 10.x, 11.0 ≤ U4).
 * - `legacy`: the dialer stays at `compatible`. Dialling a TLS 1.0-only listener would need
 *   OpenSSL security level 0 on the dialer's client context, which lowers every check of every
 *   handshake that context makes (SHA-1 signatures, small keys) — for all agents it calls, TLS 1.3
 *   ones included — in exchange for reaching Deep Security 9.5/9.6 listeners, which Palisade
 *   does not ship (its agents' listener is TLS 1.2+ and negotiates TLS 1.3 with every policy).
 *   `legacy` widens only what the manager accepts on its separate legacy port (4122).
 *
 * Each dial reads the policy anew, so a change through the API (or another node, re-read by
 * AgentEndpointTls) applies to the next dial without a restart; a dial in progress keeps what it
 * negotiated.
 */
export function dialerTlsPolicy(name: TlsPolicyName): Exclude<TlsPolicyName, 'legacy'> {
  return name === 'legacy' ? 'compatible' : name;
}

/** Node client TLS options for the dialer under a policy (spread into its `https.Agent`). */
export interface DialerTlsOptions {
  minVersion: SecureVersion;
  maxVersion: SecureVersion;
  /** TLS 1.3 suites and TLS 1.2 suites in one string, as core's `tlsContextOptions`. */
  ciphers: string;
}

export function dialerTlsOptions(name: TlsPolicyName = DEFAULT_TLS_POLICY): DialerTlsOptions {
  const o = tlsContextOptions(dialerTlsPolicy(name));
  return { minVersion: o.minVersion as SecureVersion, maxVersion: o.maxVersion as SecureVersion, ciphers: o.ciphers };
}
