import {
  clockOffsetMs,
  continuityOf,
  DEFAULT_EVENT_RATE,
  type EventBucket,
  type EventRate,
  heartbeatContinuity,
  jitteredDelayMs,
  offlineDeadline,
  takeEvents,
} from '@palisade/core';
import {
  AGENT_PACKAGE_FILE,
  AGENT_PATHS,
  AGENT_UPGRADE_EVENT,
  type AgentEvent,
  type CommunicationState,
  type HeartbeatReply,
  type HeartbeatReport,
  type OperationResults,
  PROTOCOL_VERSION,
  UPGRADE_OUTCOMES,
  type UpgradeOrder,
  type UpgradeOutcome,
} from '@palisade/protocol';
import type { Logger } from 'pino';
import { PalisadeError } from './errors.js';
import { duplicateComputerAlert, type EndedUpgrade } from './monitor/alert-rules.js';
import type { HeartbeatMonitor } from './monitor/heartbeat-monitor.js';
import { hashSecret, randomToken } from './secrets.js';
import type { ConfigurationService, EffectiveConfiguration } from './services/configuration-service.js';
import { GroupCommit } from './store/group-commit.js';
import type {
  AgentComputerRecord,
  AlertChange,
  ComputerRecord,
  NewComputer,
  ReportingComputer,
  Repositories,
  Store,
  StoreTransaction,
  TlsCertificateType,
  TransactionOptions,
} from './store/store.js';

/** How a report arrived: which side dialled, from where, over what TLS. */
export interface ExchangeTransport {
  /** `agent`: the agent dialled the heartbeat port; `manager`: the dialer called the agent's listener. */
  initiatedBy: 'agent' | 'manager';
  /** The agent's address: the connection's source, or the address the manager dialled. */
  remoteIp: string | null;
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  /**
   * The certificate the manager served, when this connection made a full handshake on the agent
   * endpoint; absent or null otherwise (resumed session, the dialer's calls): the stored one stays.
   */
  tlsCertificateType?: TlsCertificateType | null;
  /**
   * Round trip around the report, ms, when the manager measured it (it asked for the report);
   * absent: the agent's own figure from its previous exchange (`agent.lastRoundTripMs`).
   */
  roundTripMs?: number;
}

/**
 * Who a report is from: the computer as its transport read it already (the dialer's, which
 * dialled that computer), or the certificate serial the agent presented on the agent port, whose
 * computer the report's own unit of work reads and checks ({@link activeHolder}) — so that a
 * heartbeat's authentication costs no transaction of its own, and a computer deactivated while
 * its report waited for the commit is refused, not half-stored.
 */
export type ReportFrom = ReportingComputer | { readonly certSerial: string };

/**
 * The computer holding certificate `serial` (`found`, read by the caller), refused unless it is
 * active: a deleted computer's certificate, or one a reactivation replaced, is revoked; any other
 * unknown one is not recognized.
 */
export async function activeHolder<C extends { state: 'active' | 'deactivated' }>(
  repos: Pick<Repositories, 'computers'>,
  serial: string,
  found: C | null,
): Promise<C> {
  if (!found) {
    if (await repos.computers.isRevokedSerial(serial)) throw new PalisadeError('CERTIFICATE_REVOKED');
    throw new PalisadeError('CERTIFICATE_NOT_RECOGNIZED', `serial ${serial}`);
  }
  if (found.state !== 'active') throw new PalisadeError('CERTIFICATE_REVOKED');
  return found;
}

/** A stored report and what to send back; the transport adds its `exchangeId`. */
export interface IngestedReport {
  reply: Omit<HeartbeatReply, 'exchangeId'>;
  /** The operations handed out in this reply: results are accepted for these only. */
  operationIds: number[];
  effective: EffectiveConfiguration;
}

