import { COMPUTER_STATUSES, type ComputerStatus } from '@palisade/core';
import { type Expression, type ExpressionBuilder, type Kysely, type SqlBool, sql } from 'kysely';
import { num } from './column-values.js';
import { KyselyStore, toComputer } from './kysely-store.js';
import type { Database } from './schema.js';
import type { ComputerRecord, Store } from './store.js';

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

type Eb = ExpressionBuilder<Database, 'computers'>;

/**
 * core's deriveComputerStatus as one SQL expression, so the list can filter, sort and count by
 * status without loading the fleet. Same order of precedence (computer-status.ts); `Updating` is
 * computers-updating's condition (operations-in-flight.ts) as an EXISTS. A test checks both agree.
 */
function statusExpression(eb: Eb, now: number) {
  const updating = eb.exists(
    eb
      .selectFrom('operations')
      .select(sql`1`.as('one'))
      .whereRef('operations.computer_id', '=', 'computers.id')
      .where('operations.type', '=', 'applyConfiguration')
      .where('operations.status', '=', 'sent')
      .whereRef('operations.fingerprint', '=', 'computers.expected_fingerprint')
      .where((o) =>
        o.or([
          o('computers.applied_fingerprint', 'is', null),
          o('computers.applied_fingerprint', '!=', o.ref('operations.fingerprint')),
        ]),
      ),
  );
  return eb
    .case()
    .when('computers.state', '=', 'deactivated')
    .then('Deactivated')
    .when('computers.vm_state', '=', 'stopped')
    .then('VM Stopped')
    .when(eb.and([eb('computers.offline_deadline', 'is not', null), eb('computers.offline_deadline', '<=', now)]))
    .then('Offline')
    .when(updating)
    .then('Updating')
    .when(
      eb.and([
        eb('computers.expected_fingerprint', 'is not', null),
        eb.or([
          eb('computers.applied_fingerprint', 'is', null),
          eb('computers.applied_fingerprint', '!=', eb.ref('computers.expected_fingerprint')),
        ]),
      ]),
    )
    .then('Update Pending (Heartbeat)')
    .else('Managed (Online)')
    .end();
}

/** `%`, `_` and `\` in a search are literal characters, not patterns. */
function likePattern(s: string): string {
  return `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * The computers page (console) and the paged form of `GET /api/computers`: filters, sort and
 * page in SQL, so a page of 100,000 computers costs one indexed query, not the fleet in memory.
 */
export class ComputerListStore {
  constructor(readonly db: Kysely<Database>) {}

  static over(store: Store): ComputerListStore {
    if (!(store instanceof KyselyStore))
      throw new Error('the computer list needs the Kysely store (SQLite or PostgreSQL)');
    return new ComputerListStore(store.db);
  }

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
}
