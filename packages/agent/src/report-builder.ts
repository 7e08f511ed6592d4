import { hostname as osHostname, uptime as osUptime } from 'node:os';
import {
  type CommunicationState,
  type Driver,
  type HeartbeatReport,
  MAX_EVENTS_PER_HEARTBEAT,
  PROTOCOL_VERSION,
} from '@palisade/protocol';
import { AGENT_VERSION } from './agent-version.js';
import type { StateDir } from './state-dir.js';

export interface ReportInputs {
  /** Status of each enforcement engine; default none. */
  drivers?: () => Driver[];
  /** Round trip of the previous exchange, ms (the manager corrects the clock offset by half). */
  lastRoundTripMs?: number;
  /** What the agent does now (direction, listener); absent where nothing manages the listener (one-shot CLI). */
  communication?: CommunicationState;
  /** Counters of enforcement engines (the firewall's `firewall.<rule>.packets`/`.bytes`); default none. */
  counters?: Record<string, number>;
}

/**
 * The heartbeat report (docs/architecture.md "The heartbeat"): agent status with clock time, drivers, the
 * oldest unacknowledged events (at most one report's worth), counters and the applied
 * fingerprint. The same report goes out whichever side opened the connection: POSTed by the
 * agent, or returned when the manager asks for it on the listener.
 */
export function buildReport(state: StateDir, o: ReportInputs = {}): HeartbeatReport {
  const activation = state.activation();
  const spool = state.spool();
  const events = spool.pending(MAX_EVENTS_PER_HEARTBEAT);
  return {
    protocolVersion: PROTOCOL_VERSION,
    agent: {
      version: AGENT_VERSION,
      platform: process.platform,
      hostName: activation.hostName ?? osHostname(),
      uptimeSeconds: Math.floor(osUptime()),
      clockTime: Date.now(),
      ...(o.lastRoundTripMs !== undefined ? { lastRoundTripMs: o.lastRoundTripMs } : {}),
    },
    drivers: o.drivers?.() ?? [],
    events,
    counters: { ...state.counters(), ...o.counters, eventsSpooled: spool.size },
    configurationFingerprint: state.appliedConfiguration()?.fingerprint ?? null,
    ...(o.communication ? { communication: o.communication } : {}),
  };
}