export interface HeartbeatIngestDeps {
  store: Store;
  configurations: ConfigurationService;
  heartbeatIntervalSeconds: number;
  logger: Logger;
  /** Alerts and power state from each report and operation result. */
  monitor?: HeartbeatMonitor | undefined;
  /** Keep the dialer's schedule (which side calls whom next). Default true; false: nothing is scheduled. */
  scheduleDials?: boolean;
  /** Told how long each heartbeat's store transaction took, seconds (`GET /metrics`). */
  observeStore?: ((seconds: number) => void) | undefined;
  /**
   * Commit concurrent reports together (store/group-commit.ts): one commit, one fsync, for all
   * the reports that arrive while one is being stored. Default true; false: a commit each.
   */
  groupCommit?: boolean;
  /** Each computer's event budget (`--event-rate`, `--event-burst`). Default `DEFAULT_EVENT_RATE`. */
  eventRate?: EventRate | undefined;
  /** Told how many events of a report its computer's budget deferred (metrics). */
  onEventsDeferred?: ((count: number) => void) | undefined;
  /**
   * How long an upgrade order may stay `sent` with no outcome before it fails, ms. Default
   * `defaultUpgradeOrderLifeMs(heartbeatIntervalSeconds)`.
   */
  upgradeOrderLifeMs?: number | undefined;
  now?: () => number;
}

/**
 * The one ingest path for heartbeats, whichever side dialled (docs/architecture.md "One ingest
 * path"): the agent endpoint on 4120 and the
 * dialer that calls agents' listeners hand every report and every result here, so events,
 * status, the offline deadline, alerts, expected fingerprints and operations follow the same
 * rules in all three directions. Transports only authenticate, carry bytes and bind results
 * to their exchange.
 *
 * A report is one unit of work, and so is a body of results: everything they change commits
 * together or not at all. Reports arriving together share one commit (group commit, one fsync
 * on SQLite for many); none is answered before the commit that carries it.
 */
export class HeartbeatIngest {
  private readonly now: () => number;
  private readonly scheduling: boolean;
  private readonly eventRate: EventRate;
  /** Each computer's event budget on this node (a node's own: several nodes each grant it). */
  private readonly eventBuckets = new Map<number, EventBucket>();
  /** When deferred events were last logged per computer, and how many were deferred since. */
  private readonly deferralsLogged = new Map<number, { at: number; since: number }>();
  /**
   * Agents (by certificate serial: what a heartbeat knows before its unit reads the computer)
   * whose last continuity rotation on this node was answered before its commit was on stable
   * storage, until it is (`reportSync`): the mark of that rotation, so an older sync's end never
   * clears a newer one.
   */
  private readonly rotationsAtRisk = new Map<string, object>();

  /** Shared commits for reports, or null when each report commits alone. */
  readonly commits: GroupCommit | null;
  /** See `HeartbeatIngestDeps.upgradeOrderLifeMs`. */
  readonly upgradeOrderLifeMs: number;

  constructor(private readonly deps: HeartbeatIngestDeps) {
    this.now = deps.now ?? Date.now;
    this.upgradeOrderLifeMs = deps.upgradeOrderLifeMs ?? defaultUpgradeOrderLifeMs(deps.heartbeatIntervalSeconds);
    this.scheduling = deps.scheduleDials ?? true;
    this.eventRate = deps.eventRate ?? DEFAULT_EVENT_RATE;
    this.commits = (deps.groupCommit ?? true) ? new GroupCommit(deps.store) : null;
  }

  /** Group commits made and the units of work they carried (`GET /metrics`); null without group commit. */
  get groupCommits(): { commits: number; units: number } | null {
    return this.commits?.stats ?? null;
  }

  /**
   * Runs `fn` as one unit of work: in the shared group commit when there is one (a savepoint of
   * a transaction that carries other units, settled only once that commits), else in a
   * transaction of its own. For the writes that go with an exchange — its report, its results,
   * the dialer's claim and release — so that many exchanges pay one commit (one fsync) together.
   */
  unit<T>(fn: (tx: StoreTransaction) => Promise<T>, o?: TransactionOptions): Promise<T> {
    return this.commits ? this.commits.run(fn, o) : this.deps.store.transaction(fn, o);
  }

