/**
 * The manager's TLS policies for the agent endpoint (4120) and its dialer, as data.
 *
 * docs/architecture.md "TLS": `modern` is the default (TLS 1.2+ with ECDHE and TLS 1.3); `compatible` and
 * `legacy` widen it for older Deep Security agents (reference/agent-communication.txt, lines
 * 59–124). Each wider policy is the narrower one plus suites appended at the end, so a client
 * that the narrower policy accepts negotiates exactly the same suite under the wider one
 * (the server picks in its own order, see {@link TlsContextOptions.honorCipherOrder}).
 *
 * Suite lists are explicit rather than built from OpenSSL keywords: Node's default list ends in
 * `HIGH`, which includes the non-forward-secret `TLS_RSA_*` suites at TLS 1.2 (measured: a
 * server with `tls.DEFAULT_CIPHERS` accepts a client offering only AES256-SHA256; adding
 * `:!kRSA` makes it fail with `ERR_SSL_NO_SHARED_CIPHER`). An explicit list also fixes the
 * server's preference order and keeps what we offer equal to what the preflight assumes.
 */
import { CIPHER_SUITES, type IanaCipherSuite, TLS13_SUITES, type TlsProtocol } from './cipher-suites.js';

export const TLS_POLICY_NAMES = ['modern', 'compatible', 'legacy'] as const;
export type TlsPolicyName = (typeof TLS_POLICY_NAMES)[number];

/**
 * `modern`: only forward-secret suites, TLS 1.2 minimum — it cuts off 9.x and 10.0 agents
 * (run the preflight before choosing it on an upgraded manager), and nothing older is needed
 * by 11.0 or later agents or by our own.
 */
export const DEFAULT_TLS_POLICY: TlsPolicyName = 'modern';

export function isTlsPolicyName(name: string): name is TlsPolicyName {
  return (TLS_POLICY_NAMES as readonly string[]).includes(name);
}

/** One manager TLS policy. All lists are in the server's preference order. */
export interface TlsPolicy {
  readonly name: TlsPolicyName;
  /** One line for the console and `palisade-manager tls check`. */
  readonly summary: string;
  /** Lowest protocol accepted. `TLSv1.2` unless the policy is `legacy`. */
  readonly minVersion: TlsProtocol;
  /** Highest protocol offered; always `TLSv1.3` — each side offers its best (docs/architecture.md "TLS"). */
  readonly maxVersion: TlsProtocol;
  /** TLS 1.3 suites (always {@link TLS13_SUITES}: TLS 1.3 has no weak suites to drop). */
  readonly tls13Suites: readonly IanaCipherSuite[];
  /** TLS 1.0–1.2 suites. Never contains a suite Node cannot negotiate (3DES). */
  readonly tls12Suites: readonly IanaCipherSuite[];
  /**
   * OpenSSL cipher list for TLS ≤ 1.2 (what `SSL_CTX_set_cipher_list` and `openssl s_server
   * -cipher` take), ending in `@SECLEVEL=0` when {@link needsSecurityLevel0}.
   */
  readonly ciphers: string;
  /** OpenSSL TLS 1.3 list (`SSL_CTX_set_ciphersuites`, `openssl s_server -ciphersuites`). */
  readonly ciphersuites: string;
  /**
   * True for `legacy`: TLS 1.0/1.1 handshakes sign with SHA-1 / MD5-SHA1, which OpenSSL 3.0
   * refuses above security level 0 (measured: `ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM` on the
   * server; with client certificates the client must lower it as well or the server gets
   * `ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE`). The level applies to the whole SSL_CTX, every
   * protocol version included — so serve `legacy` from its own context/listener and keep the
   * modern context at the default level.
   */
  readonly needsSecurityLevel0: boolean;
  /** Every suite offered, IANA names: TLS 1.3 first, then {@link tls12Suites}. */
  readonly offeredSuites: readonly IanaCipherSuite[];
  /** What to log (as a warning) when the manager starts with this policy; null for `modern`. */
  readonly warning: string | null;
}

// ECDHE-RSA only: every suite in the spec authenticates with RSA, so the agent endpoint serves an
// RSA certificate. AEAD before CBC; within a kind AES-256 before AES-128 (the spec's order).
const MODERN_TLS12 = [
  'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
  'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
] as const satisfies readonly IanaCipherSuite[];

// + the TLS 1.2 RSA key-exchange suites of 9.5 SP1 P3 U3+, 9.6 SP1 P1 U5+, 10.0 and 11.0 ≤ U4
// (lines 75–77, 91–93, 100–104, 111–112). GCM first, so 9.5/9.6 agents that have it get AEAD.
const COMPATIBLE_TLS12 = [
  ...MODERN_TLS12,
  'TLS_RSA_WITH_AES_128_GCM_SHA256',
  'TLS_RSA_WITH_AES_256_CBC_SHA256',
  'TLS_RSA_WITH_AES_128_CBC_SHA256',
] as const satisfies readonly IanaCipherSuite[];

