import { COMPUTER_STATUSES, deriveComputerStatus } from '@palisade/core';
import { type TSchema, Type } from '@sinclair/typebox';
import { PalisadeError } from '../errors.js';
import type { ComputerDetail } from '../services/policy-service.js';
import { Nullable, SettingsView } from './schemas.js';
import { settingsView } from './settings-view.js';

/**
 * Deep Security's `expand` values for computers (the API reference's list for `GET /computers`).
 * Palisade has members for `computerStatus` and `computerSettings` (and so for `all`); the others
 * name modules and inventories Palisade does not have, and add nothing.
 */
export const COMPUTER_EXPAND_VALUES = [
  'none',
  'all',
  'computerStatus',
  'tasks',
  'securityUpdates',
  'computerSettings',
  'allSecurityModules',
  'antiMalware',
  'webReputation',
  'activityMonitoring',
  'firewall',
  'intrusionPrevention',
  'integrityMonitoring',
  'logInspection',
  'applicationControl',
  'SAP',
  'interfaces',
  'ESXSummary',
  'allVirtualMachineSummaries',
  'azureARMVirtualMachineSummary',
  'azureVMVirtualMachineSummary',
  'ec2VirtualMachineSummary',
  'noConnectorVirtualMachineSummary',
  'vmwareVMVirtualMachineSummary',
  'vcloudVMVirtualMachineSummary',
  'workspaceVirtualMachineSummary',
  'gcpVirtualMachineSummary',
] as const;
export type ComputerExpand = (typeof COMPUTER_EXPAND_VALUES)[number];

/** The members each expansion adds; members not listed here are always shown (Deep Security's "none"). */
const STATUS_MEMBERS = [
  'computerStatus',
  'agentClockOffsetMs',
  'agentUptimeSeconds',
  'hostUptimeSeconds',
  'drivers',
  'counters',
  'configurationFingerprint',
  'tlsProtocol',
  'tlsCipherSuite',
  'tlsCertificateType',
  'vmState',
  'agentClockOffsetChangeMs',
  'offlineSince',
] as const;
const EXPANSIONS: Partial<Record<ComputerExpand, readonly string[]>> = {
  computerStatus: STATUS_MEMBERS,
  computerSettings: ['computerSettings'],
};
const EXPANDABLE: ReadonlySet<string> = new Set(Object.values(EXPANSIONS).flat());

/** `?expand=` as Fastify parses it: absent, one value, or repeated (Deep Security's SDKs repeat it). */
export const ExpandQuery = Type.Optional(
  Type.Union([Type.String({ maxLength: 64 }), Type.Array(Type.String({ maxLength: 64 }), { maxItems: 32 })], {
    description: `what to include beside the basic members: ${COMPUTER_EXPAND_VALUES.join(', ')} (also comma-separated). Default: all`,
  }),
);

/**
 * The members `expand` asks for, or null for all of them. Absent means all (Palisade's answer
 * before expand existed, kept for its clients). Values may repeat the parameter or be
 * comma-separated; an unknown one is refused, naming the allowed ones.
 */
export function computerExpansion(expand: string | readonly string[] | undefined): ReadonlySet<string> | null {
  if (expand === undefined) return null;
  const values = (Array.isArray(expand) ? expand : [expand]).flatMap((v: string) => v.split(',')).map((v) => v.trim());
  const unknown = values.filter((v) => !(COMPUTER_EXPAND_VALUES as readonly string[]).includes(v));
  if (unknown.length > 0)
    throw new PalisadeError(
      'EXPAND_INVALID',
      `${unknown.map((u) => `"${u}"`).join(', ')}; allowed: ${COMPUTER_EXPAND_VALUES.join(', ')}`,
    );
  if (values.includes('all')) return null;
  return new Set(values.flatMap((v) => EXPANSIONS[v as ComputerExpand] ?? []));
}

/** A computer view with only the members `expand` asks for (see computerExpansion). */
export function expandComputer<T extends Record<string, unknown>>(
  view: T,
  members: ReadonlySet<string> | null,
): Partial<T> {
  if (members === null) return view;
  return Object.fromEntries(Object.entries(view).filter(([k]) => !EXPANDABLE.has(k) || members.has(k))) as Partial<T>;
}

const optionalIf = <T extends TSchema>(name: string, t: T) => (EXPANDABLE.has(name) ? Type.Optional(t) : t);

