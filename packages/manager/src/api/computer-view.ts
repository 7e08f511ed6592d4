import { COMPUTER_STATUSES, deriveComputerStatus } from '@palisade/core';
import { Type } from '@sinclair/typebox';
import type { ComputerDetail } from '../services/policy-service.js';
import { Nullable, SettingsView } from './schemas.js';
import { settingsView } from './settings-view.js';

/** A computer as the REST API shows it; see `computerView`. */
export const ComputerView = Type.Object(
  {
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
    agentUptimeSeconds: Nullable(Type.Number()),
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
    vmState: Nullable(
      Type.Union([Type.Literal('running'), Type.Literal('stopped')], {
        description: "from the agent's shutdown notice or the vmstate API; null when never reported",
      }),
    ),
    agentClockOffsetChangeMs: Nullable(
      Type.Number({ description: 'clock offset change since the previous heartbeat' }),
    ),
    offlineSince: Nullable(
      Type.Number({ description: 'epoch ms the offline sweep found the deadline passed; null while online' }),
    ),
    computerSettings: SettingsView,
  },
  {
    // Other features add members to this view (monitoring, TLS); a member missing here must still
    // reach clients rather than be dropped silently by the response serializer.
    additionalProperties: true,
  },
);

/**
 * A computer in Deep Security's shape (`ID`, `hostName`, `policyID`, `lastAgentCommunication`
 * in epoch ms, `computerStatus.agentStatusMessages`, `computerSettings` by name).
 * `updateInFlight`: from `computersUpdating` (store/operations-in-flight.ts), shown `Updating`.
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
    agentUptimeSeconds: c.uptimeSeconds,
    drivers: c.drivers,
    counters: c.counters,
    configurationFingerprint: { expected: c.expectedFingerprint, applied: c.appliedFingerprint },
    tlsProtocol: c.tlsProtocol,
    tlsCipherSuite: c.tlsCipherSuite,
    vmState: c.vmState,
    agentClockOffsetChangeMs: c.clockOffsetChangeMs,
    offlineSince: c.offlineSince,
    computerSettings: settingsView(d, { overridesOnly, inheritsNothing: false }),
  };
}
