import { COMPUTER_STATUSES, type ComputerStatus, type SettingOverrides } from '@palisade/core';
import { type Expression, type ExpressionBuilder, type Kysely, type Selectable, type SqlBool, sql } from 'kysely';
import { chunks } from '../chunks.js';
import { num, numOrNull, overridesByOwner } from '../column-values.js';
import { HandSql } from '../hand-sql.js';
import type { Database } from '../schema.js';
import {
  type Eb,
  likePattern,
  offlineExpression,
  pendingExpression,
  statusExpression,
  updatingExpression,
} from './computer-status-sql.js';
import { Repository } from './repository.js';

export interface ComputerRecord {
  id: number;
  hostName: string;
  platform: string;
  agentVersion: string;
  policyId: number;
  /** `active` until deactivated; a deactivated computer's certificate is revoked. */
  state: 'active' | 'deactivated';
  certSerial: string;
  activatedAt: number;
  deactivatedAt: number | null;
  lastCommunication: number | null;
  offlineDeadline: number | null;
  lastIp: string | null;
  clockOffsetMs: number | null;
  /** The host's uptime at the last heartbeat, seconds. */
  uptimeSeconds: number | null;
  /** The agent's own uptime at the last heartbeat, seconds; null when the agent did not say. */
  agentUptimeSeconds: number | null;
  drivers: Array<{ name: string; status: string; reason?: string }>;
  counters: Record<string, number>;
  expectedFingerprint: string | null;
  appliedFingerprint: string | null;
  eventsAckedThrough: number;
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  /**
   * The agent endpoint certificate (4120 serves an ECDSA P-256 and an RSA-2048 one) the agent's
   * last full TLS handshake used; null before the first one (and for computers only ever dialled).
   */
  tlsCertificateType: TlsCertificateType | null;
  /** When the offline sweep found the deadline passed; null while online (the next heartbeat clears it). */
  offlineSince: number | null;
  /** Power state from the agent's shutdown notice or the vmstate API; null when never reported. */
  vmState: 'running' | 'stopped' | null;
  /** Clock offset change since the previous heartbeat, ms; null before the second one. */
  clockOffsetChangeMs: number | null;
}

/**
 * A computer as its agent's own requests see it (the agent endpoint's authentication): all but
 * the drivers and counters its last report wrote. The request carries them anew, and a
 * computer's counters grow with its firewall rules (a few KB at fifty rules): reading and
 * parsing them at every heartbeat served nothing.
 */
export type AgentComputerRecord = Omit<ComputerRecord, 'drivers' | 'counters'>;

/**
 * A computer as the ingest needs it before its report's own update returns the row: who it is,
 * whether it is active, and what the report is compared with (the host name its alerts name, the
 * clock offset the previous report measured). The heartbeat's lookup by certificate serial reads
 * these four columns only, inside the report's own transaction (`findReporter`).
 */
export type ReportingComputer = Pick<AgentComputerRecord, 'id' | 'state' | 'hostName' | 'clockOffsetMs' | 'certSerial'>;

/** An upgrade order an expiry failed (`expireUpgrades`, `expireUpgradesDue`). */
export interface ExpiredUpgrade {
  id: number;
  computerId: number;
  toVersion: string;
}

/** Key type of a certificate the manager served. */
export type TlsCertificateType = 'ECDSA' | 'RSA';

const certificateType = (v: string | null): TlsCertificateType | null => (v === 'ECDSA' || v === 'RSA' ? v : null);

export interface NewComputer {
  hostName: string;
  platform: string;
  agentVersion: string;
  policyId: number;
  certSerial: string;
  expectedFingerprint: string;
  now: number;
  /** SHA-256 (hex) of the host identity the agent sent; absent from agents that send none. */
  hostIdentity?: string | undefined;
  /** SHA-256 (hex) of the first continuity token handed out with the activation (with `hostIdentity`). */
  continuity?: string | undefined;
  /**
   * When it is Offline if no heartbeat comes: (threshold + 1) intervals after activation, as
   * after any heartbeat, so an agent that never reports goes Offline and raises its alert.
   */
  offlineDeadline: number;
  /**
   * The address the activation came from: the computer's last IP until its first report, so
   * the dialer knows the agent's own address (dialer/listener-address-policy.ts). Absent: none.
   */
  lastIp?: string | null | undefined;
}

/** An upgradeAgent request and how it ended (docs/deployment.md "Upgrades"). */
export interface AgentUpgradeRecord {
  id: number;
  computerId: number;
  fromVersion: string;
  toVersion: string;
  /** The version's package per architecture, with the SHA-256 the agent must find. */
  packages: Array<{ file: string; sha256: string }>;
  /** pending → sent → succeeded | failed | rolled-back; superseded when a newer request replaced it. */
  status: 'pending' | 'sent' | 'succeeded' | 'failed' | 'rolled-back' | 'superseded';
  reason: string | null;
  requestedBy: string;
  createdAt: number;
  sentAt: number | null;
  completedAt: number | null;
}

