import { hostname as osHostname, uptime as osUptime } from 'node:os';
import { configurationFingerprint, type SecurityConfiguration } from '@palisade/core';
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
  /** When the agent started, epoch ms; default: the running daemon's start, else this process's. */
  startedAt?: number;
}

/**
 * The fingerprint of the configuration applied here, computed now from the configuration itself:
 * the stored fingerprint is never taken on trust, so a configuration file edited on disk (its
 * fingerprint or its rules) is reported as what it is, and the manager sends its own again.
 */
export async function appliedFingerprint(state: StateDir): Promise<string | null> {
  const applied = state.appliedConfiguration();
  return applied ? configurationFingerprint(applied.configuration as SecurityConfiguration) : null;
}

/**
 * The heartbeat report (docs/architecture.md "The heartbeat"): agent status with clock time, drivers, the
 * oldest unacknowledged events (at most one report's worth), counters and the applied
 * fingerprint. The same report goes out whichever side opened the connection: POSTed by the
 * agent, or returned when the manager asks for it on the listener.
 */
export async function buildReport(state: StateDir, o: ReportInputs = {}): Promise<HeartbeatReport> {
  const activation = state.activation();
  const spool = state.spool();
  const events = spool.pending(MAX_EVENTS_PER_HEARTBEAT);
  const [continuity, continuityPrevious] = state.continuityTokens();
  return {
    protocolVersion: PROTOCOL_VERSION,
    agent: {
      version: AGENT_VERSION,
      platform: process.platform,
      hostName: activation.hostName ?? osHostname(),
      uptimeSeconds: Math.floor(osUptime()),
      agentUptimeSeconds: Math.max(0, Math.floor((Date.now() - (o.startedAt ?? agentStartedAt(state))) / 1000)),
      clockTime: Date.now(),
      ...(o.lastRoundTripMs !== undefined ? { lastRoundTripMs: o.lastRoundTripMs } : {}),
    },
    drivers: o.drivers?.() ?? [],
    events,
    counters: { ...state.counters(), ...o.counters, eventsSpooled: spool.size },
    configurationFingerprint: await appliedFingerprint(state),
    ...(o.communication ? { communication: o.communication } : {}),
    // The continuity token of the last reply, whichever side dialled (docs/deployment.md "Cloned hosts").
    ...(continuity ? { continuity } : {}),
    ...(continuity && continuityPrevious ? { continuityPrevious } : {}),
  };
}

/**
 * When the agent started: the running daemon's start (it writes `daemon.lock` when it claims the
 * state directory, so a one-shot `heartbeat` beside it reports the daemon's uptime), else this
 * process's own.
 */
function agentStartedAt(state: StateDir): number {
  return state.daemonStartedAt() ?? Date.now() - process.uptime() * 1000;
}
