import { type AgentDirection, type ManagerDialMode, managerDialMode } from '@palisade/core';
import type { CommunicationState } from '@palisade/protocol';
import type { Selectable } from 'kysely';
import { chunks } from '../chunks.js';
import { num, numOrNull } from '../column-values.js';
import { HandSql } from '../hand-sql.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

/** How the manager reaches one computer, as stored. */
export interface DialTargetRecord {
  computerId: number;
  expectedDirection: AgentDirection;
  /** What the agent last reported doing; null when it never said. */
  appliedDirection: AgentDirection | null;
  mode: ManagerDialMode;
  /** The agent's reported listener; null when it is not listening or never said. */
  listener: { port: number; address: string | null } | null;
  /** The configuration's listening port (4118 unless configured otherwise). */
  defaultPort: number;
  nextDialAt: number | null;
  claimedUntil: number | null;
  lastDialAt: number | null;
  lastDialOkAt: number | null;
  lastDialError: string | null;
  dialFailures: number;
}

/** A claimed target with what dialling it needs from the computer's row. */
export interface ClaimedDial extends DialTargetRecord {
  claimToken: string;
  certSerial: string;
  state: 'active' | 'deactivated';
  lastIp: string | null;
}

/** What one contact (a report, from either side) tells the dialer. */
export interface ContactNote {
  computerId: number;
  /** The direction the manager computed for it just now. */
  expectedDirection: AgentDirection;
  /** The configuration's listening port. */
  defaultPort: number;
  /** What the agent said it does; absent = it did not say (older agent): keep what is stored. */
  communication?: CommunicationState;
  now: number;
  /** Next scheduled dial if the mode is `scheduled` (the caller jitters the interval). */
  nextScheduledAt: number;
}

const DIRECTIONS = new Set<string>(['agent-initiated', 'manager-initiated', 'bidirectional']);
const direction = (v: string | null): AgentDirection | null =>
  v !== null && DIRECTIONS.has(v) ? (v as AgentDirection) : null;

function toTarget(r: Selectable<Database['dial_targets']>): DialTargetRecord {
  const expected = direction(r.expected_direction) ?? 'agent-initiated';
  const applied = direction(r.applied_direction);
  return {
    computerId: num(r.computer_id),
    expectedDirection: expected,
    appliedDirection: applied,
    mode: managerDialMode(expected, applied),
    listener: r.listen_port === null ? null : { port: num(r.listen_port), address: r.listen_address },
    defaultPort: num(r.default_port),
    nextDialAt: numOrNull(r.next_dial_at),
    claimedUntil: numOrNull(r.claimed_until),
    lastDialAt: numOrNull(r.last_dial_at),
    lastDialOkAt: numOrNull(r.last_dial_ok_at),
    lastDialError: r.last_dial_error,
    dialFailures: num(r.dial_failures),
  };
}

/**
 * What the dialer keeps: per computer, the direction pair, the listener, and the schedule with
 * its claim (migration 0004). A claim is a conditional update, so several nodes share the work
 * without dialling a computer twice; engines that lock rows (StoreDialect.rowLocking) also skip
 * rows another node holds.
 */
const DIAL_TARGET = new HandSql('select * from "dial_targets" where "computer_id" = ?', false);

export class DialTargetRepository extends Repository {
  async get(computerId: number): Promise<DialTargetRecord | null> {
    const r = await this.db
      .selectFrom('dial_targets')
      .selectAll()
      .where('computer_id', '=', computerId)
      .executeTakeFirst();
    return r ? toTarget(r) : null;
  }