function toUpgrade(r: Selectable<Database['agent_upgrades']>): AgentUpgradeRecord {
  const files = r.package_file.split(' ');
  const hashes = r.sha256.split(' ');
  return {
    id: num(r.id),
    computerId: num(r.computer_id),
    fromVersion: r.from_version,
    toVersion: r.to_version,
    packages: files.map((file, i) => ({ file, sha256: hashes[i] ?? '' })),
    status: r.status as AgentUpgradeRecord['status'],
    reason: r.reason,
    requestedBy: r.requested_by,
    createdAt: num(r.created_at),
    sentAt: numOrNull(r.sent_at),
    completedAt: numOrNull(r.completed_at),
  };
}

/** A computer's host identity and its continuity tokens, all SHA-256 (hex). */
export interface ComputerIdentity {
  hostIdentity: string;
  /** The continuity token handed out last; null before the first. */
  continuityCurrent: string | null;
  /** The one before it (still accepted: the reply carrying the current one may have been lost). */
  continuityPrevious: string | null;
  /** When a second live copy of the host was last seen; null: never. */
  cloneDetectedAt: number | null;
}

/**
 * The computer's row as a heartbeat wrote it, and whether it has an upgrade not finished yet
 * (pending or sent; {@link ComputerRepository.openUpgrade} reads it): read in the same statement,
 * since nearly every heartbeat has none.
 */
export interface HeartbeatRecorded {
  computer: ComputerRecord;
  upgradeOpen: boolean;
}

/** What a heartbeat changes on the computer's row (its events go to EventRepository). */
export interface HeartbeatWrite {
  computerId: number;
  now: number;
  offlineDeadline: number;
  agentVersion: string;
  platform: string;
  hostName: string;
  lastIp: string | null;
  clockOffsetMs: number;
  /** Change since the previous heartbeat's offset; null for the first one. */
  clockOffsetChangeMs: number | null;
  uptimeSeconds: number;
  /** Absent or null: the agent predates it (the stored value is cleared). */
  agentUptimeSeconds?: number | null;
  drivers: ComputerRecord['drivers'];
  counters: Record<string, number>;
  appliedFingerprint: string | null;
  tlsProtocol: string | null;
  tlsCipherSuite: string | null;
  /** Certificate the manager served in a full handshake; null: none was (resumed session, dialled) — the stored one stays. */
  tlsCertificateType?: TlsCertificateType | null;
  /** Highest event `seq` the report carried (0: none); the acknowledged sequence never goes back. */
  highestEventSeq: number;
}

/** Computers sharing the inputs of their display status, and how many they are. */
export interface ComputerStatusGroup {
  deactivated: boolean;
  vmStopped: boolean;
  /** The offline deadline has passed. */
  offline: boolean;
  /** An applyConfiguration is in flight for the fingerprint the manager expects. */
  updating: boolean;
  /** The manager expects a fingerprint the agent has not reported applying. */
  pending: boolean;
  count: number;
}

/** A computer the offline sweep just marked Offline, with what its alert needs. */
export interface OfflineRow {
  id: number;
  hostName: string;
  policyId: number;
  platform: string;
  vmState: ComputerRecord['vmState'];
  lastCommunication: number | null;
  offlineDeadline: number;
}

/** What the computers list sorts by (API names), mapped to columns the 0006 indexes cover. */
export const COMPUTER_SORT_KEYS = [
  'ID',
  'hostName',
  'platform',
  'agentVersion',
  'policyID',
  'lastAgentCommunication',
  'status',
] as const;
export type ComputerSortKey = (typeof COMPUTER_SORT_KEYS)[number];

const COLUMN: Record<
  Exclude<ComputerSortKey, 'status'>,
  'id' | 'host_name' | 'platform' | 'agent_version' | 'policy_id' | 'last_communication'
> = {
  ID: 'id',
  hostName: 'host_name',
  platform: 'platform',
  agentVersion: 'agent_version',
  policyID: 'policy_id',
  lastAgentCommunication: 'last_communication',
};

/** One page of the computers list. Absent filters match everything; `search` is a substring of host name or last IP. */
export interface ComputerPageQuery {
  limit: number;
  offset: number;
  sortBy: ComputerSortKey;
  order: 'asc' | 'desc';
  search?: string;
  statuses?: readonly ComputerStatus[];
  policyIds?: readonly number[];
  now: number;
}

type ComputerRow = Selectable<Database['computers']>;

/**
 * Every column but the two a report writes as JSON (drivers, counters): what the heartbeat's
 * update returns (the caller holds them parsed already) and what the agent endpoint's lookup by
 * serial reads (`AgentComputerRecord`). A computer's counters grow with its firewall rules, and
 * reading them back cost a string and a parse per heartbeat. The type makes a new column fail
 * to build until it is listed here.
 */
const HEARTBEAT_RETURNS = Object.keys({
  id: 1,
  host_name: 1,
  platform: 1,
  agent_version: 1,
  policy_id: 1,
  state: 1,
  cert_serial: 1,
  activated_at: 1,
  deactivated_at: 1,
  last_communication: 1,
  offline_deadline: 1,
  last_ip: 1,
  clock_offset_ms: 1,
  uptime_seconds: 1,
  agent_uptime_seconds: 1,
  expected_fingerprint: 1,
  applied_fingerprint: 1,
  events_acked_through: 1,
  tls_protocol: 1,
  tls_cipher_suite: 1,
  offline_since: 1,
  vm_state: 1,
  vm_state_source: 1,
  vm_state_changed_at: 1,
  clock_offset_change_ms: 1,
  tls_certificate_type: 1,
} satisfies Record<Exclude<keyof ComputerRow, 'drivers' | 'counters'>, 1>)
  .map((c) => `"${c}"`)
  .join(', ');

