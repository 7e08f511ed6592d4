import { KyselyStore } from './kysely-store.js';
import type { Store } from './store.js';

/**
 * Of these computers, those with a configuration update in flight (`Updating`): an
 * applyConfiguration operation handed to the agent (status `sent`) with no result yet, for the
 * fingerprint the manager still expects and the agent has not reported applying. An operation
 * whose configuration the agent reports running anyway (its result lost with the connection)
 * or that a newer expected fingerprint made moot does not count. One query, for one computer or (no IDs) for all of them.
 */
export async function computersUpdating(store: Store, computerIds?: readonly number[]): Promise<Set<number>> {
  if (computerIds?.length === 0 || !(store instanceof KyselyStore)) return new Set();
  let q = store.db
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
  if (computerIds) q = q.where('operations.computer_id', 'in', computerIds);
  return new Set((await q.execute()).map((r) => Number(r.computer_id)));
}
