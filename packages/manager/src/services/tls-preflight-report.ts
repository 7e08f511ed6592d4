import {
  type ComputerVerdict,
  type IanaCipherSuite,
  type PreflightOutcome,
  preflight,
  preflightComputers,
  type TlsPolicyName,
  type TlsProtocol,
  tlsPolicy,
} from '@palisade/core';
import { mainEndpointPolicy } from '../agent-endpoint/agent-endpoint-tls.js';
import type { ComputerRecord } from '../store/store.js';

/**
 * Which of the manager's agent listeners a row connects through: always the agent endpoint
 * (4120), which serves every version the policy admits; under `legacy` the alias port
 * (`--legacy-tls-port`) serves the same rows.
 */
export type PreflightListener = 'agent-endpoint';

/** Which TLS context answers a row on 4120: the main one, or (TLS 1.0/1.1 under `legacy`) the legacy one. */
export type PreflightTlsContext = 'main' | 'legacy';

/** One row of the cipher-suite table under the policy (core's `PreflightRow` plus the listener). */
export interface TlsPreflightReportRow {
  rowId: string;
  label: string;
  product: 'deep-security' | 'palisade';
  connects: boolean;
  outcome: PreflightOutcome;
  protocol: TlsProtocol | null;
  suite: IanaCipherSuite | null;
  opensslSuite: string | null;
  detail: string;
  unavailableSuites: IanaCipherSuite[];
  /** Null when cut off. */
  listener: PreflightListener | null;
  /**
   * Null when cut off. `legacy` when only the legacy context (security level 0) accepts the row:
   * 4120 reads the ClientHello and hands such agents to it.
   */
  tlsContext: PreflightTlsContext | null;
}

/** Enrolled computers reporting one agent version, and what they get. */
export interface TlsPreflightVersionGroup {
  agentVersion: string;
  verdict: ComputerVerdict;
  count: number;
  rowId: string | null;
  candidateRowIds: string[];
  protocol: TlsProtocol | null;
  suite: IanaCipherSuite | null;
  reason: string;
  computers: Array<{ id: number; hostName: string }>;
}

export interface TlsPreflightReport {
  policy: TlsPolicyName;
  summary: string;
  warning: string | null;
  /** Policy of the main agent endpoint's context under `policy` (`compatible` for `legacy`). */
  agentEndpointPolicy: TlsPolicyName;
  /** Whether the policy runs the legacy TLS 1.0/1.1 context (and opens its alias port). */
  legacyListener: boolean;
  rows: TlsPreflightReportRow[];
  computers: {
    /** Active (not deactivated) computers looked at. */
    total: number;
    counts: { connects: number; cutOff: number; unknown: number };
    notes: string[];
    /** Cut off first, then unknown, then connecting; larger groups first. */
    byAgentVersion: TlsPreflightVersionGroup[];
  };
}

const VERDICT_ORDER: Record<ComputerVerdict, number> = { 'cut-off': 0, unknown: 1, connects: 2 };

/**
 * What switching the agent endpoint to `policy` would do: each row of the cipher-suite table
 * (core's `preflight`) with the listener it would use, and the enrolled computers grouped by
 * the agent version of their last heartbeat (core's `preflightComputers`). The CLI's
 * `tls check` prints it; `GET /api/tls/preflight` returns it as JSON.
 */
export function tlsPreflightReport(policy: TlsPolicyName, computers: readonly ComputerRecord[]): TlsPreflightReport {
  const p = tlsPolicy(policy);
  const main = preflight(mainEndpointPolicy(policy)).rows;
  const rows = preflight(policy).rows.map(
    (r, i): TlsPreflightReportRow => ({
      rowId: r.rowId,
      label: r.label,
      product: r.product,
      connects: r.connects,
      outcome: r.outcome,
      protocol: r.protocol,
      suite: r.suite,
      opensslSuite: r.opensslSuite,
      detail: r.detail,
      unavailableSuites: [...r.unavailableSuites],
      listener: r.connects ? 'agent-endpoint' : null,
      tlsContext: !r.connects ? null : main[i]!.connects ? 'main' : 'legacy',
    }),
  );

  const active = computers.filter((c) => c.state === 'active');
  const checked = preflightComputers(
    policy,
    active.map((c) => ({ id: c.id, hostName: c.hostName, agentVersion: c.agentVersion || null })),
  );
  const groups = new Map<string, TlsPreflightVersionGroup>();
  for (const c of checked.computers) {
    const key = c.agentVersion ?? '';
    let g = groups.get(key);
    if (!g) {
      g = {
        agentVersion: key,
        verdict: c.verdict,
        count: 0,
        rowId: c.rowId,
        candidateRowIds: [...c.candidateRowIds],
        protocol: c.protocol,
        suite: c.suite,
        reason: c.reason,
        computers: [],
      };
      groups.set(key, g);
    }
    g.count++;
    g.computers.push({ id: Number(c.id), hostName: c.hostName });
  }
  const byAgentVersion = [...groups.values()].sort(
    (a, b) =>
      VERDICT_ORDER[a.verdict] - VERDICT_ORDER[b.verdict] ||
      b.count - a.count ||
      a.agentVersion.localeCompare(b.agentVersion),
  );
  return {
    policy,
    summary: p.summary,
    warning: p.warning,
    agentEndpointPolicy: mainEndpointPolicy(policy),
    legacyListener: p.needsSecurityLevel0,
    rows,
    computers: { total: active.length, counts: { ...checked.counts }, notes: [...checked.notes], byAgentVersion },
  };
}