/**
 * The heartbeat's update of the computer's row. The certificate type only after a full handshake
 * (null: the stored one stays); the acknowledged sequence only grows. Its RETURNING also says
 * whether an upgrade is open, which nearly every heartbeat lacks (no query of its own for it).
 *
 * `sameHost`: the host name, platform and agent version are not written but required unchanged
 * (the WHERE clause). Each of the three is indexed (the computers page sorts by them), and SQLite
 * rewrites an index's entry whenever its column is assigned, even to the same value: about 0.7
 * more write-ahead-log pages per heartbeat (measured, 1,000 computers, six per commit) and the
 * index work, for values that change only at an upgrade or a rename.
 */
function recordHeartbeatSql(sameHost: boolean): HandSql {
  return new HandSql(
    `update "computers" set "last_communication" = ?, "offline_deadline" = ?, "offline_since" = null,
      ${sameHost ? '' : '"agent_version" = ?, "platform" = ?, "host_name" = ?, '}"last_ip" = ?, "clock_offset_ms" = ?,
      "clock_offset_change_ms" = ?, "uptime_seconds" = ?, "agent_uptime_seconds" = ?, "drivers" = ?,
      "counters" = ?, "applied_fingerprint" = ?, "tls_protocol" = ?, "tls_cipher_suite" = ?,
      "tls_certificate_type" = coalesce(?, "tls_certificate_type"),
      "events_acked_through" = case when "events_acked_through" < ? then ? else "events_acked_through" end
      where "id" = ? and "state" = 'active'${sameHost ? ' and "agent_version" = ? and "platform" = ? and "host_name" = ?' : ''}
      returning ${HEARTBEAT_RETURNS}, exists (select 1 from "agent_upgrades" where "computer_id" = "computers"."id"
        and "status" in ('pending', 'sent')) as "upgrade_open"`,
    true,
  );
}

/** The heartbeat's statements on computers, written by hand (hand-sql.ts). */
const HOT = {
  bySerial: new HandSql(`select ${HEARTBEAT_RETURNS} from "computers" where "cert_serial" = ?`, false),
  reporterBySerial: new HandSql(
    'select "id", "state", "host_name", "clock_offset_ms" from "computers" where "cert_serial" = ?',
    false,
  ),
  identity: new HandSql('select * from "computer_identities" where "computer_id" = ?', false),
  rotate: new HandSql(
    'update "computer_identities" set "continuity_current" = ?, "continuity_previous" = ? where "computer_id" = ? and "continuity_current" = ?',
    true,
  ),
  rotateFromNone: new HandSql(
    'update "computer_identities" set "continuity_current" = ?, "continuity_previous" = ? where "computer_id" = ? and "continuity_current" is null',
    true,
  ),
  openUpgrade: new HandSql(
    `select * from "agent_upgrades" where "computer_id" = ? and "status" in ('pending', 'sent') order by "id" desc limit 1`,
    false,
  ),
  recordHeartbeat: recordHeartbeatSql(false),
  recordHeartbeatSameHost: recordHeartbeatSql(true),
  overrides: new HandSql('select "name", "value" from "computer_settings" where "computer_id" = ?', false),
};

const vmState = (v: string | null): ComputerRecord['vmState'] => (v === 'stopped' || v === 'running' ? v : null);

function toComputer(r: Selectable<Database['computers']>): ComputerRecord {
  return toComputerWith(r, JSON.parse(r.drivers), JSON.parse(r.counters));
}

/** A computer from its row, with its drivers and counters given parsed. */
function toComputerWith(
  r: Omit<Selectable<Database['computers']>, 'drivers' | 'counters'>,
  drivers: ComputerRecord['drivers'],
  counters: ComputerRecord['counters'],
): ComputerRecord {
  return { ...toAgentComputer(r), drivers, counters };
}

/** A computer from its row without its drivers and counters (`AgentComputerRecord`). */
function toAgentComputer(r: Omit<Selectable<Database['computers']>, 'drivers' | 'counters'>): AgentComputerRecord {
  return {
    id: num(r.id),
    hostName: r.host_name,
    platform: r.platform,
    agentVersion: r.agent_version,
    policyId: num(r.policy_id),
    state: r.state === 'deactivated' ? 'deactivated' : 'active',
    certSerial: r.cert_serial,
    activatedAt: num(r.activated_at),
    deactivatedAt: numOrNull(r.deactivated_at),
    lastCommunication: numOrNull(r.last_communication),
    offlineDeadline: numOrNull(r.offline_deadline),
    lastIp: r.last_ip,
    clockOffsetMs: numOrNull(r.clock_offset_ms),
    uptimeSeconds: numOrNull(r.uptime_seconds),
    agentUptimeSeconds: numOrNull(r.agent_uptime_seconds),
    expectedFingerprint: r.expected_fingerprint,
    appliedFingerprint: r.applied_fingerprint,
    eventsAckedThrough: num(r.events_acked_through),
    tlsProtocol: r.tls_protocol,
    tlsCipherSuite: r.tls_cipher_suite,
    tlsCertificateType: certificateType(r.tls_certificate_type),
    offlineSince: numOrNull(r.offline_since),
    vmState: vmState(r.vm_state),
    clockOffsetChangeMs: numOrNull(r.clock_offset_change_ms),
  };
}

