import { randomUUID } from 'node:crypto';
import { decideActivation } from '@palisade/core';
import {
  AGENT_LISTENER_PATHS,
  type CommunicationState,
  HeartbeatReport,
  type HeartbeatRequest,
  type ListenerRefusal,
  ListenerRefusalReply,
  MAX_EVENTS_PER_HEARTBEAT,
  OperationResults,
  PROTOCOL_VERSION,
  schemaProblem,
} from '@palisade/protocol';
import { PalisadeError } from '../errors.js';
import type { HeartbeatIngest } from '../ingest.js';
import { agentActivationSettingsOf } from '../services/agent-activation-settings.js';
import type { ClaimedDial, Store, StoreTransaction } from '../store/store.js';
import { AgentListenerConnection, DialError, type DialFailure, dialableAddress } from './agent-listener-client.js';
import type { DialerIdentity } from './dialer-identity.js';
import type { DialerTlsOptions } from './dialer-tls.js';
import { agentListenerAllowList, listenerDialAddress } from './listener-address-policy.js';

/** What one manager-initiated exchange did. */
export interface DialOutcome {
  computerId: number;
  ok: boolean;
  /** When the dial started, epoch ms. */
  startedAt: number;
  /** `host:port` dialled; null when no address was known. */
  address: string | null;
  /** `cloned`: the report was refused as a copy of the computer's host's (AGENT_CLONED). */
  failure?: DialFailure | 'no-address' | 'address-refused' | 'deactivated' | 'busy' | 'cloned';
  error?: string;
  tlsProtocol?: string | null;
  tlsCipherSuite?: string | null;
  /** Report/results round trips (more than one when the agent's spool held more than one report carries). */
  exchanges: number;
  /** The exchange's `finish` was committed with its last results (the dialer need not release the claim). */
  finished?: boolean;
  eventsStored: number;
  operations: Array<{ id: number; type: string; status: 'succeeded' | 'failed' | 'ignored'; reason?: string }>;
  /** What the agent said it does after the exchange. */
  communication?: CommunicationState | undefined;
}

export interface ManagerExchangeDeps {
  store: Store;
  ingest: HeartbeatIngest;
  identity: DialerIdentity;
  requestTimeoutMs: number;
  now: () => number;
  /** The TLS the dial offers: the manager TLS policy in force (dialer-tls.ts); default `modern`. */
  tls?: DialerTlsOptions;
  /**
   * Written in the same unit of work as the last results when the exchange succeeds (the
   * dialer's release of its claim): one commit for both, and one wait less per dial.
   */
  finish?: (tx: StoreTransaction) => Promise<unknown>;
}

/** Most report/results round trips in one dial, as the agent bounds its own. */
const MAX_ROUNDS = 10;

/**
 * The manager drives the exchange the agent drives in the other direction (docs/architecture.md "The
 * heartbeat"), on one TLS connection to the agent's listener: ask for the report, ingest it
 * through the same path as a heartbeat on 4120, send the reply (acknowledged events,
 * operations), ingest the results. Repeats while the agent's spool held a full report.
 */
