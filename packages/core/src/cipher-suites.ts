/**
 * The cipher-suite catalog: which TLS versions and suites each agent version offers, as data.
 *
 * Source: reference/agent-communication.txt, "Supported cipher suites for communication"
 * (lines 59–124). Suites are keyed by their IANA name (RFC 8446 §B.4, the IANA "TLS Cipher
 * Suites" registry) because that is what the spec, our API (`tlsCipherSuite`) and Node's
 * `getCipher().standardName` use; OpenSSL's own names are only needed to build a `ciphers`
 * string.
 *
 * Measured on this project's runtime (Node 20.20.2, its bundled OpenSSL 3.0.19 — not the
 * system library: `process.config.variables.node_shared_openssl` is false), 2026-04:
 * - `tls.createServer({ ciphers: 'DES-CBC3-SHA:@SECLEVEL=0', minVersion: 'TLSv1' })` throws
 *   `ERR_SSL_NO_CIPHER_MATCH` ("no cipher match"); so does `tls.createSecureContext` and a client
 *   `tls.connect` with that list. Debian's `openssl ciphers -v 'DES-CBC3-SHA:@SECLEVEL=0'` (also
 *   3.0.19) prints "Error in cipher list", and `openssl ciphers -v 'ALL:@SECLEVEL=0'` lists no
 *   3DES suite. The 3DES *cipher* is still in libcrypto (`crypto.getCiphers()` lists
 *   `des-ede3-cbc`), so that check says nothing: OpenSSL ≥ 1.1.0 only builds the TLS suite with
 *   `enable-weak-ssl-ciphers`, and neither build has it. No runtime setting brings it back.
 * - TLS 1.0 and 1.1 work only with `@SECLEVEL=0` (SHA-1/MD5-SHA1 handshake signatures are below
 *   security level 1): a server without it fails with `ERR_SSL_NO_SUITABLE_SIGNATURE_ALGORITHM`,
 *   and with client certificates the client needs it too, else the server sees
 *   `ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE`. Without `minVersion: 'TLSv1'` the server
 *   answers a TLS 1.0 hello with `ERR_SSL_UNSUPPORTED_PROTOCOL`. With both, TLS 1.0 and 1.1
 *   handshakes with AES128-SHA / AES256-SHA succeed (server and client certificates).
 * - The CBC-SHA suites at TLS 1.2 and `AES128-GCM-SHA256` need no security-level change.
 */

/** TLS protocol versions, oldest first, spelled as Node spells them (`minVersion`, `getProtocol()`). */
export const TLS_PROTOCOLS = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'] as const;
export type TlsProtocol = (typeof TLS_PROTOCOLS)[number];

/** Position of a protocol in {@link TLS_PROTOCOLS}: higher is newer. */
export function protocolRank(protocol: TlsProtocol): number {
  return TLS_PROTOCOLS.indexOf(protocol);
}

/** Every protocol from `min` to `max`, inclusive, oldest first; empty when `min` is newer than `max`. */
export function protocolsBetween(min: TlsProtocol, max: TlsProtocol): TlsProtocol[] {
  return TLS_PROTOCOLS.slice(protocolRank(min), protocolRank(max) + 1);
}

/** What we need to know about one cipher suite. */
export interface CipherSuiteInfo {
  /** OpenSSL's name, for a `ciphers` string. TLS 1.3 suites keep their IANA name in OpenSSL. */
  readonly openssl: string;
  /** `RSA` = the client encrypts the premaster secret to the server's key: no forward secrecy. */
  readonly keyExchange: 'RSA' | 'ECDHE' | 'TLS 1.3';
  /**
   * Oldest and newest protocol the suite can be negotiated at. CBC-SHA suites date from
   * TLS 1.0 (RFC 2246, RFC 3268) and stay valid through TLS 1.2; SHA-256/384 MACs and GCM exist
   * only in TLS 1.2 (RFC 5246 §A.5, RFC 5288, RFC 5289); TLS 1.3 suites only in TLS 1.3
   * (RFC 8446 §B.4). OpenSSL will not pick a suite outside its range.
   */
  readonly minProtocol: TlsProtocol;
  readonly maxProtocol: TlsProtocol;
  readonly forwardSecret: boolean;
  /** Authenticated encryption (GCM, ChaCha20-Poly1305) rather than CBC + HMAC. */
  readonly aead: boolean;
  /**
   * Whether Node 20's OpenSSL 3.0 can negotiate it at all. False only for 3DES (see the file
   * comment for what was measured); a policy never lists an unavailable suite, and the
   * preflight never counts one as a way to connect.
   */
  readonly availableInNode: boolean;
}