  get heartbeatIntervalSeconds(): number {
    return this.deps.heartbeatIntervalSeconds;
  }

  private checkProtocol(v: number): void {
    if (v !== PROTOCOL_VERSION)
      throw new PalisadeError('PROTOCOL_VERSION_UNSUPPORTED', `got ${v}, this manager speaks ${PROTOCOL_VERSION}`);
  }

  /**
   * The events of a report the computer's budget admits (core/event-budget.ts), a prefix in the
   * agent's order: the agent numbers its spool in order, so acknowledging through the last
   * admitted one leaves the rest in its spool, to be sent again later. Deferred events are
   * counted (`palisade_events_deferred_total`) and logged at most once a minute per computer.
   */
  private admitEvents(computer: ReportingComputer, events: AgentEvent[], t: number): AgentEvent[] {
    if (events.length === 0) return events;
    const { granted, bucket } = takeEvents(this.eventBuckets.get(computer.id), t, events.length, this.eventRate);
    this.eventBuckets.set(computer.id, bucket);
    if (granted === events.length) return events;
    const deferred = events.length - granted;
    this.deps.onEventsDeferred?.(deferred);
    const noted = this.deferralsLogged.get(computer.id);
    if (noted === undefined || t - noted.at >= 60_000) {
      this.deps.logger.warn(
        {
          computerId: computer.id,
          hostName: computer.hostName,
          deferred: deferred + (noted?.since ?? 0),
          ...this.eventRate,
        },
        'events: computer over its event rate; events beyond it are not acknowledged (the agent sends them again later)',
      );
      this.deferralsLogged.set(computer.id, { at: t, since: 0 });
    } else noted.since += deferred;
    return events.slice(0, granted);
  }

  /** When a manager-initiated computer is called next: one interval after this contact, jittered. */
  private nextScheduled(t: number): number {
    return t + jitteredDelayMs(this.deps.heartbeatIntervalSeconds);
  }

  /**
   * Stores a report in one transaction — events idempotently, status, the offline deadline,
   * the expected fingerprint, the monitor's alerts, the dialer's schedule, the operation the
   * agent must run — and returns the reply. The report's own write comes first and locks the
   * computer's row; only then is what it should run read. A policy change committing meanwhile
   * either waits for that row or is seen by the read, so the expected fingerprint written here
   * is never older than the policies (expected-fingerprints.ts writes the same column).
   * `from` a certificate serial: the computer is read and checked first, in the same unit.
   */
  async ingestReport(from: ReportFrom, report: HeartbeatReport, transport: ExchangeTransport): Promise<IngestedReport> {
    this.checkProtocol(report.protocolVersion);
    const t = this.now();
    const offset = clockOffsetMs(report.agent.clockTime, t, transport.roundTripMs ?? report.agent.lastRoundTripMs);
    const txStart = performance.now();
    let computer = 'id' in from ? from : undefined;
    let out: Awaited<ReturnType<HeartbeatIngest['storeReport']>>;
    // A report carrying events syncs at once, even when its computer's event rate defers them all.
    const sync = reportSync(report, transport, report.events.length, this.rotationsAtRisk.has(from.certSerial));
    try {
      out = await this.unit(
        async (tx) => {
          computer ??= await activeHolder(tx, from.certSerial, await tx.computers.findReporter(from.certSerial));
          // Acknowledged: this report's admitted events (its computer's event rate may defer the
          // rest), every one now stored (or recognised as stored). Not the highest seq ever stored
          // for the computer: after its state went back in time an agent numbers from lower again,
          // in a new epoch, and a higher acknowledgement would drop events from its spool that it
          // has not sent yet.
          const events = this.admitEvents(computer, report.events, t);
          const acknowledged = events.reduce((m, e) => Math.max(m, e.seq), 0);
          return this.storeReport(tx, computer, report, transport, events, t, offset, acknowledged);
        },
        { sync },
      );
    } catch (e) {
      if (!(e instanceof CloneDetected) || !computer) throw e;
      // The report was not stored (its unit rolled back); the alert is, on its own.
      await this.cloneDetected(computer, { remoteIp: transport.remoteIp, hostName: report.agent.hostName });
      this.deps.logger.warn(
        { computerId: computer.id, remoteIp: transport.remoteIp },
        'a cloned host reported (stale or missing continuity token): refused',
      );
      throw new PalisadeError(
        'AGENT_CLONED',
        `this host is a live copy of computer ${computer.id}'s host (its continuity token is stale or missing); it may ask to become a computer of its own (POST ${AGENT_PATHS.reactivate}, platformSettingAgentInitiatedActivationReactivateClonedEnabled)`,
      );
    }
    this.deps.observeStore?.((performance.now() - txStart) / 1000);
    if (out.continuity) this.rotated(from.certSerial, sync);
    this.deps.monitor?.published(out.computerId, out.changes, out.eventsStored > 0);
    return {
      reply: {
        protocolVersion: PROTOCOL_VERSION,
        computerId: out.computerId,
        serverTime: t,
        eventsAckedThrough: out.eventsAckedThrough,
        eventsStored: out.eventsStored,
        operations: out.operations,
        heartbeatIntervalSeconds: this.deps.heartbeatIntervalSeconds,
        policyId: out.policyId,
        policyName: out.effective.policyName,
        ...(out.continuity ? { continuity: out.continuity } : {}),
        ...(out.upgrade ? { upgrade: out.upgrade } : {}),
      },
      operationIds: out.operations.map((o) => o.id),
      effective: out.effective,
    };
  }

