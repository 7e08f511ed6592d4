/**
 * Preflight: before an operator switches the manager's TLS policy, which agent versions of the
 * cipher-suite table, and which enrolled computers, would still connect — and with what.
 *
 * The model is OpenSSL's server-side choice, which the manager makes on 4120:
 * 1. Protocol: the highest version both sides accept (RFC 8446 §4.2.1, RFC 5246 §7.4.1.2). If
 *    no suite is shared at that version the handshake fails; OpenSSL does not retry a lower one.
 * 2. Suite: the first suite in the *manager's* list that the agent offered and that is valid at
 *    that version — the manager sets `honorCipherOrder: true` (see tls-policy.ts).
 * 3. Only suites Node's OpenSSL can negotiate count: the policies never list 3DES, so a row that
 *    would need it is refused (measured: DES-CBC3-SHA is not built into Node 20's OpenSSL).
 *
 * For the manager's dialer (manager-initiated mode) the agent is the TLS server and picks from
 * its own list; whether a row connects is the same — the same versions and suites intersect —
 * but the suite may differ. This module predicts; the oracle is a real handshake
 * (tls-preflight.test.ts, and the manager's end-to-end matrix with `openssl s_client`).
 */
import { cipherSuiteRowFor } from './agent-version.js';
import {
  CIPHER_SUITE_ROWS,
  CIPHER_SUITES,
  type CipherSuiteRow,
  type IanaCipherSuite,
  protocolRank,
  suiteUsableAt,
  TLS_PROTOCOLS,
  type TlsProtocol,
} from './cipher-suites.js';
import { type TlsPolicy, type TlsPolicyName, tlsPolicy } from './tls-policy.js';

/** Why a row connects or not. */
export type PreflightOutcome = 'connects' | 'protocol-mismatch' | 'no-shared-suite';

/** What one row of the table would get under a policy. */
export interface PreflightRow {
  readonly rowId: string;
  readonly label: string;
  readonly product: CipherSuiteRow['product'];
  readonly outcome: PreflightOutcome;
  readonly connects: boolean;
  /** Negotiated protocol; null when the row is cut off. */
  readonly protocol: TlsProtocol | null;
  /** Negotiated suite, IANA name (as stored in `tlsCipherSuite`); null when cut off. */
  readonly suite: IanaCipherSuite | null;
  /** The same suite in OpenSSL's spelling (what `getCipher().name` returns); null when cut off. */
  readonly opensslSuite: string | null;
  /** A sentence for the operator: what is negotiated, or why the row is refused. */
  readonly detail: string;
  /** Suites the row offers that Node's OpenSSL can never negotiate (3DES); empty for most rows. */
  readonly unavailableSuites: readonly IanaCipherSuite[];
}

export interface PreflightResult {
  readonly policy: TlsPolicyName;
  /** One entry per row of {@link CIPHER_SUITE_ROWS}, in the table's order. */
  readonly rows: readonly PreflightRow[];
}

function range(min: TlsProtocol, max: TlsProtocol): string {
  return min === max ? min : `${min}–${max}`;
}

/** What a client offering `row` negotiates with a server running `policy`. */
export function negotiate(policy: TlsPolicy, row: CipherSuiteRow): PreflightRow {
  const base = {
    rowId: row.id,
    label: row.label,
    product: row.product,
    unavailableSuites: row.suites.filter((s) => !CIPHER_SUITES[s].availableInNode),
  };
  const cutOff = (outcome: Exclude<PreflightOutcome, 'connects'>, detail: string): PreflightRow => ({
    ...base,
    outcome,
    connects: false,
    protocol: null,
    suite: null,
    opensslSuite: null,
    detail,
  });

  const top = Math.min(protocolRank(row.maxProtocol), protocolRank(policy.maxVersion));
  const bottom = Math.max(protocolRank(row.minProtocol), protocolRank(policy.minVersion));
  if (top < bottom) {
    return cutOff(
      'protocol-mismatch',
      `the agent offers ${range(row.minProtocol, row.maxProtocol)}; policy "${policy.name}" accepts ${range(policy.minVersion, policy.maxVersion)}`,
    );
  }
  const protocol = TLS_PROTOCOLS[top]!;
  const serverList = protocol === 'TLSv1.3' ? policy.tls13Suites : policy.tls12Suites;
  const suite = serverList.find(
    (s) => CIPHER_SUITES[s].availableInNode && suiteUsableAt(s, protocol) && row.suites.includes(s),
  );
  if (suite === undefined) {
    const offered = row.suites.filter((s) => suiteUsableAt(s, protocol));
    const unavailable =
      base.unavailableSuites.length > 0
        ? ` (${base.unavailableSuites.join(', ')} cannot be offered by Node's OpenSSL)`
        : '';
    return cutOff(
      'no-shared-suite',
      `no suite in common at ${protocol}: the agent offers ${offered.join(', ')}${unavailable}; policy "${policy.name}" offers ${serverList.join(', ')}`,
    );
  }
  const openssl = CIPHER_SUITES[suite].openssl;
  return {
    ...base,
    outcome: 'connects',
    connects: true,
    protocol,
    suite,
    opensslSuite: openssl,
    detail: `${protocol} with ${suite}${openssl === suite ? '' : ` (${openssl})`}`,
  };
}