/**
 * Every suite the spec's table names, plus the TLS 1.3 suites our own agent and manager use.
 * Keys are IANA names; the OpenSSL names were checked against `openssl ciphers -stdname` and a
 * real handshake's `getCipher().standardName` (see cipher-suites.test.ts).
 */
export const CIPHER_SUITES = {
  TLS_RSA_WITH_AES_256_CBC_SHA: {
    openssl: 'AES256-SHA',
    keyExchange: 'RSA',
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1.2',
    forwardSecret: false,
    aead: false,
    availableInNode: true,
  },
  TLS_RSA_WITH_AES_128_CBC_SHA: {
    openssl: 'AES128-SHA',
    keyExchange: 'RSA',
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1.2',
    forwardSecret: false,
    aead: false,
    availableInNode: true,
  },
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: {
    openssl: 'DES-CBC3-SHA',
    keyExchange: 'RSA',
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1.2',
    forwardSecret: false,
    aead: false,
    // Measured: "no cipher match" even with @SECLEVEL=0 and minVersion TLSv1 (file comment).
    availableInNode: false,
  },
  TLS_RSA_WITH_AES_256_CBC_SHA256: {
    openssl: 'AES256-SHA256',
    keyExchange: 'RSA',
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    forwardSecret: false,
    aead: false,
    availableInNode: true,
  },
  TLS_RSA_WITH_AES_128_CBC_SHA256: {
    openssl: 'AES128-SHA256',
    keyExchange: 'RSA',
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    forwardSecret: false,
    aead: false,
    availableInNode: true,
  },
  TLS_RSA_WITH_AES_128_GCM_SHA256: {
    openssl: 'AES128-GCM-SHA256',
    keyExchange: 'RSA',
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    forwardSecret: false,
    aead: true,
    availableInNode: true,
  },
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: {
    openssl: 'ECDHE-RSA-AES256-GCM-SHA384',
    keyExchange: 'ECDHE',
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    forwardSecret: true,
    aead: true,
    availableInNode: true,
  },
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: {
    openssl: 'ECDHE-RSA-AES128-GCM-SHA256',
    keyExchange: 'ECDHE',
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    forwardSecret: true,
    aead: true,
    availableInNode: true,
  },
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384: {
    openssl: 'ECDHE-RSA-AES256-SHA384',
    keyExchange: 'ECDHE',
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    forwardSecret: true,
    aead: false,
    availableInNode: true,
  },
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: {
    openssl: 'ECDHE-RSA-AES128-SHA256',
    keyExchange: 'ECDHE',
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    forwardSecret: true,
    aead: false,
    availableInNode: true,
  },
  TLS_AES_256_GCM_SHA384: {
    openssl: 'TLS_AES_256_GCM_SHA384',
    keyExchange: 'TLS 1.3',
    minProtocol: 'TLSv1.3',
    maxProtocol: 'TLSv1.3',
    forwardSecret: true,
    aead: true,
    availableInNode: true,
  },
  TLS_AES_128_GCM_SHA256: {
    openssl: 'TLS_AES_128_GCM_SHA256',
    keyExchange: 'TLS 1.3',
    minProtocol: 'TLSv1.3',
    maxProtocol: 'TLSv1.3',
    forwardSecret: true,
    aead: true,
    availableInNode: true,
  },
  TLS_CHACHA20_POLY1305_SHA256: {
    openssl: 'TLS_CHACHA20_POLY1305_SHA256',
    keyExchange: 'TLS 1.3',
    minProtocol: 'TLSv1.3',
    maxProtocol: 'TLSv1.3',
    forwardSecret: true,
    aead: true,
    availableInNode: true,
  },
} as const satisfies Record<string, CipherSuiteInfo>;

/** IANA name of a suite in the catalog. */
export type IanaCipherSuite = keyof typeof CIPHER_SUITES;

/** All catalog suites, in the order declared above. */
export const IANA_CIPHER_SUITES = Object.keys(CIPHER_SUITES) as IanaCipherSuite[];

/** OpenSSL's name for an IANA suite name. */
export function opensslName(suite: IanaCipherSuite): string {
  return CIPHER_SUITES[suite].openssl;
}