  /** One report's unit of work (see {@link ingestReport}). */
  private async storeReport(
    tx: StoreTransaction,
    computer: ReportingComputer,
    report: HeartbeatReport,
    transport: ExchangeTransport,
    events: AgentEvent[],
    t: number,
    offset: number,
    acknowledged: number,
  ) {
    const { configurations } = this.deps;
    const previousOffset = computer.clockOffsetMs;
    // First, so that a clone's report stores nothing: the continuity token (docs/deployment.md
    // "Cloned hosts"), checked with the report and rotated in its commit.
    const continuity = await nextContinuity(
      tx,
      computer.id,
      report.continuity,
      report.continuityPrevious,
      rotatesContinuity(transport, report),
    );
    const eventsStored = await tx.events.insertReported(computer.id, events, t);
    const { computer: current, upgradeOpen } = await tx.computers.recordHeartbeat({
      computerId: computer.id,
      now: t,
      offlineDeadline: offlineDeadline(t, this.deps.heartbeatIntervalSeconds),
      agentVersion: report.agent.version,
      platform: report.agent.platform,
      hostName: report.agent.hostName,
      lastIp: transport.remoteIp,
      clockOffsetMs: offset,
      clockOffsetChangeMs: previousOffset === null ? null : offset - previousOffset,
      uptimeSeconds: report.agent.uptimeSeconds,
      agentUptimeSeconds: report.agent.agentUptimeSeconds ?? null,
      drivers: report.drivers,
      counters: report.counters,
      appliedFingerprint: report.configurationFingerprint,
      tlsProtocol: transport.tlsProtocol,
      tlsCipherSuite: transport.tlsCipherSuite,
      tlsCertificateType: transport.tlsCertificateType ?? null,
      highestEventSeq: acknowledged,
    });
    const effective = await configurations.forComputer(current, tx);
    if (current.expectedFingerprint !== effective.fingerprint)
      await tx.computers.setExpectedFingerprint([computer.id], effective.fingerprint);
    const configurationCurrent = report.configurationFingerprint === effective.fingerprint;
    const changes =
      (await this.deps.monitor?.onHeartbeat(tx, {
        computer: current,
        previousClockOffsetMs: previousOffset,
        events,
        drivers: report.drivers,
        settings: effective.settings,
        configurationCurrent,
        clockOffsetMs: offset,
        eventsDeferred: report.events.length - events.length,
        eventRate: this.eventRate,
        now: t,
      })) ?? [];
    await this.noteContact(tx, computer.id, effective, report.communication, t);
    // Upgrades go with the reply, whichever side dialled (docs/deployment.md "Upgrades").
    const step = upgradeOpen ? await upgradeStep(tx, computer.id, report, t, this.upgradeOrderLifeMs) : {};
    if (step.ended && this.deps.monitor) changes.push(...(await this.deps.monitor.onUpgradeEnded(tx, step.ended, t)));
    const operations: HeartbeatReply['operations'] = [];
    if (!configurationCurrent) {
      const op = await tx.operations.ensureConfiguration(
        computer.id,
        effective.fingerprint,
        effective.configuration,
        t,
      );
      await tx.operations.markSent([op.id], t);
      operations.push({
        id: op.id,
        type: 'applyConfiguration',
        fingerprint: op.fingerprint,
        configuration: op.payload,
      });
    }
    return {
      computerId: computer.id,
      eventsStored,
      eventsAckedThrough: acknowledged,
      effective,
      changes,
      operations,
      policyId: current.policyId,
      upgrade: step.order,
      continuity,
    };
  }

