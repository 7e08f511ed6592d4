import { type AgentPlatform, isMacOs } from './effective-settings.js';
import type { AgentDirection, SecurityConfiguration } from './security-configuration.js';

/**
 * Who opens connections in each direction (spec "Configure communication directionality"):
 * the rules both sides follow, kept here so agent and manager cannot disagree about them.
 */

/** The agent heartbeats on its own in Agent Initiated and Bidirectional, never in Manager Initiated. */
export function agentSendsHeartbeats(direction: AgentDirection): boolean {
  return direction !== 'manager-initiated';
}

/**
 * The agent listens in Bidirectional and Manager Initiated, except on macOS, which supports
 * Agent Initiated only (the manager never sends it anything else; this is the agent's own guard).
 */
export function agentListens(communication: SecurityConfiguration['communication'], platform: AgentPlatform): boolean {
  return communication.listen && communication.direction !== 'agent-initiated' && !isMacOs(platform);
}

/**
 * How the manager reaches a computer, from the direction it wants (`expected`, the effective
 * setting) and the one the agent last said it follows (`applied`; null when the agent never
 * said, e.g. before its first report):
 *
 * - `scheduled`: the manager dials it every heartbeat interval. When either side says Manager
 *   Initiated: an agent that switched to it heartbeats no more (the manager must call it even
 *   if its confirmation was lost), and one switching away from it still waits to be called to
 *   hear the news.
 * - `on-demand`: the agent listens but heartbeats itself (Bidirectional); the manager dials
 *   only when it has something to do now (Check Status, Send Policy).
 * - `none`: the agent listens on no port (Agent Initiated); actions wait for its heartbeat.
 */
export type ManagerDialMode = 'scheduled' | 'on-demand' | 'none';

export function managerDialMode(expected: AgentDirection, applied: AgentDirection | null): ManagerDialMode {
  if (expected === 'manager-initiated' || applied === 'manager-initiated') return 'scheduled';
  const reachable = applied ?? expected;
  return reachable === 'bidirectional' ? 'on-demand' : 'none';
}