/**
 * Consumes one use of an activation token; false when it has none left. A conditional update, so
 * concurrent activations cannot over-use it.
 */
async function useToken(db: Kysely<Database>, tokenId: number): Promise<boolean> {
  const used = await db
    .updateTable('activation_tokens')
    .set((eb) => ({ uses: eb('uses', '+', 1) }))
    .where('id', '=', tokenId)
    .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
    .executeTakeFirst();
  return Number(used.numUpdatedRows) === 1;
}

/**
 * What an activation, first or again, writes on the computer's row: the host, certificate and
 * policy it comes with, active, the deadline by which its first heartbeat must come, and nothing
 * applied yet.
 */
function activatedColumns(c: NewComputer) {
  return {
    host_name: c.hostName,
    platform: c.platform,
    agent_version: c.agentVersion,
    policy_id: c.policyId,
    state: 'active',
    cert_serial: c.certSerial,
    activated_at: c.now,
    deactivated_at: null,
    offline_deadline: c.offlineDeadline,
    expected_fingerprint: c.expectedFingerprint,
    applied_fingerprint: null,
  } as const;
}

/** Computers: enrolment, the heartbeat's row, settings overrides, policy, power and offline state. */
export class ComputerRepository extends Repository {
  /**
   * Consumes one use of the activation token and creates the computer, atomically: the use is
   * counted only if the computer is created, and a token cannot be over-used by concurrent
   * activations (the use is a conditional update). `tokenId` null: an activation without a token
   * (an unknown or cloned agent, proven by its certificate: docs/deployment.md).
   */
  activate(tokenId: number | null, c: NewComputer): Promise<ComputerRecord | 'token-used-up'> {
    return this.session.atomically(async (db) => {
      if (tokenId !== null && !(await useToken(db, tokenId))) return 'token-used-up' as const;
      const row = await db
        .insertInto('computers')
        .values({
          ...activatedColumns(c),
          last_communication: null,
          last_ip: c.lastIp ?? null,
          clock_offset_ms: null,
          uptime_seconds: null,
          drivers: '[]',
          counters: '{}',
          events_acked_through: 0,
          tls_protocol: null,
          tls_cipher_suite: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      if (c.hostIdentity !== undefined)
        await db
          .insertInto('computer_identities')
          .values({
            computer_id: row.id,
            host_guid: c.hostIdentity,
            continuity_current: c.continuity ?? null,
            continuity_previous: null,
            clone_detected_at: null,
          })
          .execute();
      return toComputer(row);
    });
  }

  /**
   * Activates a known computer again (its host identity named it): consumes one use of the token
   * and gives the computer its new certificate, name, platform, version and policy, keeping its
   * ID, events, settings, assignments and alerts. The certificate it held goes on the revocation
   * list, so a copy of the old state is refused as revoked. 'gone' when the computer was deleted
   * meanwhile (nothing is used or written then).
   */
  reactivate(
    tokenId: number | null,
    computerId: number,
    c: NewComputer,
  ): Promise<ComputerRecord | 'token-used-up' | 'gone'> {
    return this.session.atomically(async (db) => {
      const before = await db
        .selectFrom('computers')
        .select('cert_serial')
        .where('id', '=', computerId)
        .executeTakeFirst();
      if (!before) return 'gone' as const;
      if (tokenId !== null && !(await useToken(db, tokenId))) return 'token-used-up' as const;
      // The continuity starts again with this activation: whatever copy held the old tokens is
      // judged against the new one.
      if (c.continuity !== undefined)
        await db
          .updateTable('computer_identities')
          .set({ continuity_current: c.continuity, continuity_previous: null })
          .where('computer_id', '=', computerId)
          .execute();
      if (before.cert_serial !== c.certSerial)
        await db
          .insertInto('revoked_certificates')
          .values({ serial: before.cert_serial, computer_id: computerId, revoked_at: c.now })
          .onConflict((oc) => oc.column('serial').doNothing())
          .execute();
      const row = await db
        .updateTable('computers')
        .set({
          // Like a new computer: Offline if no heartbeat comes by its deadline, nothing applied yet.
          ...activatedColumns(c),
          ...(c.lastIp ? { last_ip: c.lastIp } : {}),
        })
        .where('id', '=', computerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toComputer(row);
    });
  }

  /** A computer's host identity and continuity tokens (hashes); null when its agent sent no identity. */
  async identityOf(computerId: number): Promise<ComputerIdentity | null> {
    const [r] = (await this.session.run<Selectable<Database['computer_identities']>>(HOT.identity, [computerId])).rows;
    return r
      ? {
          hostIdentity: r.host_guid,
          continuityCurrent: r.continuity_current,
          continuityPrevious: r.continuity_previous,
          cloneDetectedAt: numOrNull(r.clone_detected_at),
        }
      : null;
  }

  /**
   * Hands out the next continuity token (its hash `next`), `previous` becoming the one before,
   * if the current one is still `expected`: a compare-and-set, so of two copies heartbeating at
   * once only one rotates from a given token. False when another exchange rotated first.
   */
  async rotateContinuity(
    computerId: number,
    expected: string | null,
    next: string,
    previous: string | null,
  ): Promise<boolean> {
    const r =
      expected === null
        ? await this.session.run(HOT.rotateFromNone, [next, previous, computerId])
        : await this.session.run(HOT.rotate, [next, previous, computerId, expected]);
    return r.changed === 1;
  }

  /** Records that a second live copy of this computer's host was seen. */
  async markCloneDetected(computerId: number, now: number): Promise<void> {
    await this.db
      .updateTable('computer_identities')
      .set({ clone_detected_at: now })
      .where('computer_id', '=', computerId)
      .execute();
  }

  /**
   * Records an upgradeAgent request (docs/deployment.md "Upgrades"): one not finished yet for the
   * computer (pending, or sent and not heard of) is superseded by it. `packages`: the version's
   * package per architecture, with the SHA-256 taken now — what the agent will be told to check.
   */
  requestUpgrade(u: {
    computerId: number;
    fromVersion: string;
    toVersion: string;
    packages: ReadonlyArray<{ file: string; sha256: string }>;
    requestedBy: string;
    now: number;
  }): Promise<AgentUpgradeRecord> {
    return this.session.atomically(async (db) => {
      await db
        .updateTable('agent_upgrades')
        .set({ status: 'superseded', completed_at: u.now })
        .where('computer_id', '=', u.computerId)
        .where('status', 'in', ['pending', 'sent'])
        .execute();
      const row = await db
        .insertInto('agent_upgrades')
        .values({
          computer_id: u.computerId,
          from_version: u.fromVersion,
          to_version: u.toVersion,
          // Space-separated, in the same order: file names cannot hold a space.
          package_file: u.packages.map((p) => p.file).join(' '),
          sha256: u.packages.map((p) => p.sha256).join(' '),
          status: 'pending',
          reason: null,
          requested_by: u.requestedBy,
          created_at: u.now,
          sent_at: null,
          completed_at: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toUpgrade(row);
    });
  }

  /** The computer's upgrade not finished yet (pending or sent), if any. */
  async openUpgrade(computerId: number): Promise<AgentUpgradeRecord | null> {
    const [r] = (await this.session.run<Selectable<Database['agent_upgrades']>>(HOT.openUpgrade, [computerId])).rows;
    return r ? toUpgrade(r) : null;
  }

  async markUpgradeSent(id: number, now: number): Promise<void> {
    await this.db
      .updateTable('agent_upgrades')
      .set({ status: 'sent', sent_at: now })
      .where('id', '=', id)
      .where('status', '=', 'pending')
      .execute();
  }

  /** Records how an upgrade not finished yet ended; false when it had finished (or been superseded). */
  async completeUpgrade(
    id: number,
    status: 'succeeded' | 'failed' | 'rolled-back',
    reason: string | null,
    now: number,
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('agent_upgrades')
      .set({ status, reason, completed_at: now })
      .where('id', '=', id)
      .where('status', 'in', ['pending', 'sent'])
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Fails the computer's upgrade orders sent before `sentBefore` and still without an outcome
   * (their life is over, docs/deployment.md "Upgrades"), with `reason`. Returns the orders it failed.
   */
  async expireUpgrades(computerId: number, sentBefore: number, reason: string, now: number): Promise<ExpiredUpgrade[]> {
    return this.failSentBefore(sentBefore, reason, now, (eb) => eb('computer_id', '=', computerId));
  }

  /** When the oldest upgrade order still `sent` was sent (the partial index of 0021); null when none. */
  async oldestSentUpgrade(): Promise<number | null> {
    const r = await this.db
      .selectFrom('agent_upgrades')
      .select((eb) => eb.fn.min('sent_at').as('t'))
      .where(sql<boolean>`status = 'sent'`)
      .executeTakeFirst();
    return numOrNull(r?.t);
  }

  /**
   * Fails, whatever the computer, up to `limit` upgrade orders sent before `sentBefore` and still
   * without an outcome, with `reason` (the background sweep's share of `expireUpgrades`). One
   * conditional update: of two nodes sweeping at once, only one changes each order. Returns
   * the orders it failed.
   */
  async expireUpgradesDue(sentBefore: number, reason: string, now: number, limit: number): Promise<ExpiredUpgrade[]> {
    return this.failSentBefore(sentBefore, reason, now, (eb) =>
      eb(
        'id',
        'in',
        eb
          .selectFrom('agent_upgrades')
          .select('id')
          .where(sql<boolean>`status = 'sent'`)
          .where('sent_at', '<', sentBefore)
          .orderBy('sent_at')
          .limit(limit),
      ),
    );
  }

  /**
   * The one statement of both expiries: the `sent` orders sent before `sentBefore` among those
   * `which` picks become `failed` with `reason`; returns them.
   */
  private async failSentBefore(
    sentBefore: number,
    reason: string,
    now: number,
    which: (eb: ExpressionBuilder<Database, 'agent_upgrades'>) => Expression<SqlBool>,
  ): Promise<ExpiredUpgrade[]> {
    const rows = await this.db
      .updateTable('agent_upgrades')
      .set({ status: 'failed', reason, completed_at: now })
      .where(which)
      .where('status', '=', 'sent')
      .where('sent_at', '<', sentBefore)
      .returning(['id', 'computer_id', 'to_version'])
      .execute();
    return rows.map((r) => ({ id: num(r.id), computerId: num(r.computer_id), toVersion: r.to_version }));
  }

  /** A computer's upgrades, newest first. */
  async upgradesOf(computerId: number, limit = 20): Promise<AgentUpgradeRecord[]> {
    const rows = await this.db
      .selectFrom('agent_upgrades')
      .selectAll()
      .where('computer_id', '=', computerId)
      .orderBy('id', 'desc')
      .limit(limit)
      .execute();
    return rows.map(toUpgrade);
  }

  /** The computer a host identity (its SHA-256, hex) names; the newest when several do. */
  async findByHostIdentity(hash: string): Promise<ComputerRecord | null> {
    const r = await this.db
      .selectFrom('computer_identities')
      .innerJoin('computers', 'computers.id', 'computer_identities.computer_id')
      .selectAll('computers')
      .where('computer_identities.host_guid', '=', hash)
      .orderBy('computers.id', 'desc')
      .executeTakeFirst();
    return r ? toComputer(r) : null;
  }

  async get(id: number): Promise<ComputerRecord | null> {
    const r = await this.db.selectFrom('computers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toComputer(r) : null;
  }

  /**
   * The computer holding this certificate serial, for its agent's requests: every heartbeat's
   * authentication, so without the drivers and counters (`AgentComputerRecord`).
   */
  async findByCertSerial(serial: string): Promise<AgentComputerRecord | null> {
    const [r] = (await this.session.run<Omit<ComputerRow, 'drivers' | 'counters'>>(HOT.bySerial, [serial])).rows;
    return r ? toAgentComputer(r) : null;
  }

  /**
   * The computer holding this certificate serial as a report needs it (`ReportingComputer`): read
   * by every heartbeat on the agent port, inside its unit of work, so four columns only.
   */
  async findReporter(serial: string): Promise<ReportingComputer | null> {
    type Row = Pick<ComputerRow, 'id' | 'state' | 'host_name' | 'clock_offset_ms'>;
    const [r] = (await this.session.run<Row>(HOT.reporterBySerial, [serial])).rows;
    if (!r) return null;
    return {
      id: num(r.id),
      state: r.state === 'deactivated' ? 'deactivated' : 'active',
      hostName: r.host_name,
      clockOffsetMs: numOrNull(r.clock_offset_ms),
      certSerial: serial,
    };
  }

  /** Every computer (active and deactivated), by ID. */
  async list(): Promise<ComputerRecord[]> {
    return (await this.db.selectFrom('computers').selectAll().orderBy('id').execute()).map(toComputer);
  }

  /** Computers (active and deactivated) assigned one of these policies, by ID. */
  async listByPolicy(policyIds: readonly number[]): Promise<ComputerRecord[]> {
    const parts = await Promise.all(
      chunks(policyIds).map((ids) =>
        this.db.selectFrom('computers').selectAll().where('policy_id', 'in', ids).execute(),
      ),
    );
    return parts
      .flat()
      .map(toComputer)
      .sort((a, b) => a.id - b.id);
  }

  /** Assigns a computer another policy; false if no such computer. */
  async setPolicy(computerId: number, policyId: number): Promise<boolean> {
    const r = await this.db
      .updateTable('computers')
      .set({ policy_id: policyId })
      .where('id', '=', computerId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Marks the computer deactivated, which revokes its certificate; false if unknown or already so. */
  async deactivate(id: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('computers')
      .set({ state: 'deactivated', deactivated_at: now, offline_deadline: null })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /**
   * Removes a deactivated computer and what is only its own: events, operations, settings,
   * firewall assignments, dialer record, identity, upgrades. Its alerts stay, detached from it
   * (alerts are recorded, never deleted), and its certificate serial goes on the revocation
   * list first, so forgetting a computer never makes its certificate good again. False if there
   * is no such computer or it is not deactivated.
   */
  remove(id: number, now: number): Promise<boolean> {
    return this.session.atomically(async (db) => {
      const c = await db
        .selectFrom('computers')
        .select(['cert_serial'])
        .where('id', '=', id)
        .where('state', '=', 'deactivated')
        .executeTakeFirst();
      if (!c) return false;
      await db
        .insertInto('revoked_certificates')
        .values({ serial: c.cert_serial, computer_id: id, revoked_at: now })
        .onConflict((oc) => oc.column('serial').doNothing())
        .execute();
      // Explicit rather than ON DELETE CASCADE, which not every table declares (and SQLite
      // honours only with foreign_keys on).
      for (const table of [
        'events',
        'operations',
        'computer_settings',
        'computer_firewall_rules',
        'dial_targets',
        'computer_identities',
        'agent_upgrades',
      ] as const)
        await db.deleteFrom(table).where('computer_id', '=', id).execute();
      await db.updateTable('alerts').set({ computer_id: null }).where('computer_id', '=', id).execute();
      const r = await db.deleteFrom('computers').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) === 1;
    });
  }

  /**
   * Whether a certificate serial was revoked: issued to a computer since deleted, or replaced when
   * its computer was activated again. (A deactivated computer's own serial is revoked by its state.)
   */
  async isRevokedSerial(serial: string): Promise<boolean> {
    const r = await this.db
      .selectFrom('revoked_certificates')
      .select('serial')
      .where('serial', '=', serial)
      .executeTakeFirst();
    return r !== undefined;
  }

  /** Sets the fingerprint the manager expects from these computers; deactivated ones are left alone. */
  async setExpectedFingerprint(computerIds: readonly number[], fingerprint: string): Promise<void> {
    for (const ids of chunks(computerIds)) {
      await this.db
        .updateTable('computers')
        .set({ expected_fingerprint: fingerprint })
        .where('id', 'in', ids)
        .where('state', '=', 'active')
        .execute();
    }
  }

  /** The computer's own overrides; empty when it has none (or does not exist). */
  async overrides(computerId: number): Promise<SettingOverrides> {
    const { rows } = await this.session.run<{ name: string; value: string }>(HOT.overrides, [computerId]);
    return Object.fromEntries(rows.map((r) => [r.name, r.value])) as SettingOverrides;
  }

  /** Overrides of several computers (all of them when `computerIds` is absent); computers without any are absent. */
  async overridesByComputer(computerIds?: readonly number[]): Promise<Map<number, SettingOverrides>> {
    const rows =
      computerIds === undefined
        ? await this.db.selectFrom('computer_settings').selectAll().execute()
        : (
            await Promise.all(
              chunks(computerIds).map((ids) =>
                this.db.selectFrom('computer_settings').selectAll().where('computer_id', 'in', ids).execute(),
              ),
            )
          ).flat();
    return overridesByOwner(rows, (r) => r.computer_id);
  }

  /** Stores an override on a computer, or with `value` null removes it. */
  async setSetting(computerId: number, name: string, value: string | null): Promise<void> {
    if (value === null) {
      await this.db
        .deleteFrom('computer_settings')
        .where('computer_id', '=', computerId)
        .where('name', '=', name)
        .execute();
      return;
    }
    await this.db
      .insertInto('computer_settings')
      .values({ computer_id: computerId, name, value })
      .onConflict((oc) => oc.columns(['computer_id', 'name']).doUpdateSet({ value }))
      .execute();
  }

  /**
   * Stores what a heartbeat reports on the computer's row — status, the offline deadline, the
   * acknowledged event sequence — and ends an Offline state (`offlineSince` back to null).
   * Returns the row as written. Throws when the computer is not active (a deactivation that
   * committed after the agent authenticated), which rolls back the heartbeat's transaction.
   */
  async recordHeartbeat(hb: HeartbeatWrite): Promise<HeartbeatRecorded> {
    const drivers = JSON.stringify(hb.drivers);
    const counters = JSON.stringify(hb.counters);
    // The parameters in placeholder order: the host's three after the rest when they are the
    // WHERE clause's (`sameHost`), before it when they are assigned.
    const parameters = (sameHost: boolean): unknown[] => {
      const p: unknown[] = [hb.now, hb.offlineDeadline];
      if (!sameHost) p.push(hb.agentVersion, hb.platform, hb.hostName);
      p.push(
        hb.lastIp,
        hb.clockOffsetMs,
        hb.clockOffsetChangeMs,
        Math.floor(hb.uptimeSeconds),
        hb.agentUptimeSeconds == null ? null : Math.floor(hb.agentUptimeSeconds),
        drivers,
        counters,
        hb.appliedFingerprint,
        hb.tlsProtocol,
        hb.tlsCipherSuite,
        hb.tlsCertificateType ?? null,
        hb.highestEventSeq,
        hb.highestEventSeq,
        hb.computerId,
      );
      if (sameHost) p.push(hb.agentVersion, hb.platform, hb.hostName);
      return p;
    };
    type Row = Omit<ComputerRow, 'drivers' | 'counters'> & { upgrade_open: boolean | number };
    // Nearly always the host is as stored: its indexed columns are left alone. Else (no row:
    // they changed, or the computer is not active) the whole update, which tells which.
    let [row] = (await this.session.run<Row>(HOT.recordHeartbeatSameHost, parameters(true))).rows;
    row ??= (await this.session.run<Row>(HOT.recordHeartbeat, parameters(false))).rows[0];
    if (!row) throw new Error(`computer ${hb.computerId} is not active`);
    // SQLite answers 1/0, PostgreSQL true/false.
    return {
      // As just stored: the row's JSON is these, stringified above.
      computer: toComputerWith(row, hb.drivers, hb.counters),
      upgradeOpen: row.upgrade_open === true || row.upgrade_open === 1,
    };
  }

  /**
   * Records a power state (from `source`: `agent` or `api`). Returns the computer as it was
   * before, and whether the state changed; null for an unknown computer.
   */
  async setVmState(
    computerId: number,
    state: 'running' | 'stopped',
    source: string,
    now: number,
  ): Promise<{ before: ComputerRecord; changed: boolean } | null> {
    const before = await this.get(computerId);
    if (!before) return null;
    const r = await this.db
      .updateTable('computers')
      .set({ vm_state: state, vm_state_source: source, vm_state_changed_at: now })
      .where('id', '=', computerId)
      .where((eb) => eb.or([eb('vm_state', 'is', null), eb('vm_state', '!=', state)]))
      .executeTakeFirst();
    return { before, changed: Number(r.numUpdatedRows) === 1 };
  }

  /**
   * Marks Offline up to `limit` active computers whose deadline passed and that are not Offline
   * already, oldest deadline first, and returns them. One conditional
   * `UPDATE … WHERE offline_deadline <= now AND offline_since IS NULL … RETURNING` reading the
   * partial index `computers_offline_due`, so the work is proportional to the transitions, and
   * of two nodes sweeping at once only one gets each row back (the other's condition no longer
   * holds).
   */
  async markOfflineDue(now: number, limit: number): Promise<OfflineRow[]> {
    const rows = await this.db
      .updateTable('computers')
      .set({ offline_since: now })
      .where('id', 'in', (eb) =>
        eb
          .selectFrom('computers')
          .select('id')
          .where('offline_deadline', '<=', now)
          .where('offline_since', 'is', null)
          .where(sql<boolean>`state = 'active'`)
          .orderBy('offline_deadline')
          .limit(limit),
      )
      .where('offline_deadline', '<=', now)
      .where('offline_since', 'is', null)
      // A literal, as in the partial index's predicate, so that SQLite matches the two.
      .where(sql<boolean>`state = 'active'`)
      .returning(['id', 'host_name', 'policy_id', 'platform', 'vm_state', 'last_communication', 'offline_deadline'])
      .execute();
    return rows.map((r) => ({
      id: num(r.id),
      hostName: r.host_name,
      policyId: num(r.policy_id),
      platform: r.platform,
      vmState: vmState(r.vm_state),
      lastCommunication: numOrNull(r.last_communication),
      offlineDeadline: num(r.offline_deadline),
    }));
  }

  /** The earliest deadline the sweep has yet to pass (an index lookup); null when none. */
  async nextOfflineDeadline(): Promise<number | null> {
    const r = await this.db
      .selectFrom('computers')
      .select((eb) => eb.fn.min('offline_deadline').as('d'))
      .where('offline_deadline', 'is not', null)
      .where('offline_since', 'is', null)
      .where(sql<boolean>`state = 'active'`)
      .executeTakeFirst();
    return numOrNull(r?.d);
  }

  /**
   * One page of the computers list (console, and the paged form of `GET /api/computers`):
   * filters, sort and page in SQL, so a page of 100,000 computers costs one indexed query, not
   * the fleet in memory.
   */
  async page(q: ComputerPageQuery): Promise<{ computers: ComputerRecord[]; total: number }> {
    const where = (eb: Eb): Expression<SqlBool> => {
      const parts: Expression<SqlBool>[] = [];
      if (q.search) {
        const p = likePattern(q.search);
        parts.push(
          eb.or([
            eb(eb.fn('lower', ['computers.host_name']), 'like', sql<string>`${p} escape '\\'`),
            eb(eb.fn('lower', ['computers.last_ip']), 'like', sql<string>`${p} escape '\\'`),
          ]),
        );
      }
      if (q.policyIds && q.policyIds.length > 0) parts.push(eb('computers.policy_id', 'in', [...q.policyIds]));
      if (q.statuses && q.statuses.length > 0) parts.push(eb(statusExpression(eb, q.now), 'in', [...q.statuses]));
      return eb.and(parts);
    };
    const totalRow = await this.db
      .selectFrom('computers')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where(where)
      .executeTakeFirstOrThrow();
    let list = this.db.selectFrom('computers').selectAll('computers').where(where);
    if (q.sortBy === 'status') list = list.orderBy((eb) => statusExpression(eb, q.now), q.order);
    else list = list.orderBy(`computers.${COLUMN[q.sortBy]}`, q.order);
    // Ties (same host name, never-seen computers) in ID order, so pages neither repeat nor skip.
    if (q.sortBy !== 'ID') list = list.orderBy('computers.id', q.order);
    const rows = await list.limit(q.limit).offset(q.offset).execute();
    return { computers: rows.map(toComputer), total: num(totalRow.n) };
  }

  /** How many computers show each status now (every status present, zero when none). */
  async countByStatus(now: number): Promise<Record<ComputerStatus, number>> {
    const rows = await this.db
      .selectFrom('computers')
      .select((eb) => [statusExpression(eb, now).as('status'), eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute();
    const out = Object.fromEntries(COMPUTER_STATUSES.map((s) => [s, 0])) as Record<ComputerStatus, number>;
    for (const r of rows) if (r.status in out) out[r.status as ComputerStatus] = num(r.n);
    return out;
  }

  /**
   * Computers counted by what decides their display status (core's `deriveComputerStatus`), in
   * one grouped query: a handful of rows whatever the fleet's size (`GET /metrics`).
   */
  async statusCounts(now: number): Promise<ComputerStatusGroup[]> {
    const rows = await this.db
      .selectFrom('computers')
      .select((eb) => [
        eb('computers.state', '=', 'deactivated').as('deactivated'),
        eb('computers.vm_state', '=', 'stopped').as('vm_stopped'),
        offlineExpression(eb, now).as('offline'),
        updatingExpression(eb).as('updating'),
        pendingExpression(eb).as('pending'),
        eb.fn.countAll<number>().as('n'),
      ])
      .groupBy(['deactivated', 'vm_stopped', 'offline', 'updating', 'pending'])
      .execute();
    return rows.map((r) => ({
      deactivated: Boolean(r.deactivated),
      vmStopped: Boolean(r.vm_stopped),
      offline: Boolean(r.offline),
      updating: Boolean(r.updating),
      pending: Boolean(r.pending),
      count: num(r.n),
    }));
  }
}