  /**
   * Records the results of operations handed out in one exchange (`open`: those still awaiting
   * a result; each is removed as its result is taken), in one transaction with the monitor's
   * alerts and the agent's word on its communication. A result for anything else is ignored.
   */
  async ingestResults(
    computer: AgentComputerRecord,
    open: Set<number>,
    body: OperationResults,
    /**
     * More of the exchange to commit with the results (the dialer's release of its claim), under
     * a savepoint of its own: if it fails, it is logged and the results are stored anyway.
     */
    alsoCommit?: (tx: StoreTransaction) => Promise<unknown>,
  ): Promise<{ accepted: number[]; ignored: number[] }> {
    this.checkProtocol(body.protocolVersion);
    const t = this.now();
    const { accepted, ignored, changes } = await this.unit(async (tx) => {
      const accepted: number[] = [];
      const ignored: number[] = [];
      const changes: AlertChange[] = [];
      // A result is taken once: a repeat in the same body is ignored.
      const awaiting = new Set(open);
      for (const r of body.results) {
        const ok =
          awaiting.delete(r.id) &&
          (await tx.operations.complete({
            computerId: computer.id,
            id: r.id,
            status: r.status,
            reason: r.reason ?? null,
            fingerprint: r.fingerprint ?? null,
            now: t,
          }));
        (ok ? accepted : ignored).push(r.id);
        if (ok && this.deps.monitor)
          changes.push(
            ...(await this.deps.monitor.onOperationResult(tx, {
              computerId: computer.id,
              operationId: r.id,
              status: r.status,
              reason: r.reason ?? null,
              now: t,
            })),
          );
      }
      if (body.communication && this.scheduling) {
        const communication = body.communication;
        await this.contained(
          computer.id,
          "dialer: could not record the agent's communication; its next report will",
          () =>
            tx.savepoint(() => tx.dialTargets.noteCommunication(computer.id, communication, t, this.nextScheduled(t))),
        );
      }
      if (alsoCommit)
        await this.contained(computer.id, 'could not commit the end of the exchange with its results', () =>
          tx.savepoint(() => alsoCommit(tx)),
        );
      return { accepted, ignored, changes };
    });
    for (const r of body.results) {
      open.delete(r.id);
      if (accepted.includes(r.id) && r.status === 'failed')
        this.deps.logger.warn(
          { computerId: computer.id, operation: r.id, reason: r.reason },
          'configuration update failed on the agent',
        );
    }
    this.deps.monitor?.published(computer.id, changes, false);
    return { accepted, ignored };
  }

