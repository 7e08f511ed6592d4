import { isTlsPolicyName, TLS_POLICY_NAMES, type TlsPolicyName } from '@palisade/core';
import {
  type AgentEndpointTls,
  DEFAULT_LEGACY_TLS_PORT,
  TLS_POLICY_SETTING,
  type TlsPolicySource,
} from '../agent-endpoint/agent-endpoint-tls.js';
import { PalisadeError } from '../errors.js';
import type { NewAuditEvent, Store, StoreTransaction } from '../store/store.js';
import { type TlsPreflightReport, tlsPreflightReport } from './tls-preflight-report.js';

/** A policy name as the API or CLI gave it, checked: TLS_POLICY_UNKNOWN lists the valid ones. */
export function tlsPolicyName(value: string): TlsPolicyName {
  if (!isTlsPolicyName(value))
    throw new PalisadeError('TLS_POLICY_UNKNOWN', `"${value}"; valid names: ${TLS_POLICY_NAMES.join(', ')}`);
  return value;
}

/**
 * The agent endpoint's TLS policy as a system setting (docs/tls.md): the one in force, changing
 * it (applied to the running listeners at once, then stored with its audit row in one
 * transaction), and the preflight. Without `agentTls` (no live agent endpoint) a change is only
 * stored, and applies when a manager starts or re-reads it.
 */
export class TlsPolicyService {
  constructor(
    private readonly store: Store,
    private readonly agentTls: AgentEndpointTls | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async current(): Promise<{ name: TlsPolicyName; source: TlsPolicySource }> {
    if (this.agentTls) return { name: this.agentTls.policy, source: this.agentTls.policySource };
    const stored = await this.store.systemSettings.get(TLS_POLICY_SETTING);
    return stored !== null && isTlsPolicyName(stored)
      ? { name: stored, source: 'stored' }
      : { name: 'modern', source: 'default' };
  }

  /** The legacy listener: its bound port while open (else null), and the port it opens on. */
  legacyListener(): { port: number | null; configuredPort: number } {
    return {
      port: this.agentTls?.legacyPort ?? null,
      configuredPort: this.agentTls?.configuredLegacyPort ?? DEFAULT_LEGACY_TLS_PORT,
    };
  }

  /** Changes the policy; returns whether it applies now (a live endpoint) or at the next start. */
  async change(value: string, actor: string): Promise<{ appliedNow: boolean }> {
    const name = tlsPolicyName(value);
    const audit = async (tx: StoreTransaction, previous: TlsPolicyName) => {
      if (previous === name) return;
      const row: NewAuditEvent = {
        time: this.now(),
        actor,
        action: 'system.setting',
        targetType: 'system',
        targetId: null,
        setting: TLS_POLICY_SETTING,
        oldValue: previous,
        newValue: name,
      };
      await tx.audit.insert([row]);
    };
    if (this.agentTls) {
      await this.agentTls.set(name, actor, audit);
      return { appliedNow: true };
    }
    const previous = (await this.current()).name;
    await this.store.transaction(async (tx) => {
      await tx.systemSettings.set(TLS_POLICY_SETTING, name);
      await audit(tx, previous);
    });
    return { appliedNow: false };
  }

  /** What `value` (default: the policy in force) admits and cuts off, enrolled computers included. */
  async preflight(value?: string): Promise<TlsPreflightReport> {
    const name = value === undefined ? (await this.current()).name : tlsPolicyName(value);
    return tlsPreflightReport(name, await this.store.computers.list());
  }
}
