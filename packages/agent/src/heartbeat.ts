import {
  AGENT_PATHS,
  type CommunicationState,
  type Driver,
  HeartbeatReply,
  MAX_EVENTS_PER_HEARTBEAT,
  PROTOCOL_VERSION,
  ResultsReply,
  type UpgradeOrder,
} from '@palisade/protocol';
import type { TSchema } from '@sinclair/typebox';
import { AgentError } from './agent-error.js';
import type { EnforcementEngine } from './enforcement-engine.js';
import { firewallReport, withFirewallReport } from './firewall/firewall-report.js';
import { ManagerConnection, resolveManager } from './manager-client.js';
import { type ManagerAddress, managerCandidates } from './manager-url.js';
import { type OperationHooks, runOperations } from './operations-runner.js';
import { buildReport } from './report-builder.js';
import type { StateDir } from './state-dir.js';

export interface HeartbeatOutcome {
  computerId: number;
  tlsProtocol: string | null;
  tlsCipher: string | null;
  /** The exchange resumed the last TLS session instead of a full handshake. */
  tlsResumed: boolean;
  /** The key of the certificate the manager served (`ECDSA P-256`, `RSA 2048`). */
  tlsServerKey: string | null;
  eventsSent: number;
  eventsAcknowledgedThrough: number;
  operations: Array<{ id: number; type: string; status: 'succeeded' | 'failed'; reason?: string }>;
  /** Results were delivered on the same connection as the heartbeat. */
  resultsOnSameConnection: boolean | null;
  /** Agent clock minus manager clock, corrected by half the round trip, ms. */
  clockOffsetMs: number;
  heartbeatIntervalSeconds: number;
  /** Exchanges it took (more than one when the spool held more than one heartbeat carries). */
  exchanges: number;
  /** An upgrade the manager asked for (upgrade.ts acts on it). */
  upgrade?: UpgradeOrder;
}