  /**
   * Enrols a computer: consumes a use of its token and creates it, and the dialer learns where
   * it will listen (its source address, or the listener it announced) — if its policy says
   * Manager Initiated, it is called one interval from now: it will not heartbeat by itself. One
   * transaction. 'token-used-up' when another activation took the token's last use meanwhile.
   * With `reactivate`, that known computer is activated again instead of a new one being made
   * (its record kept; 'gone' if it was deleted meanwhile).
   */
  async activate(
    tokenId: number | null,
    computer: Omit<NewComputer, 'offlineDeadline'>,
    effective: EffectiveConfiguration,
    remoteIp: string | null,
    listener: { port: number; address?: string } | undefined,
    reactivate?: number,
  ): Promise<ComputerRecord | 'token-used-up' | 'gone'> {
    const t = this.now();
    const c = effective.configuration.communication;
    const communication: CommunicationState = {
      direction: c.direction,
      // Its source address (its last IP until it reports) is where to call it, unless it
      // announced another (called only where allowed: dialer/listener-address-policy.ts).
      listener:
        c.direction === 'agent-initiated'
          ? null
          : {
              port: listener?.port ?? c.listeningPort,
              ...((listener?.address ?? remoteIp) ? { address: (listener?.address ?? remoteIp)! } : {}),
            },
    };
    // In the group commit: activations arriving together (a rollout) share one fsync.
    return this.unit(async (tx) => {
      // The offline deadline starts at activation: an agent that never reports goes Offline.
      const entry = {
        ...computer,
        offlineDeadline: offlineDeadline(computer.now, this.deps.heartbeatIntervalSeconds),
        // The agent's own address until it reports: where the dialer may call it (docs/security.md).
        lastIp: remoteIp,
      };
      const created =
        reactivate === undefined
          ? await tx.computers.activate(tokenId, entry)
          : await tx.computers.reactivate(tokenId, reactivate, entry);
      if (typeof created !== 'string') await this.noteContact(tx, created.id, effective, communication, t);
      return created;
    });
  }

  /**
   * A second live copy of `computer`'s host gave itself away (a stale continuity token,
   * docs/deployment.md "Cloned hosts"): recorded on the computer, with the
   * duplicate-computer alert (raised once while open) and its notification.
   */
  async cloneDetected(
    computer: Pick<ReportingComputer, 'id' | 'hostName'>,
    seen: { remoteIp: string | null; hostName: string },
  ): Promise<void> {
    const t = this.now();
    const changes = await this.deps.store.transaction(async (tx) => {
      await tx.computers.markCloneDetected(computer.id, t);
      return tx.alerts.raise([duplicateComputerAlert(computer, seen)], t);
    });
    this.deps.monitor?.published(computer.id, changes, false);
  }

  /** The dialer's share of a contact, under a savepoint: a failure is logged, never fails the contact. */
  private async noteContact(
    tx: StoreTransaction,
    computerId: number,
    effective: EffectiveConfiguration,
    communication: CommunicationState | undefined,
    t: number,
  ): Promise<void> {
    if (!this.scheduling) return;
    // The report is stored and acknowledged whatever happens here; the next contact settles it.
    await this.contained(computerId, 'dialer: could not record the contact; the next one will', () =>
      tx.savepoint(() =>
        tx.dialTargets.noteContact({
          computerId,
          expectedDirection: effective.configuration.communication.direction,
          defaultPort: effective.configuration.communication.listeningPort,
          ...(communication ? { communication } : {}),
          now: t,
          nextScheduledAt: this.nextScheduled(t),
        }),
      ),
    );
  }

  /**
   * Notes a rotation just committed: at risk until the store says its commit is on stable
   * storage (at once when it was answered after the sync, or where every commit is durable).
   */
  private rotated(certSerial: string, sync: 'now' | 'soon'): void {
    const durable = sync === 'soon' ? this.deps.store.whenDurable() : null;
    if (durable === null) {
      this.rotationsAtRisk.delete(certSerial);
      return;
    }
    const mark = {};
    this.rotationsAtRisk.set(certSerial, mark);
    // A sync that fails leaves the mark: the agent's next rotation waits for a sync that works.
    durable.then(
      () => {
        if (this.rotationsAtRisk.get(certSerial) === mark) this.rotationsAtRisk.delete(certSerial);
      },
      () => {},
    );
  }

