import { deriveComputerStatus } from '@palisade/core';
import type { ComputerRecord } from '../store/store.js';

/**
 * A computer as the REST API shows it, in Deep Security's shape (`ID`, `hostName`,
 * `policyID`, `lastAgentCommunication` in epoch ms, `computerStatus.agentStatusMessages`).
 */
export function computerView(c: ComputerRecord, now: number) {
  const status = deriveComputerStatus({
    activated: true,
    deactivated: c.state === 'deactivated',
    offlineDeadline: c.offlineDeadline,
    now,
    vmStopped: c.vmState === 'stopped',
    expectedFingerprint: c.expectedFingerprint,
    appliedFingerprint: c.appliedFingerprint,
    updateInFlight: false,
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
      agentStatus: c.state === 'deactivated' ? 'inactive' : 'active',
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
  };
}