/**
 * IANA name for an OpenSSL suite name (e.g. from `getCipher().name`), or undefined when the
 * suite is not in the catalog. Prefer `getCipher().standardName`, which already is IANA.
 */
export function ianaNameFromOpenssl(name: string): IanaCipherSuite | undefined {
  return IANA_CIPHER_SUITES.find((s) => CIPHER_SUITES[s].openssl === name);
}

/** Whether `suite` can be negotiated at `protocol` (see {@link CipherSuiteInfo.minProtocol}). */
export function suiteUsableAt(suite: IanaCipherSuite, protocol: TlsProtocol): boolean {
  const info = CIPHER_SUITES[suite];
  const rank = protocolRank(protocol);
  return rank >= protocolRank(info.minProtocol) && rank <= protocolRank(info.maxProtocol);
}

/**
 * The TLS 1.3 suites our own agent and manager offer, in preference order: AES-256-GCM first
 * (the strongest of the three; both ends have AES-NI on the platforms we target), then
 * AES-128-GCM, then ChaCha20-Poly1305 for hosts without AES hardware. These are the three suites
 * OpenSSL 3.0 enables by default (RFC 8446 §9.1 makes only TLS_AES_128_GCM_SHA256 mandatory).
 */
export const TLS13_SUITES = [
  'TLS_AES_256_GCM_SHA384',
  'TLS_AES_128_GCM_SHA256',
  'TLS_CHACHA20_POLY1305_SHA256',
] as const satisfies readonly IanaCipherSuite[];

/**
 * A point in Deep Security's release history: [major, minor, service pack, patch, update].
 * `9.6 SP1 Patch 1 Update 5` is `[9, 6, 1, 1, 5]`; `10.0 Update 16` is `[10, 0, 0, 0, 16]`
 * (10.0 and later have no service packs or patches, only updates). Compared element by element.
 */
export type ReleaseLevel = readonly [major: number, minor: number, servicePack: number, patch: number, update: number];

/** One row of the spec's table (or our own agent's row). */
export interface CipherSuiteRow {
  /** Stable id, used in the API and the preflight output. */
  readonly id: string;
  /** The range as the spec words it. */
  readonly label: string;
  readonly product: 'deep-security' | 'palisade';
  /**
   * First release in the row, inclusive. A Deep Security version belongs to the last row whose
   * `from` is not after it, so rows tile the release history without gaps: a release the spec
   * does not name (9.5 Patch 1 before SP1, 11.0 Update 5, 10.1 FR) lands in the row before it.
   * Null for the Palisade row, which is chosen by product, not by level.
   */
  readonly from: ReleaseLevel | null;
  /**
   * Last release the spec vouches for, inclusive, when it names one ("Updates 5 - 21", "and
   * later updates" = the rest of that minor line, "Agent version 20" = all of 20.x). Releases
   * after it but before the next row still use this row (the newest list we know), flagged as
   * beyond the spec. Null when the next row's `from` is the only bound.
   */
  readonly through: ReleaseLevel | null;
  /** Protocol range the agent offers; the agent sends `maxProtocol` in its hello. */
  readonly minProtocol: TlsProtocol;
  readonly maxProtocol: TlsProtocol;
  /**
   * `spec` when the spec names the TLS version for the row; `suites` when we inferred it from
   * the suites listed (the reason is in the row's comment).
   */
  readonly protocolSource: 'spec' | 'suites' | 'palisade';
  /** Suites the agent offers, in the spec's order (which we take as the agent's preference). */
  readonly suites: readonly IanaCipherSuite[];
}

const END = Number.POSITIVE_INFINITY;

/**
 * The spec's table, oldest first, then our own agent's row. Line numbers refer to
 * reference/agent-communication.txt.
 */
