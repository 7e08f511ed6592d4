import type { Kysely } from 'kysely';
import type { DialerDatabase } from '../store/dialer-store.js';
import { KyselyStore } from '../store/kysely-store.js';
import type { Store } from '../store/store.js';

/**
 * Configuration changes reaching listening agents at once (issue 5, docs/communication.md
 * "When a change reaches the agent").
 *
 * A change that alters what computers run (a setting override on a policy or a computer, a
 * policy move, a computer's policy, firewall rules and assignments) refreshes their expected
 * fingerprints inside its own transaction (expected-fingerprints.ts). In that same transaction
 * {@link markListeningComputersDue} makes those of them whose agent listens — the dialer's mode
 * for them is `scheduled` (Manager Initiated on either side) or `on-demand` (Bidirectional) — due
 * now in the dialer's schedule (`dial_targets.next_dial_at = now`). Nothing else is kept: no
 * timer per computer, no list in memory; the bounded pool claims the rows like any due work, so
 * a change to a policy of 100,000 listening computers becomes 100,000 due rows worked through
 * `concurrency` at a time, and a change that rolls back marks nothing.
 *
 * Agent Initiated computers (mode `none`) are not touched: they get the change at their next
 * heartbeat and show `Update Pending (Heartbeat)` until then.
 *
 * After marking, the node's dialer is woken ({@link registerDialWake}) so it does not wait for
 * its next poll. The wake runs while the change's transaction is still open: on SQLite the
 * dialer's claim waits for the one connection, i.e. for the commit; on PostgreSQL a claim that
 * runs before the commit is visible finds nothing, and the regular poll (a tenth of the heartbeat
 * interval, 5 s at most) picks the rows up. Either way the API response never waits for a dial.
 */

/** Wakes per ConfigurationService: the one object the change paths and the dialer of a node share. */
const wakes = new WeakMap<object, () => void>();

/** The node's dialer asks to be woken when a change made through `owner` marks work due. Returns the unregistration. */
export function registerDialWake(owner: object, wake: () => void): () => void {
  wakes.set(owner, wake);
  return () => {
    if (wakes.get(owner) === wake) wakes.delete(owner);
  };
}

/**
 * Inside the change's transaction: makes the listening computers among `computerIds` due for a
 * dial now, then wakes the dialer registered for `owner`. Returns how many were marked. Stores
 * without the dialer's table (not Kysely) mark nothing.
 */
export async function markListeningComputersDue(
  tx: Store,
  owner: object,
  computerIds: readonly number[],
  now = Date.now(),
): Promise<number> {
  if (computerIds.length === 0 || !(tx instanceof KyselyStore)) return 0;
  const db = tx.db as unknown as Kysely<DialerDatabase>;
  let marked = 0;
  // Chunked: an IN list stays well under SQLite's bound-parameter limit.
  for (let i = 0; i < computerIds.length; i += 500) {
    const chunk = computerIds.slice(i, i + 500);
    const r = await db
      .updateTable('dial_targets')
      .set({ next_dial_at: now, updated_at: now })
      .where('computer_id', 'in', chunk)
      // managerDialMode(expected, applied) !== 'none', in SQL: the agent listens as far as the
      // manager knows (what it last reported, else what it was told).
      .where((eb) =>
        eb.or([
          eb('expected_direction', '=', 'manager-initiated'),
          eb('applied_direction', '=', 'manager-initiated'),
          eb('applied_direction', '=', 'bidirectional'),
          eb.and([eb('applied_direction', 'is', null), eb('expected_direction', '=', 'bidirectional')]),
        ]),
      )
      // Already due (e.g. a scheduled dial that is late): leave its place in the queue.
      .where((eb) => eb.or([eb('next_dial_at', 'is', null), eb('next_dial_at', '>', now)]))
      .executeTakeFirst();
    marked += Number(r.numUpdatedRows);
  }
  if (marked > 0) wakes.get(owner)?.();
  return marked;
}