// + the CBC-SHA suites, the only ones the TLS 1.0 rows offer besides 3DES (lines 68–72, 84–88).
// TLS_RSA_WITH_3DES_EDE_CBC_SHA is left out: Node 20's OpenSSL cannot offer it at all.
const LEGACY_TLS12 = [
  ...COMPATIBLE_TLS12,
  'TLS_RSA_WITH_AES_256_CBC_SHA',
  'TLS_RSA_WITH_AES_128_CBC_SHA',
] as const satisfies readonly IanaCipherSuite[];

function definePolicy(
  name: TlsPolicyName,
  summary: string,
  minVersion: TlsProtocol,
  tls12Suites: readonly IanaCipherSuite[],
  needsSecurityLevel0: boolean,
  warning: string | null,
): TlsPolicy {
  const openssl: string[] = tls12Suites.map((s) => CIPHER_SUITES[s].openssl);
  if (needsSecurityLevel0) openssl.push('@SECLEVEL=0');
  return Object.freeze({
    name,
    summary,
    minVersion,
    maxVersion: 'TLSv1.3',
    tls13Suites: TLS13_SUITES,
    tls12Suites: Object.freeze([...tls12Suites]),
    ciphers: openssl.join(':'),
    ciphersuites: TLS13_SUITES.join(':'),
    needsSecurityLevel0,
    offeredSuites: Object.freeze([...TLS13_SUITES, ...tls12Suites]),
    warning,
  });
}

/** The three policies by name. */
export const TLS_POLICIES: Readonly<Record<TlsPolicyName, TlsPolicy>> = Object.freeze({
  modern: definePolicy(
    'modern',
    'TLS 1.3, and TLS 1.2 with ECDHE-RSA AES-GCM/CBC-SHA2 only (forward secrecy): Deep Security 11.0+ and Palisade agents',
    'TLSv1.2',
    MODERN_TLS12,
    false,
    null,
  ),
  compatible: definePolicy(
    'compatible',
    'modern + TLS 1.2 RSA key exchange (AES-GCM, AES-CBC-SHA256): adds Deep Security 10.0 and 9.5/9.6 agents that speak TLS 1.2',
    'TLSv1.2',
    COMPATIBLE_TLS12,
    false,
    'TLS policy "compatible" accepts TLS_RSA_* key exchange, which has no forward secrecy: anyone who later obtains the manager\'s private key can decrypt recorded agent traffic. Upgrade agents older than 11.0 and return to "modern".',
  ),
  legacy: definePolicy(
    'legacy',
    'compatible + TLS 1.0/1.1 with AES-CBC-SHA (OpenSSL security level 0): adds Deep Security 9.5/9.6 agents that speak only TLS 1.0',
    'TLSv1',
    LEGACY_TLS12,
    true,
    'TLS policy "legacy" accepts TLS 1.0 and 1.1 (deprecated by RFC 8996) with SHA-1 handshake signatures and CBC suites without forward secrecy, and lowers OpenSSL\'s security level to 0 for this listener. Use it only while upgrading Deep Security 9.5/9.6 agents, then return to "modern".',
  ),
});

/** The policy with that name; throws a RangeError naming the valid ones otherwise. */
export function tlsPolicy(name: string): TlsPolicy {
  if (!isTlsPolicyName(name)) {
    throw new RangeError(`unknown TLS policy "${name}"; expected one of ${TLS_POLICY_NAMES.join(', ')}`);
  }
  return TLS_POLICIES[name];
}

/**
 * The fields of Node's `tls.SecureContextOptions` / `tls.createServer` options a policy sets,
 * as plain data (core does not import node types). Spread it into the server's options.
 */
export interface TlsContextOptions {
  readonly minVersion: TlsProtocol;
  readonly maxVersion: TlsProtocol;
  /**
   * Node's `ciphers` takes both lists in one string: names starting with `TLS_` go to
   * `SSL_CTX_set_ciphersuites`, the rest to `SSL_CTX_set_cipher_list`. So this is
   * `ciphersuites:ciphers` of the policy. The TLS 1.3 names must be in it: measured, a `ciphers`
   * string without any leaves Node's default TLS 1.3 list (and order) in place.
   */
  readonly ciphers: string;
  /**
   * Always true: the manager picks the suite in its own order (SSL_OP_CIPHER_SERVER_PREFERENCE),
   * so an agent offering both gets ECDHE before RSA key exchange and GCM before CBC. `tls.Server`
   * already defaults to true (Node 20 `_tls_wrap.js`), but `tls.createSecureContext` alone does
   * not set it, so set it explicitly. The preflight assumes it.
   */
  readonly honorCipherOrder: boolean;
}

/** The Node TLS options for a policy. */
export function tlsContextOptions(name: TlsPolicyName): TlsContextOptions {
  const p = tlsPolicy(name);
  return Object.freeze({
    minVersion: p.minVersion,
    maxVersion: p.maxVersion,
    ciphers: `${p.ciphersuites}:${p.ciphers}`,
    honorCipherOrder: true,
  });
}
