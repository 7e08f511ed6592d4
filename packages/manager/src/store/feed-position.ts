import { type ExpressionBuilder, type ExpressionWrapper, type SqlBool, sql } from 'kysely';
import type { StoreDialect } from './store-dialect.js';

/**
 * A place in a feed the notifiers read in order (the events, the alert outbox): the
 * transaction that inserted the row, then its id. `tx` is 0 on an engine whose ids become
 * visible in the order they were taken (SQLite: one writer at a time), and for rows stored
 * before feeds had it; order is then by id alone.
 *
 * On PostgreSQL an id is taken when a transaction inserts and becomes visible when it commits,
 * so ids commit out of order: a reader that moved past id 11 would never see id 10 when its
 * transaction commits a moment later. Each row there carries its transaction's id (`tx`,
 * `pg_current_xact_id()`), and a reader takes only rows of transactions older than every
 * transaction still running (its snapshot's xmin, PostgreSQL manual §9.27 "Transaction ID and
 * Snapshot Information Functions"): no row of those can appear later, so in `(tx, id)` order
 * the rows it takes are final, and a cursor moved past them skips nothing.
 */
export interface FeedPosition {
  tx: number;
  id: number;
}

export const FEED_START: FeedPosition = { tx: 0, id: 0 };

/** Whether `a` comes after `b` in a feed. */
export const feedAfter = (a: FeedPosition, b: FeedPosition): boolean => a.tx > b.tx || (a.tx === b.tx && a.id > b.id);

/** The later of two positions. */
export const laterPosition = (a: FeedPosition, b: FeedPosition): FeedPosition => (feedAfter(a, b) ? a : b);

/**
 * The rows of `alias` (a feed table with `tx` and `id`) after `p` that a reader may take now:
 * after it in `(tx, id)` order, and on an engine with {@link StoreDialect.feedHorizon} only
 * those of transactions older than every running one.
 */
export function feedRowsAfter<DB, TB extends keyof DB>(
  eb: ExpressionBuilder<DB, TB>,
  alias: string,
  p: FeedPosition,
  dialect: StoreDialect,
): ExpressionWrapper<DB, TB, SqlBool> {
  const tx = sql.ref(`${alias}.tx`);
  const id = sql.ref(`${alias}.id`);
  if (!dialect.feedHorizon) return eb(id, '>', p.id) as ExpressionWrapper<DB, TB, SqlBool>;
  return eb.and([
    eb.or([eb(tx, '>', p.tx), eb.and([eb(tx, '=', p.tx), eb(id, '>', p.id)])]),
    eb(tx, '<', dialect.feedHorizon()),
  ]) as ExpressionWrapper<DB, TB, SqlBool>;
}