  private async contained(computerId: number, message: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.deps.logger.error({ err: e, computerId }, message);
    }
  }
}

/**
 * Whether this exchange hands out the next continuity token. The agent's own heartbeats do; so
 * does the dialer's exchange with an agent that only listens (Manager Initiated: the manager's
 * calls are its only contact). A Bidirectional agent's token is checked when the manager calls
 * but rotated only by its own heartbeats: two exchanges running at once would each hand out a
 * token, and the agent might keep the one the manager no longer holds.
 */
function rotatesContinuity(transport: ExchangeTransport, report: HeartbeatReport): boolean {
  return transport.initiatedBy === 'agent' || report.communication?.direction === 'manager-initiated';
}

/**
 * Whether a report's commit must be on stable storage before it is answered (docs/architecture.md
 * "The heartbeat"). `now` when it carries events (acknowledged in the reply, then deleted by
 * the agent); and, when it rotates the continuity token, if a lost rotation could not be taken
 * back (the agent does not present the token it held before) or the computer's last rotation
 * was answered before its sync and is not on stable storage yet (`atRisk`: two rotations lost in
 * a row would make the host look like a copy). Otherwise `soon`: a power loss within
 * SOON_SYNC_MS loses only what the next report says again.
 */
function reportSync(
  report: HeartbeatReport,
  transport: ExchangeTransport,
  events: number,
  atRisk: boolean,
): 'now' | 'soon' {
  if (events > 0) return 'now';
  // No token presented: nothing rotates (a host without an identity), or the report is refused.
  if (!rotatesContinuity(transport, report) || report.continuity === undefined) return 'soon';
  if (report.continuityPrevious === undefined || atRisk) return 'now';
  return 'soon';
}

/**
 * How long an upgrade order may stay `sent` without an outcome (docs/deployment.md "Upgrades"):
 * the agent's default confirmation window, a download's allowance, and three heartbeat
 * intervals (a Manager Initiated agent waits up to two for the manager's call to confirm).
 */
export function defaultUpgradeOrderLifeMs(heartbeatIntervalSeconds: number): number {
  return (DEFAULT_UPGRADE_CONFIRM_SECONDS + UPGRADE_DOWNLOAD_ALLOWANCE_SECONDS + 3 * heartbeatIntervalSeconds) * 1000;
}
/** The agent's default `PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS` (packages/agent/src/upgrade.ts). */
const DEFAULT_UPGRADE_CONFIRM_SECONDS = 120;
const UPGRADE_DOWNLOAD_ALLOWANCE_SECONDS = 300;

/**
 * An upgrade's share of a heartbeat: the outcome the agent reports (`AGENT_UPGRADE_EVENT`) or,
 * failing that, the new version heartbeating, completes a sent upgrade; a pending one is handed
 * out (and marked sent). A sent one the agent has not acted on (it still reports the version it
 * had, and no outcome) is handed out again, since the reply that carried it may have been lost
 * (the agent ignores an order it is already carrying out); past `lifeMs` from its sending it
 * fails with the reason. Returns the order to put in the reply, and the order it ended (for the
 * alerts: `upgradeAlertChanges`).
 */