  /**
   * Records a contact: the direction the manager wants, what the agent says it does, and the
   * schedule that follows. In `scheduled` mode the next dial is one interval after this
   * contact, whichever side made it; otherwise nothing is scheduled. A claim in progress is
   * left alone (its holder releases it).
   */
  async noteContact(n: ContactNote): Promise<DialTargetRecord> {
    // Every heartbeat reads it: written by hand (hand-sql.ts).
    const [prev] = (await this.session.run<Selectable<Database['dial_targets']>>(DIAL_TARGET, [n.computerId])).rows;
    const applied = n.communication ? n.communication.direction : direction(prev?.applied_direction ?? null);
    const listener = n.communication
      ? n.communication.listener
      : prev && prev.listen_port !== null
        ? { port: num(prev.listen_port), address: prev.listen_address ?? undefined }
        : null;
    const mode = managerDialMode(n.expectedDirection, applied);
    const row = {
      expected_direction: n.expectedDirection,
      applied_direction: applied,
      listen_port: listener?.port ?? null,
      listen_address: listener?.address ?? null,
      default_port: n.defaultPort,
      next_dial_at: mode === 'scheduled' ? n.nextScheduledAt : null,
    };
    // The common case — an Agent Initiated computer heartbeating as before — writes nothing:
    // this runs on every heartbeat, and the hot path should not pay for the dialer.
    if (
      prev &&
      prev.expected_direction === row.expected_direction &&
      prev.applied_direction === row.applied_direction &&
      numOrNull(prev.listen_port) === row.listen_port &&
      prev.listen_address === row.listen_address &&
      num(prev.default_port) === row.default_port &&
      prev.next_dial_at === null &&
      row.next_dial_at === null
    ) {
      return toTarget(prev);
    }
    const out = await this.db
      .insertInto('dial_targets')
      .values({
        computer_id: n.computerId,
        ...row,
        updated_at: n.now,
        claim_token: null,
        claimed_until: null,
        last_dial_at: null,
        last_dial_ok_at: null,
        last_dial_error: null,
        dial_failures: 0,
      })
      .onConflict((oc) => oc.column('computer_id').doUpdateSet({ ...row, updated_at: n.now }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toTarget(out);
  }

  /**
   * The agent's own word after it ran operations (its listener may have opened or closed):
   * updates the applied direction and listener and, if that changes the mode, the schedule —
   * a computer that became `scheduled` is first dialled one interval later; one that left it
   * is dialled no more. No row yet (never reported): nothing to update.
   */
  async noteCommunication(
    computerId: number,
    communication: CommunicationState,
    now: number,
    nextScheduledAt: number,
  ): Promise<DialTargetRecord | null> {
    return this.session.atomically(async (db) => {
      const prev = await db
        .selectFrom('dial_targets')
        .selectAll()
        .where('computer_id', '=', computerId)
        .executeTakeFirst();
      if (!prev) return null;
      const mode = managerDialMode(direction(prev.expected_direction) ?? 'agent-initiated', communication.direction);
      const next =
        mode === 'scheduled' ? (prev.next_dial_at === null ? nextScheduledAt : num(prev.next_dial_at)) : null;
      const out = await db
        .updateTable('dial_targets')
        .set({
          applied_direction: communication.direction,
          listen_port: communication.listener?.port ?? null,
          listen_address: communication.listener?.address ?? null,
          next_dial_at: next,
          updated_at: now,
        })
        .where('computer_id', '=', computerId)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toTarget(out);
    });
  }

  /**
   * Claims up to `limit` due targets (oldest due first) for `leaseMs`: one conditional UPDATE
   * whose WHERE repeats the due-and-unclaimed test, so two nodes never claim the same row (on
   * PostgreSQL the candidate rows are also locked, skipping those another node holds). A node
   * that dies mid-dial loses its claim when the lease lapses and the row is due again.
   */
  async claimDue(o: { now: number; limit: number; leaseMs: number; token: string }): Promise<ClaimedDial[]> {
    if (o.limit <= 0) return [];
    const candidates = this.db
      .selectFrom('dial_targets')
      .select('computer_id')
      .where('next_dial_at', '<=', o.now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', o.now)]))
      .orderBy('next_dial_at')
      .limit(o.limit)
      .$if(this.session.dialect.rowLocking, (q) => q.forUpdate().skipLocked());
    const claimed = await this.db
      .updateTable('dial_targets')
      .set({ claim_token: o.token, claimed_until: o.now + o.leaseMs })
      .where('computer_id', 'in', candidates)
      .where('next_dial_at', '<=', o.now)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', o.now)]))
      .returning('computer_id')
      .execute();
    return this.claimedRows(
      claimed.map((r) => num(r.computer_id)),
      o.token,
    );
  }

  /**
   * Claims one computer's target now, due or not (an operator's action), unless another claim
   * holds it: 'busy'. null when the computer has no target row yet (it never reported).
   */
  async claimOne(o: {
    computerId: number;
    now: number;
    leaseMs: number;
    token: string;
  }): Promise<ClaimedDial | 'busy' | null> {
    const r = await this.db
      .updateTable('dial_targets')
      .set({ claim_token: o.token, claimed_until: o.now + o.leaseMs })
      .where('computer_id', '=', o.computerId)
      .where((eb) => eb.or([eb('claimed_until', 'is', null), eb('claimed_until', '<=', o.now)]))
      .returning('computer_id')
      .executeTakeFirst();
    if (r) return (await this.claimedRows([o.computerId], o.token))[0] ?? null;
    return (await this.get(o.computerId)) ? 'busy' : null;
  }

  private async claimedRows(ids: number[], token: string): Promise<ClaimedDial[]> {
    if (ids.length === 0) return [];
    const rows = await this.db
      .selectFrom('dial_targets as d')
      .innerJoin('computers as c', 'c.id', 'd.computer_id')
      .selectAll('d')
      .select(['c.cert_serial', 'c.state', 'c.last_ip'])
      .where('d.computer_id', 'in', ids)
      .where('d.claim_token', '=', token)
      .orderBy('d.next_dial_at')
      .execute();
    return rows.map((r) => ({
      ...toTarget(r),
      claimToken: token,
      certSerial: r.cert_serial,
      state: r.state === 'deactivated' ? ('deactivated' as const) : ('active' as const),
      lastIp: r.last_ip,
    }));
  }

  /**
   * Ends a claim, only if still ours. `ok`: the exchange's own contact already set the schedule,
   * which stays — unless it is still due (the contact could not be noted), when `nextDialAt`
   * replaces it rather than have the row due again at once. Failed: a missed heartbeat —
   * nothing on the computer changes (its offline deadline is not extended); the next attempt
   * is `nextDialAt` (null: none).
   */
  async release(
    o: { computerId: number; token: string; now: number; nextDialAt: number | null } & (
      | { ok: true }
      | { ok: false; error: string }
    ),
  ): Promise<boolean> {
    const r = await this.db
      .updateTable('dial_targets')
      .set((eb) =>
        o.ok
          ? {
              claim_token: null,
              claimed_until: null,
              last_dial_at: o.now,
              last_dial_ok_at: o.now,
              last_dial_error: null,
              dial_failures: 0,
              next_dial_at: eb
                .case()
                .when('next_dial_at', '<=', o.now)
                .then(o.nextDialAt)
                .else(eb.ref('next_dial_at'))
                .end(),
            }
          : {
              claim_token: null,
              claimed_until: null,
              last_dial_at: o.now,
              last_dial_error: o.error.slice(0, 1024),
              dial_failures: eb('dial_failures', '+', 1),
              next_dial_at: o.nextDialAt,
            },
      )
      .where('computer_id', '=', o.computerId)
      .where('claim_token', '=', o.token)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Stops scheduling a computer (deactivated): its row stays for the record. */
  async unschedule(computerId: number, now: number): Promise<void> {
    await this.db
      .updateTable('dial_targets')
      .set({ next_dial_at: null, updated_at: now })
      .where('computer_id', '=', computerId)
      .execute();
  }

  /**
   * Makes the listening computers among `computerIds` due for a dial now (a configuration change
   * for them, in the change's transaction): those whose mode is `scheduled` or `on-demand` as far
   * as the manager knows — what the agent last reported, else what it was told. One already due
   * keeps its place in the queue. Returns how many were marked.
   */
  async markListeningDue(computerIds: readonly number[], now: number): Promise<number> {
    let marked = 0;
    for (const part of chunks(computerIds)) {
      const r = await this.db
        .updateTable('dial_targets')
        .set({ next_dial_at: now, updated_at: now })
        .where('computer_id', 'in', part)
        // managerDialMode(expected, applied) !== 'none', in SQL.
        .where((eb) =>
          eb.or([
            eb('expected_direction', '=', 'manager-initiated'),
            eb('applied_direction', '=', 'manager-initiated'),
            eb('applied_direction', '=', 'bidirectional'),
            eb.and([eb('applied_direction', 'is', null), eb('expected_direction', '=', 'bidirectional')]),
          ]),
        )
        .where((eb) => eb.or([eb('next_dial_at', 'is', null), eb('next_dial_at', '>', now)]))
        .executeTakeFirst();
      marked += Number(r.numUpdatedRows);
    }
    return marked;
  }

  /** How many targets are due now (metrics, tests). */
  async countDue(now: number): Promise<number> {
    const r = await this.db
      .selectFrom('dial_targets')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('next_dial_at', '<=', now)
      .executeTakeFirstOrThrow();
    return num(r.n);
  }
}