function table(header: string[], body: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n');
}

const HOSTS_SHOWN = 5;

/**
 * The report as text for a terminal: the table rows, then the enrolled computers by agent
 * version, then the notes. `legacyPort` names the legacy listener's port in the text.
 */
export function formatTlsPreflightReport(r: TlsPreflightReport, legacyPort: number): string {
  const out: string[] = [];
  out.push(`TLS policy "${r.policy}": ${r.summary}`);
  if (r.legacyListener) {
    out.push(
      `The agent endpoint (4120) serves "${r.agentEndpointPolicy}" in its main context and hands TLS 1.0/1.1 clients to the legacy context; port ${legacyPort} (--legacy-tls-port) serves the whole legacy policy as an alias.`,
    );
  }
  out.push('');
  out.push('Agent versions (the cipher-suite table):');
  out.push(
    table(
      ['Agent version', 'Result', 'Protocol', 'Cipher suite (IANA)', ...(r.legacyListener ? ['Served by'] : [])],
      r.rows.map((row) => [
        row.label,
        row.connects ? 'connects' : `CUT OFF (${row.outcome})`,
        row.protocol ?? '-',
        row.suite ?? '-',
        ...(r.legacyListener
          ? [row.tlsContext === 'legacy' ? '4120 (legacy context)' : row.tlsContext === 'main' ? '4120' : '-']
          : []),
      ]),
    ),
  );
  const why = r.rows.filter((row) => !row.connects || row.unavailableSuites.length > 0);
  if (why.length > 0) {
    out.push('');
    for (const row of why) {
      const parts = [
        row.connects ? null : row.detail,
        row.unavailableSuites.length > 0
          ? `${row.unavailableSuites.join(', ')} is not available in Node's OpenSSL and is never negotiated`
          : null,
      ];
      out.push(`  ${row.label}: ${parts.filter(Boolean).join('; ')}`);
    }
  }
  out.push('');
  const c = r.computers;
  out.push(
    `Enrolled computers: ${c.total} (${c.counts.connects} connect, ${c.counts.cutOff} cut off, ${c.counts.unknown} unknown)`,
  );
  if (c.byAgentVersion.length > 0) {
    out.push(
      table(
        ['Agent version', 'Computers', 'Result', 'Protocol', 'Cipher suite (IANA)', 'Host names'],
        c.byAgentVersion.map((g) => [
          g.agentVersion || '(none reported)',
          String(g.count),
          g.verdict === 'cut-off' ? 'CUT OFF' : g.verdict === 'unknown' ? 'UNKNOWN' : 'connects',
          g.protocol ?? '-',
          g.suite ?? '-',
          g.computers
            .slice(0, HOSTS_SHOWN)
            .map((h) => h.hostName)
            .join(', ') + (g.count > HOSTS_SHOWN ? `, +${g.count - HOSTS_SHOWN} more` : ''),
        ]),
      ),
    );
    const unsure = c.byAgentVersion.filter((g) => g.verdict !== 'connects');
    if (unsure.length > 0) {
      out.push('');
      for (const g of unsure) out.push(`  ${g.agentVersion || '(none reported)'}: ${g.reason}`);
    }
  }
  // preflightComputers' notes: cut-off and unknown counts, then the policy's warning.
  if (c.notes.length > 0) {
    out.push('');
    for (const n of c.notes) out.push(`Note: ${n}`);
  }
  return `${out.join('\n')}\n`;
}