async function upgradeStep(
  tx: StoreTransaction,
  computerId: number,
  report: HeartbeatReport,
  t: number,
  lifeMs: number,
): Promise<{ order?: UpgradeOrder; ended?: EndedUpgrade }> {
  const open = await tx.computers.openUpgrade(computerId);
  if (!open) return {};
  const end = async (status: UpgradeOutcome, reason: string | null) => {
    await tx.computers.completeUpgrade(open.id, status, reason, t);
    return { ended: { id: open.id, computerId, toVersion: open.toVersion, status, reason } };
  };
  const told = report.events.find((e) => e.type === AGENT_UPGRADE_EVENT && e.data?.upgradeId === open.id);
  const outcome = told?.data?.outcome;
  if (typeof outcome === 'string' && (UPGRADE_OUTCOMES as readonly string[]).includes(outcome)) {
    const reason = told?.data?.reason;
    return end(outcome as UpgradeOutcome, typeof reason === 'string' ? reason.slice(0, 1024) : null);
  }
  if (open.status === 'sent') {
    if (report.agent.version === open.toVersion) return end('succeeded', null);
    if (t - (open.sentAt ?? t) > lifeMs) return end('failed', upgradeTimedOut(lifeMs));
    // Still the version it had: the order was lost, or is under way (then ignored). Sent again.
    if (report.agent.version !== open.fromVersion) return {};
  } else await tx.computers.markUpgradeSent(open.id, t);
  return {
    order: {
      id: open.id,
      version: open.toVersion,
      packages: open.packages.map((p) => ({
        file: p.file,
        architecture: AGENT_PACKAGE_FILE.exec(p.file)?.[3] ?? 'unknown',
        sha256: p.sha256,
      })),
    },
  };
}

/** The reason an upgrade order that outlived its life fails with. */
export function upgradeTimedOut(lifeMs: number): string {
  return `no outcome from the agent within ${Math.round(lifeMs / 1000)} s of the order being sent (the agent did not act on it, or its report was lost): request the upgrade again`;
}

/** Thrown inside a report's unit when its continuity token is stale or missing: the unit rolls back. */
class CloneDetected extends Error {}

/**
 * The continuity check of a report (docs/deployment.md "Cloned hosts"): the token presented
 * must be the one handed out last, or the one before (the reply that carried the last may have
 * been lost), or one ahead when the token the host held before it is the one handed out last
 * (the rotation's commit was lost with the manager's power: reports without events are
 * answered before their commit is synced, reportSync); then, when `rotate`, a new one is
 * handed out. Anything older, or none where one was issued, is a second live copy of the host
 * (CloneDetected). Returns the token for the reply; undefined when none is handed out (no host
 * identity, or not `rotate`). The rotation is a compare-and-set: another node's exchange that
 * rotated first makes this one look again.
 */
async function nextContinuity(
  tx: StoreTransaction,
  computerId: number,
  presentedToken: string | undefined,
  presentedPreviousToken: string | undefined,
  rotate: boolean,
): Promise<string | undefined> {
  const presented = presentedToken === undefined ? null : hashSecret(presentedToken);
  const presentedPrevious = presentedPreviousToken === undefined ? null : hashSecret(presentedPreviousToken);
  if (rotate && presented !== null) {
    // Nearly every heartbeat presents the current token (continuityOf: 'current'), which is
    // rotated with the presented one becoming the previous: one compare-and-set, no read first.
    // Anything else (no identity, a previous or stale token) fails it and is decided below.
    const next = randomToken(32);
    if (await tx.computers.rotateContinuity(computerId, presented, hashSecret(next), presented)) return next;
  }
  for (let attempt = 0; attempt < 5; attempt++) {
    const id = await tx.computers.identityOf(computerId);
    if (!id) return undefined;
    const c = continuityOf(presented, id.continuityCurrent, id.continuityPrevious, presentedPrevious);
    const step = heartbeatContinuity(c);
    if (step.action === 'cloned') throw new CloneDetected();
    if (!rotate) return undefined;
    const next = randomToken(32);
    // The token presented becomes the previous: the current one, or (`ahead`) the one the manager
    // handed out and lost, which the host holds.
    const previous = step.keepPrevious ? id.continuityPrevious : c === 'current' || c === 'ahead' ? presented : null;
    if (await tx.computers.rotateContinuity(computerId, id.continuityCurrent, hashSecret(next), previous)) return next;
  }
  throw new PalisadeError('MANAGER_BUSY', 'the continuity token kept changing under this heartbeat; try again');
}