export async function runManagerExchange(target: ClaimedDial, deps: ManagerExchangeDeps): Promise<DialOutcome> {
  const startedAt = deps.now();
  const outcome: DialOutcome = {
    computerId: target.computerId,
    ok: false,
    startedAt,
    address: null,
    exchanges: 0,
    eventsStored: 0,
    operations: [],
  };
  if (target.state !== 'active') return { ...outcome, failure: 'deactivated', error: 'the computer is deactivated' };
  const port = target.listener?.port ?? target.defaultPort;
  const announced = target.listener?.address ?? null;
  const where = await listenerDialAddress(await agentListenerAllowList(deps.store), {
    announced,
    lastIp: target.lastIp,
    port,
  });
  if ('refusal' in where)
    return { ...outcome, failure: announced === null ? 'no-address' : 'address-refused', error: where.refusal };
  const host = where.address;
  const conn = new AgentListenerConnection(
    { host, port, certSerial: target.certSerial },
    deps.identity,
    deps.requestTimeoutMs,
    deps.tls,
  );
  outcome.address = conn.where;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const exchangeId = randomUUID();
      const ask: HeartbeatRequest = { protocolVersion: PROTOCOL_VERSION, exchangeId };
      const r = await conn.request<unknown>(AGENT_LISTENER_PATHS.heartbeatRequest, ask);
      const reportProblem = schemaProblem(HeartbeatReport, r.body);
      if (reportProblem)
        throw new DialError('invalid-reply', `${conn.where}: the report does not match the schema (${reportProblem})`);
      const report = r.body as HeartbeatReport;
      const computer = await deps.store.computers.get(target.computerId);
      if (computer?.state !== 'active')
        return { ...outcome, failure: 'deactivated', error: 'the computer was deactivated' };
      const ingested = await deps.ingest
        .ingestReport(computer, report, {
          initiatedBy: 'manager',
          // The address the socket reached, whatever name the agent announced.
          remoteIp: r.socket.remoteAddress ? dialableAddress(r.socket.remoteAddress) : host,
          tlsProtocol: r.tlsProtocol,
          tlsCipherSuite: r.tlsCipher,
          roundTripMs: r.roundTripMs,
        })
        .catch((e: unknown) => {
          if (e instanceof PalisadeError && e.code === 'AGENT_CLONED') return e;
          throw e;
        });
      if (ingested instanceof PalisadeError)
        return {
          ...outcome,
          failure: 'cloned',
          error: `${conn.where}: ${ingested.code}: ${ingested.message}; ${await tellClone(conn, exchangeId, ingested, computer.id, deps.store)}`,
        };
      outcome.tlsProtocol = r.tlsProtocol;
      outcome.tlsCipherSuite = r.tlsCipher;
      outcome.eventsStored += ingested.reply.eventsStored;
      const rr = await conn.request<unknown>(AGENT_LISTENER_PATHS.operations, { ...ingested.reply, exchangeId });
      const resultsProblem = schemaProblem(OperationResults, rr.body);
      if (resultsProblem)
        throw new DialError('invalid-reply', `${conn.where}: the results do not match the schema (${resultsProblem})`);
      const results = rr.body as OperationResults;
      if (results.exchangeId !== exchangeId)
        throw new DialError(
          'invalid-reply',
          `${conn.where}: results for exchange ${results.exchangeId}, expected ${exchangeId}`,
        );
      // The last round, unless the spool holds more: the claim's release commits with its results.
      const last = report.events.length < MAX_EVENTS_PER_HEARTBEAT || round === MAX_ROUNDS - 1;
      const finish = last ? deps.finish : undefined;
      const taken = await deps.ingest.ingestResults(computer, new Set(ingested.operationIds), results, finish);
      if (finish) outcome.finished = true;
      for (const res of results.results) {
        const accepted = taken.accepted.includes(res.id);
        outcome.operations.push({
          id: res.id,
          type: 'applyConfiguration',
          status: accepted ? res.status : 'ignored',
          ...(res.reason ? { reason: res.reason } : {}),
        });
      }
      outcome.communication = results.communication ?? report.communication;
      outcome.exchanges += 1;
      if (report.events.length < MAX_EVENTS_PER_HEARTBEAT) break;
    }
    outcome.ok = true;
    return outcome;
  } catch (e) {
    if (e instanceof DialError) return { ...outcome, failure: e.kind, error: e.message };
    if (e instanceof PalisadeError)
      return { ...outcome, failure: 'invalid-reply', error: `${conn.where}: ${e.code}: ${e.message}` };
    throw e;
  } finally {
    conn.close();
  }
}

/**
 * A report refused as a clone's (ingest.ts): the agent hears it on the exchange's connection,
 * as a heartbeat on 4120 would, with whether the settings let it become a computer of its own
 * (core's decideActivation, as the reactivation route decides; docs/deployment.md "Cloned
 * hosts"). One attempt; returns what happened, for the dial's error.
 */
async function tellClone(
  conn: AgentListenerConnection,
  exchangeId: string,
  refusal: PalisadeError,
  computerId: number,
  store: Store,
): Promise<string> {
  const decision = decideActivation(await agentActivationSettingsOf(store), { kind: 'cloned', originalId: computerId });
  const notice: ListenerRefusal = {
    protocolVersion: PROTOCOL_VERSION,
    exchangeId,
    code: 'AGENT_CLONED',
    message: (decision.action === 'refuse' ? decision.reason : refusal.message).slice(0, 1024),
    reactivate: decision.action !== 'refuse',
  };
  try {
    const r = await conn.request<unknown>(AGENT_LISTENER_PATHS.refused, notice);
    const problem = schemaProblem(ListenerRefusalReply, r.body);
    if (problem) return `its answer to the refusal does not match the schema (${problem})`;
    if ((r.body as ListenerRefusalReply).reactivating) return 'told the agent, which asks to be a computer of its own';
    return notice.reactivate ? 'told the agent, which does not ask' : `told the agent: ${notice.message}`;
  } catch (e) {
    return `could not tell the agent: ${(e as Error).message}`;
  }
}