const computerMembers = {
  ID: Type.Integer(),
  hostName: Type.String(),
  displayName: Type.String(),
  platform: Type.String({ description: 'as the agent reports it (linux, win32, darwin)' }),
  agentVersion: Type.String(),
  policyID: Type.Integer(),
  lastAgentCommunication: Nullable(Type.Number({ description: 'epoch ms of the last heartbeat' })),
  lastIPUsed: Nullable(Type.String()),
  activatedAt: Type.Number({ description: 'epoch ms' }),
  computerStatus: Type.Object({
    agentStatus: Type.Union([Type.Literal('active'), Type.Literal('inactive')]),
    agentStatusMessages: Type.Array(Type.String({ enum: [...COMPUTER_STATUSES] })),
  }),
  agentClockOffsetMs: Nullable(Type.Number()),
  agentUptimeSeconds: Nullable(
    Type.Number({
      description: 'how long the agent itself had run at its last heartbeat, seconds; null: never said',
    }),
  ),
  hostUptimeSeconds: Nullable(
    Type.Number({ description: "the host's uptime (since it booted) at the agent's last heartbeat, seconds" }),
  ),
  drivers: Type.Array(
    Type.Object({ name: Type.String(), status: Type.String(), reason: Type.Optional(Type.String()) }),
  ),
  counters: Type.Record(Type.String(), Type.Number()),
  configurationFingerprint: Type.Object({
    expected: Nullable(Type.String({ description: 'what the manager wants the agent to run' })),
    applied: Nullable(Type.String({ description: 'what the agent last reported running' })),
  }),
  tlsProtocol: Nullable(Type.String()),
  tlsCipherSuite: Nullable(Type.String()),
  tlsCertificateType: Nullable(
    Type.Union([Type.Literal('ECDSA'), Type.Literal('RSA')], {
      description:
        "which of the agent port's certificates (ECDSA P-256, RSA-2048) the agent's last full TLS handshake used; a resumed session keeps it; null before the first",
    }),
  ),
  vmState: Nullable(
    Type.Union([Type.Literal('running'), Type.Literal('stopped')], {
      description: "from the agent's shutdown notice or the vmstate API; null when never reported",
    }),
  ),
  agentClockOffsetChangeMs: Nullable(Type.Number({ description: 'clock offset change since the previous heartbeat' })),
  offlineSince: Nullable(
    Type.Number({ description: 'epoch ms the offline sweep found the deadline passed; null while online' }),
  ),
  computerSettings: SettingsView,
};

/** A computer as the REST API shows it; see `computerView`. Members `expand` adds are optional. */
export const ComputerView = Type.Object(
  Object.fromEntries(Object.entries(computerMembers).map(([k, v]) => [k, optionalIf(k, v)])) as typeof computerMembers,
  {
    // Other features add members to this view (monitoring, TLS); a member missing here must still
    // reach clients rather than be dropped silently by the response serializer.
    additionalProperties: true,
  },
);

/**
 * A computer in Deep Security's shape (`ID`, `hostName`, `policyID`, `lastAgentCommunication`
 * in epoch ms, `computerStatus.agentStatusMessages`, `computerSettings` by name).
 * `updateInFlight`: from `OperationRepository.computersUpdating`, shown `Updating`.
 */
export function computerView(d: ComputerDetail, now: number, overridesOnly = false, updateInFlight = false) {
  const c = d.record;
  const status = deriveComputerStatus({
    // A computer record exists only once its agent activated (`Activation Required` has no row yet).
    activated: true,
    deactivated: c.state === 'deactivated',
    offlineDeadline: c.offlineDeadline,
    now,
    vmStopped: c.vmState === 'stopped',
    expectedFingerprint: c.expectedFingerprint,
    appliedFingerprint: c.appliedFingerprint,
    updateInFlight,
  });
  return {
    ID: c.id,
    hostName: c.hostName,
    displayName: '',
    platform: c.platform,
    agentVersion: c.agentVersion,
    policyID: c.policyId,
    lastAgentCommunication: c.lastCommunication,
    lastIPUsed: c.lastIp,
    activatedAt: c.activatedAt,
    computerStatus: {
      agentStatus: c.state === 'deactivated' ? ('inactive' as const) : ('active' as const),
      agentStatusMessages: [status],
    },
    agentClockOffsetMs: c.clockOffsetMs,
    agentUptimeSeconds: c.agentUptimeSeconds,
    hostUptimeSeconds: c.uptimeSeconds,
    drivers: c.drivers,
    counters: c.counters,
    configurationFingerprint: { expected: c.expectedFingerprint, applied: c.appliedFingerprint },
    tlsProtocol: c.tlsProtocol,
    tlsCipherSuite: c.tlsCipherSuite,
    tlsCertificateType: c.tlsCertificateType,
    vmState: c.vmState,
    agentClockOffsetChangeMs: c.clockOffsetChangeMs,
    offlineSince: c.offlineSince,
    computerSettings: settingsView(d, { overridesOnly, inheritsNothing: false }),
  };
}