export const CIPHER_SUITE_ROWS = [
  {
    // Lines 67–69: "9.5 (without SPs, patches, or updates) supports these TLS 1.0 cipher suites".
    id: 'ds-9.5',
    label: 'Deep Security Agent 9.5 (without SPs, patches, or updates)',
    product: 'deep-security',
    from: [9, 5, 0, 0, 0],
    through: [9, 5, 0, 0, 0],
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1',
    protocolSource: 'spec',
    suites: ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  },
  {
    // Lines 70–73. The spec names no version. TLS 1.0 only: every suite listed is a TLS 1.0
    // suite and none needs TLS 1.2; the row sits between two rows the spec calls TLS 1.0 (9.5
    // base) and the first row with TLS 1.2-only suites; and Trend Micro's migration note
    // (success.trendmicro.com KA-0008216) says the 9.5 SP1 virtual appliance's agent "only
    // accepts TLS 1.0".
    id: 'ds-9.5-sp1',
    label: 'Deep Security Agent 9.5 SP1 – 9.5 SP1 Patch 3 Update 2',
    product: 'deep-security',
    from: [9, 5, 1, 0, 0],
    through: [9, 5, 1, 3, 2],
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1',
    protocolSource: 'suites',
    suites: ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  },
  {
    // Lines 74–79. The spec names no version. TLS 1.2 is required by the SHA-256 and GCM suites
    // (RFC 5246, RFC 5288: TLS 1.2 only), so the agent speaks TLS 1.2; it also keeps the two
    // CBC-SHA suites, which are the only ones usable below TLS 1.2, so we take it to still fall
    // back to TLS 1.0/1.1 for managers that have not moved (an OpenSSL-based client offering
    // 1.0–1.2 offers 1.1 too). Against our policies this fallback never matters: OpenSSL picks
    // the highest common version, and every policy accepts TLS 1.2.
    id: 'ds-9.5-sp1-p3-u3',
    label: 'Deep Security Agent 9.5 SP1 Patch 3 Update 3 – 8',
    product: 'deep-security',
    from: [9, 5, 1, 3, 3],
    through: [9, 5, 1, 3, 8],
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'suites',
    suites: [
      'TLS_RSA_WITH_AES_256_CBC_SHA256',
      'TLS_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_RSA_WITH_AES_128_CBC_SHA256',
      'TLS_RSA_WITH_AES_256_CBC_SHA',
      'TLS_RSA_WITH_AES_128_CBC_SHA',
    ],
  },
  {
    // Lines 83–85: "9.6 (without SPs, patches, or updates) - 9.6 Patch 1 supports these TLS 1.0
    // cipher suites".
    id: 'ds-9.6',
    label: 'Deep Security Agent 9.6 (without SPs, patches, or updates) – 9.6 Patch 1',
    product: 'deep-security',
    from: [9, 6, 0, 0, 0],
    through: null,
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1',
    protocolSource: 'spec',
    suites: ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  },
  {
    // Lines 86–89. Same suites and same reasoning as ds-9.5-sp1: TLS 1.0 only.
    id: 'ds-9.6-p2',
    label: 'Deep Security Agent 9.6 Patch 2 – 9.6 SP1 Patch 1 Update 4',
    product: 'deep-security',
    from: [9, 6, 0, 2, 0],
    through: [9, 6, 1, 1, 4],
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1',
    protocolSource: 'suites',
    suites: ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  },
  {
    // Lines 90–95. Same suites and same reasoning as ds-9.5-sp1-p3-u3: TLS 1.2, falling back
    // to 1.0. Trend Micro's "Use TLS 1.2 with Deep Security" page (help.deepsecurity.
    // trendmicro.com/azure/crypto-tls-version.html) agrees that 9.6 agents can do TLS 1.2;
    // KA-0008216 says only 10.0+ agents can, which the TLS 1.2-only suites contradict.
    id: 'ds-9.6-sp1-p1-u5',
    label: 'Deep Security Agent 9.6 SP1 Patch 1 Update 5 – 21',
    product: 'deep-security',
    from: [9, 6, 1, 1, 5],
    through: [9, 6, 1, 1, 21],
    minProtocol: 'TLSv1',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'suites',
    suites: [
      'TLS_RSA_WITH_AES_256_CBC_SHA256',
      'TLS_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_RSA_WITH_AES_128_CBC_SHA256',
      'TLS_RSA_WITH_AES_256_CBC_SHA',
      'TLS_RSA_WITH_AES_128_CBC_SHA',
    ],
  },
  {
    // Lines 99–101: "10.0 up to Update 15 supports these TLS 1.2 cipher suites".
    id: 'ds-10.0',
    label: 'Deep Security Agent 10.0 up to Update 15',
    product: 'deep-security',
    from: [10, 0, 0, 0, 0],
    through: [10, 0, 0, 0, 15],
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'spec',
    suites: ['TLS_RSA_WITH_AES_256_CBC_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA256'],
  },
  {
    // Lines 102–104: "10.0 Update 16 and later updates ... TLS 1.2 cipher suites, out-of-box".
    // The list equals the row above; "out-of-box" suggests U16 could be configured for more,
    // which the spec does not detail, so we assume the defaults.
    id: 'ds-10.0-u16',
    label: 'Deep Security Agent 10.0 Update 16 and later updates',
    product: 'deep-security',
    from: [10, 0, 0, 0, 16],
    through: [10, 0, END, END, END],
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'spec',
    suites: ['TLS_RSA_WITH_AES_256_CBC_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA256'],
  },
  {
    // Lines 108–112. The spec names no version; every suite has a SHA-256/384 MAC, which exists
    // only in TLS 1.2, so: TLS 1.2. (The 10.0 rows before and 11.0 U6 row after are TLS 1.2.)
    // 11.0 Update 5 is in neither 11.0 row of the spec. It lands here, with Update 4: the
    // change to GCM and ECDHE-only is documented from Update 6, so assuming the older list
    // never predicts a suite U5 might not have. The choice cannot change whether a U5 agent
    // connects under any of our policies: the suites we would negotiate with either row
    // (ECDHE-RSA with AES-CBC-SHA256/384) are in both rows.
    id: 'ds-11.0',
    label: 'Deep Security Agent 11.0 up to Update 4 (and Update 5, which the spec omits)',
    product: 'deep-security',
    from: [11, 0, 0, 0, 0],
    through: [11, 0, 0, 0, 4],
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'suites',
    suites: [
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
      'TLS_RSA_WITH_AES_256_CBC_SHA256',
      'TLS_RSA_WITH_AES_128_CBC_SHA256',
    ],
  },
  {
    // Lines 113–117: "11.0 Update 6 and later updates supports these TLS 1.2 cipher suites".
    id: 'ds-11.0-u6',
    label: 'Deep Security Agent 11.0 Update 6 and later updates',
    product: 'deep-security',
    from: [11, 0, 0, 0, 6],
    through: [11, 0, END, END, END],
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'spec',
    suites: [
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
    ],
  },
  {
    // Lines 119–124, shared with 20. No version named; GCM and SHA-256/384 suites need TLS 1.2,
    // and the list has no TLS 1.3 suite, so: TLS 1.2 only.
    id: 'ds-12.0',
    label: 'Deep Security Agent 12.0',
    product: 'deep-security',
    from: [12, 0, 0, 0, 0],
    through: [12, 0, END, END, END],
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'suites',
    suites: [
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
    ],
  },
  {
    // Lines 119–124, as 12.0. Agents newer than 20 (21.x …) are placed here too, flagged as
    // beyond the spec: the newest list we know is the best guess, and it is ECDHE-only.
    id: 'ds-20',
    label: 'Deep Security Agent 20',
    product: 'deep-security',
    from: [20, 0, 0, 0, 0],
    through: [20, END, END, END, END],
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.2',
    protocolSource: 'suites',
    suites: [
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
    ],
  },
  {
    // Our own agent (docs/architecture.md "TLS": TLS 1.3 between our own parts). It offers TLS 1.3 with
    // TLS13_SUITES and, should a manager be held at TLS 1.2, the ECDHE suites of the 12.0/20 row
    // — never a non-forward-secret TLS_RSA_* suite. Every Palisade version uses this row.
    id: 'palisade',
    label: 'Palisade agent (any version)',
    product: 'palisade',
    from: null,
    through: null,
    minProtocol: 'TLSv1.2',
    maxProtocol: 'TLSv1.3',
    protocolSource: 'palisade',
    suites: [
      'TLS_AES_256_GCM_SHA384',
      'TLS_AES_128_GCM_SHA256',
      'TLS_CHACHA20_POLY1305_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
      'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
      'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
    ],
  },
] as const satisfies readonly CipherSuiteRow[];

export type CipherSuiteRowId = (typeof CIPHER_SUITE_ROWS)[number]['id'];

/** The row with that id, or undefined. */
export function cipherSuiteRow(id: string): CipherSuiteRow | undefined {
  return CIPHER_SUITE_ROWS.find((r) => r.id === id);
}

/** Protocols a row offers, oldest first. */
export function rowProtocols(row: CipherSuiteRow): TlsProtocol[] {
  return protocolsBetween(row.minProtocol, row.maxProtocol);
}