export interface HeartbeatOptions {
  /** Force the protocol range (tests and troubleshooting); default: best both sides support. */
  tls?: { minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3' };
  /** Status of each enforcement engine, asked for at every report; default none. */
  drivers?: () => Driver[];
  /**
   * The running agent's communication (communication.ts): reported with each report and with
   * the results, and told of each configuration applied so its listener follows. Absent (the
   * one-shot CLI command) the reports say nothing about it and the manager keeps what it knew.
   */
  communication?: { state(): CommunicationState } & OperationHooks;
  /** Applies configurations and reports its driver and counters; default: the nftables firewall. */
  engine?: EnforcementEngine;
}

/**
 * One agent-initiated exchange (docs/architecture.md "The heartbeat"): report status, events, counters
 * and the applied fingerprint; drop the events the manager acknowledged; run the operations it
 * returned and post their results on the same connection before closing. Repeats at once while
 * the spool holds more events than one heartbeat carries.
 */
export async function heartbeat(state: StateDir, o: HeartbeatOptions = {}): Promise<HeartbeatOutcome> {
  return state.withLock(async () => {
    const activation = state.activation();
    const creds = state.credentials();
    // The manager addresses its configuration lists, in order, then the one it activated with
    // (docs/scale-out.md): a node that cannot be reached hands the exchange to the next.
    const candidates = managerCandidates(activation.manager, state.appliedConfiguration()?.configuration);
    let which = 0;
    // Resume the last TLS session when there is one (docs/tls.md "Session resumption"); the
    // manager checks the certificate it was made with on every request all the same. Nodes
    // sharing a database share the ticket keys, so a session resumes on any of them.
    const session = state.tlsSession();
    const connect = (m: ManagerAddress) =>
      new ManagerConnection(m, creds, { ...o.tls, ...(session ? { session } : {}) });
    let conn: ManagerConnection | undefined;
    /**
     * The report's POST, failing over: a node that refuses, times out, breaks the connection or
     * cannot be resolved passes the exchange to the next address, after a random pause so that a
     * fleet whose node died does not reach the next one in the same instant.
     */
    const send = async <S extends TSchema>(path: string, body: unknown, schema: S) => {
      for (;;) {
        try {
          if (!conn) {
            await resolveManager(candidates[which]!.host);
            conn = connect(candidates[which]!);
          }
          return await conn.request('POST', path, body, schema);
        } catch (e) {
          if (!failoverWorthy(e) || which + 1 >= candidates.length) throw e;
          conn?.close();
          conn = undefined;
          which += 1;
          await new Promise((r) => setTimeout(r, Math.floor(Math.random() * FAILOVER_JITTER_MS)));
        }
      }
    };
    const spool = state.spool();
    const outcome: HeartbeatOutcome = {
      computerId: activation.computerId,
      tlsProtocol: null,
      tlsCipher: null,
      tlsResumed: false,
      tlsServerKey: null,
      eventsSent: 0,
      eventsAcknowledgedThrough: spool.acknowledgedThrough,
      operations: [],
      resultsOnSameConnection: null,
      clockOffsetMs: 0,
      heartbeatIntervalSeconds: state.heartbeatIntervalSeconds() ?? 600,
      exchanges: 0,
    };
    // The manager corrects our clock offset by half a round trip: the last one measured, here
    // or (for the first exchange of this run) by the previous run.
    let lastRoundTripMs = state.lastContact()?.roundTripMs;
    // Firewall driver and counters (re-applying the table if it went missing, e.g. after a reboot).
    const firewall = await firewallReport(state, o.engine);
    try {
      let full: boolean;
      do {
        // Enforcement engines report through `o.drivers` as they arrive (listener, firewall).
        const report = await buildReport(
          state,
          withFirewallReport(firewall, {
            ...(o.drivers ? { drivers: o.drivers } : {}),
            ...(lastRoundTripMs !== undefined ? { lastRoundTripMs } : {}),
            ...(o.communication ? { communication: o.communication.state() } : {}),
          }),
        );
        const events = report.events;
        const sentAt = Date.now();
        const r = await send(AGENT_PATHS.heartbeat, report, HeartbeatReply);
        const exchange = conn!;
        const receivedAt = Date.now();
        lastRoundTripMs = Math.max(0, receivedAt - sentAt);
        const reply = r.body;
        if (reply.computerId !== activation.computerId)
          throw new AgentError(
            'MANAGER_REPLY_INVALID',
            `the heartbeat reply is for computer ${reply.computerId}, this agent is computer ${activation.computerId}`,
          );
        // Kept before anything else: the next exchange must present it.
        if (reply.continuity) state.saveContinuity(reply.continuity);
        outcome.exchanges += 1;
        if (reply.upgrade) outcome.upgrade = reply.upgrade;
        outcome.tlsProtocol = r.tlsProtocol;
        outcome.tlsCipher = r.tlsCipher;
        outcome.tlsResumed = r.tlsResumed;
        // A resumed connection carries no certificate (RFC 8446 §2.2): it is the one of the
        // handshake that made the session.
        outcome.tlsServerKey = r.tlsServerKey ?? (r.tlsResumed ? (state.lastContact()?.tlsServerKey ?? null) : null);
        outcome.eventsSent += events.length;
        // A full batch the manager took whole: the spool may hold more. One it acknowledged in
        // part means the manager defers this computer's events (its event rate, docs/security.md
        // "Event floods"): the rest waits for the next heartbeat instead of being sent again now.
        full =
          events.length === MAX_EVENTS_PER_HEARTBEAT &&
          reply.eventsAckedThrough >= events.reduce((m, e) => Math.max(m, e.seq), 0);
        // NTP-style: the manager stamped serverTime somewhere in our round trip; assume the middle.
        outcome.clockOffsetMs = Math.round((sentAt + receivedAt) / 2 - reply.serverTime);
        outcome.heartbeatIntervalSeconds = reply.heartbeatIntervalSeconds;
        state.saveHeartbeatInterval(reply.heartbeatIntervalSeconds);
        state.saveCurrentPolicy(reply);
        spool.acknowledge(reply.eventsAckedThrough);
        outcome.eventsAcknowledgedThrough = spool.acknowledgedThrough;

        if (reply.operations.length > 0) {
          const results = await runOperations(state, reply.operations, o.communication ?? {}, o.engine);
          // Results go back on the heartbeat's connection (its exchangeId binds them): no failover.
          const rr = await exchange.request(
            'POST',
            AGENT_PATHS.results,
            {
              protocolVersion: PROTOCOL_VERSION,
              exchangeId: reply.exchangeId,
              results,
              ...(o.communication ? { communication: o.communication.state() } : {}),
            },
            ResultsReply,
          );
          outcome.resultsOnSameConnection = rr.socket === r.socket;
          for (const res of results) {
            outcome.operations.push({
              id: res.id,
              type: 'applyConfiguration',
              status: res.status,
              ...(res.reason ? { reason: res.reason } : {}),
            });
          }
        }
        // A full batch means the spool may hold more: send the rest now, bounded per run.
      } while (full && spool.size > 0 && outcome.exchanges < 100);
      const used = conn as ManagerConnection | undefined;
      if (used?.session && !used.session.equals(session ?? Buffer.alloc(0))) state.saveTlsSession(used.session);
      state.bumpCounter('heartbeatsSent');
      state.saveLastContact({
        time: Date.now(),
        ok: true,
        ...(outcome.tlsProtocol ? { tlsProtocol: outcome.tlsProtocol } : {}),
        ...(outcome.tlsCipher ? { tlsCipher: outcome.tlsCipher } : {}),
        ...(outcome.tlsServerKey ? { tlsServerKey: outcome.tlsServerKey } : {}),
        tlsResumed: outcome.tlsResumed,
        clockOffsetMs: outcome.clockOffsetMs,
        ...(lastRoundTripMs !== undefined ? { roundTripMs: lastRoundTripMs } : {}),
      });
      return outcome;
    } catch (e) {
      // A refused certificate or a failed handshake may come from what the session carries
      // (another identity, a context the manager left): the next exchange starts afresh.
      if (
        e instanceof AgentError &&
        (e.code === 'MANAGER_TLS_FAILED' || e.code === 'MANAGER_REFUSED') &&
        e.managerCode !== 'MANAGER_BUSY'
      )
        state.forgetTlsSession();
      state.bumpCounter('heartbeatsFailed');
      state.saveLastContact({ time: Date.now(), ok: false, error: (e as Error).message });
      throw e;
    } finally {
      conn?.close();
    }
  });
}

/** The longest pause before trying the next manager address, ms. */
const FAILOVER_JITTER_MS = 1_000;

/**
 * Failures that say nothing about this agent, only about the node or the way to it: another
 * node may serve the exchange. A manager that answered (MANAGER_REFUSED: a 4xx with a reason)
 * would answer the same from every node, except when it says it is unavailable (503).
 */
function failoverWorthy(e: unknown): boolean {
  if (!(e instanceof AgentError)) return false;
  if (e.code === 'MANAGER_UNREACHABLE' || e.code === 'MANAGER_TLS_FAILED' || e.code === 'MANAGER_NAME_UNRESOLVED')
    return true;
  return e.code === 'MANAGER_REFUSED' && /HTTP 50[23]\b|\b50[23]\b/.test(e.message);
}