/** For every row of the table, whether an agent of that row can connect under the policy. */
export function preflight(policyName: TlsPolicyName): PreflightResult {
  const policy = tlsPolicy(policyName);
  return { policy: policy.name, rows: CIPHER_SUITE_ROWS.map((row) => negotiate(policy, row)) };
}

/** An enrolled computer, as much of it as the preflight needs. */
export interface PreflightComputer {
  readonly id: string | number;
  readonly hostName: string;
  /** The version from the computer's last heartbeat; null before the first one. */
  readonly agentVersion: string | null;
}

/**
 * `connects` / `cut-off` when certain; `unknown` when the version cannot be read, is older than
 * the table, or may be in rows that the policy treats differently. Unknown is never counted as
 * safe: the operator has to look at those computers.
 */
export type ComputerVerdict = 'connects' | 'cut-off' | 'unknown';

export interface PreflightComputerResult {
  readonly id: string | number;
  readonly hostName: string;
  readonly agentVersion: string | null;
  readonly verdict: ComputerVerdict;
  /** The row, when the version places in exactly one. */
  readonly rowId: string | null;
  /** Rows the version may be in: one when placed, several when ambiguous, none when unknown. */
  readonly candidateRowIds: readonly string[];
  /**
   * Negotiated protocol, and suite, each when every candidate row would get the same one; null
   * when cut off, unknown, or the candidates differ (11.0.0-900: TLS 1.2 either way, suite not).
   */
  readonly protocol: TlsProtocol | null;
  readonly suite: IanaCipherSuite | null;
  /** A sentence for the operator. */
  readonly reason: string;
}

export interface PreflightComputersResult {
  readonly policy: TlsPolicyName;
  /** In the order given. */
  readonly computers: readonly PreflightComputerResult[];
  readonly counts: { readonly connects: number; readonly cutOff: number; readonly unknown: number };
  /** Lines to print under the list, e.g. that unknown computers were not assumed to connect. */
  readonly notes: readonly string[];
}

function checkComputer(policy: TlsPolicy, c: PreflightComputer): PreflightComputerResult {
  const base = { id: c.id, hostName: c.hostName, agentVersion: c.agentVersion };
  const unknown = (reason: string, candidateRowIds: readonly string[] = []): PreflightComputerResult => ({
    ...base,
    verdict: 'unknown',
    rowId: null,
    candidateRowIds,
    protocol: null,
    suite: null,
    reason,
  });
  if (c.agentVersion === null) return unknown('no agent version reported yet (no heartbeat)');

  const placement = cipherSuiteRowFor(c.agentVersion);
  if (placement.kind === 'unknown') return unknown(placement.reason);

  const rows = placement.kind === 'row' ? [placement.row] : placement.candidates;
  const results = rows.map((r) => negotiate(policy, r));
  const ids = rows.map((r) => r.id);
  const first = results[0]!;
  if (placement.kind === 'ambiguous' && !results.every((r) => r.connects === first.connects)) {
    return unknown(
      `${placement.reason}. Under "${policy.name}": ` +
        results.map((r) => `${r.label} ${r.connects ? 'connects' : 'is cut off'}`).join('; '),
      ids,
    );
  }
  const sameProtocol = results.every((r) => r.protocol === first.protocol);
  const sameSuite = results.every((r) => r.suite === first.suite);
  const beyond =
    placement.kind === 'row' && placement.beyondSpec
      ? ` (newer than the spec lists for ${first.label}; assumed to offer its suites)`
      : '';
  const which =
    placement.kind === 'row'
      ? `${first.label}${beyond}`
      : `${results.map((r) => r.label).join(' or ')} (row uncertain, same verdict for each)`;
  return {
    ...base,
    verdict: first.connects ? 'connects' : 'cut-off',
    rowId: placement.kind === 'row' ? placement.row.id : null,
    candidateRowIds: ids,
    protocol: sameProtocol ? first.protocol : null,
    suite: sameSuite ? first.suite : null,
    reason: `${which}: ${results.every((r) => r.detail === first.detail) ? first.detail : results.map((r) => `${r.label}: ${r.detail}`).join('; ')}`,
  };
}

/** Which enrolled computers would be cut off under a policy, by their reported agent version. */
export function preflightComputers(
  policyName: TlsPolicyName,
  computers: readonly PreflightComputer[],
): PreflightComputersResult {
  const policy = tlsPolicy(policyName);
  const results = computers.map((c) => checkComputer(policy, c));
  const counts = {
    connects: results.filter((r) => r.verdict === 'connects').length,
    cutOff: results.filter((r) => r.verdict === 'cut-off').length,
    unknown: results.filter((r) => r.verdict === 'unknown').length,
  };
  const notes: string[] = [];
  if (counts.cutOff > 0) notes.push(`${counts.cutOff} computer(s) would be cut off under "${policy.name}".`);
  if (counts.unknown > 0) {
    notes.push(
      `${counts.unknown} computer(s) report an agent version we cannot place for "${policy.name}"; they are listed as unknown, not assumed to connect — check them before switching.`,
    );
  }
  if (policy.warning !== null) notes.push(policy.warning);
  return { policy: policy.name, computers: results, counts, notes };
}
