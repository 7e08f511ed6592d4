import type { Selectable } from 'kysely';
import { num, numOrNull } from '../column-values.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

export interface OperationRecord {
  id: number;
  computerId: number;
  type: 'applyConfiguration';
  fingerprint: string;
  payload: unknown;
  status: 'pending' | 'sent' | 'succeeded' | 'failed' | 'superseded';
  createdAt: number;
  sentAt: number | null;
  completedAt: number | null;
  reason: string | null;
}

function toOperation(r: Selectable<Database['operations']>): OperationRecord {
  return {
    id: num(r.id),
    computerId: num(r.computer_id),
    type: 'applyConfiguration',
    fingerprint: r.fingerprint,
    payload: JSON.parse(r.payload),
    status: r.status as OperationRecord['status'],
    createdAt: num(r.created_at),
    sentAt: numOrNull(r.sent_at),
    completedAt: numOrNull(r.completed_at),
    reason: r.reason,
  };
}

/** Operations handed to agents (today `applyConfiguration`) and their results. */
export class OperationRepository extends Repository {
  /**
   * Returns the pending-or-sent applyConfiguration operation for this fingerprint, creating it
   * (and superseding older unfinished ones) if needed.
   */
  ensureConfiguration(
    computerId: number,
    fingerprint: string,
    payload: unknown,
    now: number,
  ): Promise<OperationRecord> {
    return this.session.atomically(async (db) => {
      const open = await db
        .selectFrom('operations')
        .selectAll()
        .where('computer_id', '=', computerId)
        .where('type', '=', 'applyConfiguration')
        .where('status', 'in', ['pending', 'sent'])
        .execute();
      const same = open.find((o) => o.fingerprint === fingerprint);
      const stale = open.filter((o) => o !== same).map((o) => num(o.id));
      if (stale.length > 0) {
        await db
          .updateTable('operations')
          .set({ status: 'superseded', completed_at: now })
          .where('id', 'in', stale)
          .execute();
      }
      if (same) return toOperation(same);
      const row = await db
        .insertInto('operations')
        .values({
          computer_id: computerId,
          type: 'applyConfiguration',
          fingerprint,
          payload: JSON.stringify(payload),
          status: 'pending',
          created_at: now,
          sent_at: null,
          completed_at: null,
          reason: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toOperation(row);
    });
  }

  async markSent(ids: readonly number[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.db
      .updateTable('operations')
      .set({ status: 'sent', sent_at: now })
      .where('id', 'in', [...ids])
      .where('status', 'in', ['pending', 'sent'])
      .execute();
  }

  /**
   * Records a result for an operation of this computer that is not finished yet (false
   * otherwise); a success also records the fingerprint the agent now runs.
   */
  complete(r: {
    computerId: number;
    id: number;
    status: 'succeeded' | 'failed';
    reason: string | null;
    fingerprint: string | null;
    now: number;
  }): Promise<boolean> {
    return this.session.atomically(async (db) => {
      const res = await db
        .updateTable('operations')
        .set({ status: r.status, reason: r.reason, completed_at: r.now })
        .where('id', '=', r.id)
        .where('computer_id', '=', r.computerId)
        .where('status', 'in', ['pending', 'sent'])
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      if (r.status === 'succeeded' && r.fingerprint) {
        await db
          .updateTable('computers')
          .set({ applied_fingerprint: r.fingerprint })
          .where('id', '=', r.computerId)
          .execute();
      }
      return true;
    });
  }

  async get(id: number): Promise<OperationRecord | null> {
    const r = await this.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toOperation(r) : null;
  }

  /**
   * Of these computers, those with a configuration update in flight (`Updating`): an
   * applyConfiguration operation handed to the agent (status `sent`) with no result yet, for
   * the fingerprint the manager still expects and the agent has not reported applying. An
   * operation whose configuration the agent reports running anyway (its result lost with the
   * connection) or that a newer expected fingerprint made moot does not count. One query, for
   * a few computers or (no IDs) for all of them.
   */
  async computersUpdating(computerIds?: readonly number[]): Promise<Set<number>> {
    if (computerIds?.length === 0) return new Set();
    let q = this.db
      .selectFrom('operations')
      .innerJoin('computers', 'computers.id', 'operations.computer_id')
      .select('operations.computer_id')
      .distinct()
      .where('operations.type', '=', 'applyConfiguration')
      .where('operations.status', '=', 'sent')
      .whereRef('operations.fingerprint', '=', 'computers.expected_fingerprint')
      .where((eb) =>
        eb.or([
          eb('computers.applied_fingerprint', 'is', null),
          eb('computers.applied_fingerprint', '!=', eb.ref('operations.fingerprint')),
        ]),
      );
    // A few IDs (one computer): filtered in SQL. The list route passes none: every computer, one query.
    if (computerIds) q = q.where('operations.computer_id', 'in', [...computerIds]);
    return new Set((await q.execute()).map((r) => num(r.computer_id)));
  }
}
