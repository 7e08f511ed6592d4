import type { ComputerRecord, HeartbeatWrite, Repositories } from '../store/store.js';

/**
 * Stores a heartbeat's row the way an agent reporting `over.appliedFingerprint` (default: what
 * the manager expects) would, without events; other fields from the computer as stored.
 */
export async function recordTestHeartbeat(
  store: Repositories,
  computerId: number,
  over: Partial<Omit<HeartbeatWrite, 'computerId'>> = {},
): Promise<ComputerRecord> {
  const c = await store.computers.get(computerId);
  if (!c) throw new Error(`no computer ${computerId}`);
  const t = over.now ?? Date.now();
  const { computer } = await store.computers.recordHeartbeat({
    computerId,
    now: t,
    offlineDeadline: t + 30 * 60_000,
    agentVersion: c.agentVersion,
    platform: c.platform,
    hostName: c.hostName,
    lastIp: '127.0.0.1',
    clockOffsetMs: 0,
    clockOffsetChangeMs: null,
    uptimeSeconds: 1,
    drivers: [],
    counters: {},
    appliedFingerprint: c.expectedFingerprint,
    tlsProtocol: null,
    tlsCipherSuite: null,
    highestEventSeq: 0,
    ...over,
  });
  return computer;
}
