import { isTlsPolicyName, TLS_POLICY_NAMES, type TlsPolicyName, tlsPolicy } from '@palisade/core';
import {
  DEFAULT_LEGACY_TLS_PORT,
  TLS_POLICY_POLL_MS,
  TLS_POLICY_SETTING,
} from '../agent-endpoint/agent-endpoint-tls.js';
import { formatTlsPreflightReport, tlsPreflightReport } from '../services/tls-preflight-report.js';
import { parseOptions, UsageError } from './arguments.js';
import { openCommandStore, STORE_OPTIONS } from './command-store.js';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

/** `--tls-policy` / `--policy` value, or a usage error naming the valid ones. */
export function parseTlsPolicyOption(option: string, value: string): TlsPolicyName {
  if (!isTlsPolicyName(value))
    throw new UsageError(`--${option} "${value}" is not a TLS policy; valid names: ${TLS_POLICY_NAMES.join(', ')}`);
  return value;
}

/**
 * `palisade-manager tls check [--policy NAME] [--json]`: the preflight for a policy (default:
 * the stored one, else modern) — what each agent version of the table and each enrolled
 * computer would negotiate or why it would be cut off. `--json` prints what
 * `GET /api/tls/preflight` returns.
 */
export async function tlsCheck(args: string[], out: Out): Promise<number> {
  const v = parseOptions('tls check', args, {
    ...STORE_OPTIONS,
    policy: { type: 'string' },
    json: { type: 'boolean' },
  });
  const given = v.policy === undefined ? undefined : parseTlsPolicyOption('policy', v.policy);
  const { store } = await openCommandStore(v, out.stderr);
  try {
    const stored = await store.systemSettings.get(TLS_POLICY_SETTING);
    const current = stored !== null && isTlsPolicyName(stored) ? stored : 'modern';
    const policy = given ?? current;
    const report = tlsPreflightReport(policy, await store.computers.list());
    if (v.json) {
      out.stdout(`${JSON.stringify(report, null, 2)}\n`);
    } else {
      out.stdout(
        `Stored policy in force: ${stored === null ? 'none stored, so modern (the default)' : `"${stored}"`}\n\n`,
      );
      out.stdout(formatTlsPreflightReport(report, DEFAULT_LEGACY_TLS_PORT));
    }
    return 0;
  } finally {
    await store.close();
  }
}

/**
 * `palisade-manager tls set --policy NAME`: writes the stored policy without a running manager
 * (or for all nodes at once). Running managers re-read it every {@link TLS_POLICY_POLL_MS}.
 */
export async function tlsSet(args: string[], out: Out): Promise<number> {
  const v = parseOptions('tls set', args, { ...STORE_OPTIONS, policy: { type: 'string' } });
  if (v.policy === undefined)
    throw new UsageError(`tls set: --policy NAME is required (${TLS_POLICY_NAMES.join(', ')})`);
  const policy = parseTlsPolicyOption('policy', v.policy);
  const { store } = await openCommandStore(v, out.stderr);
  try {
    const before = await store.systemSettings.get(TLS_POLICY_SETTING);
    await store.systemSettings.set(TLS_POLICY_SETTING, policy);
    const p = tlsPolicy(policy);
    out.stderr(
      `palisade-manager: agent endpoint TLS policy "${before ?? 'modern (default, not stored)'}" → "${policy}"; ` +
        `running managers apply it within ${TLS_POLICY_POLL_MS / 1000} s, a starting one at once\n`,
    );
    if (p.warning) out.stderr(`palisade-manager: warning: ${p.warning}\n`);
    out.stdout(`${policy}\n`);
    return 0;
  } finally {
    await store.close();
  }
}
