import type { ExpressionBuilder } from 'kysely';
import { sql } from 'kysely';
import type { Database } from '../schema.js';

export type Eb = ExpressionBuilder<Database, 'computers'>;

/**
 * A configuration update in flight (`Updating`): OperationRepository.computersUpdating's
 * condition, as an EXISTS over the computer of the row.
 */
export function updatingExpression(eb: Eb) {
  return eb.exists(
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
}

/** An expected fingerprint the agent has not reported applying (`Update Pending`). */
export function pendingExpression(eb: Eb) {
  return eb.and([
    eb('computers.expected_fingerprint', 'is not', null),
    eb.or([
      eb('computers.applied_fingerprint', 'is', null),
      eb('computers.applied_fingerprint', '!=', eb.ref('computers.expected_fingerprint')),
    ]),
  ]);
}

/** The offline deadline has passed. */
export function offlineExpression(eb: Eb, now: number) {
  return eb.and([eb('computers.offline_deadline', 'is not', null), eb('computers.offline_deadline', '<=', now)]);
}

/**
 * core's deriveComputerStatus as one SQL expression, so the list can filter, sort and count by
 * status without loading the fleet. Same order of precedence (computer-status.ts). A test checks
 * both agree.
 */
export function statusExpression(eb: Eb, now: number) {
  return eb
    .case()
    .when('computers.state', '=', 'deactivated')
    .then('Deactivated')
    .when('computers.vm_state', '=', 'stopped')
    .then('VM Stopped')
    .when(offlineExpression(eb, now))
    .then('Offline')
    .when(updatingExpression(eb))
    .then('Updating')
    .when(pendingExpression(eb))
    .then('Update Pending (Heartbeat)')
    .else('Managed (Online)')
    .end();
}

/** `%`, `_` and `\` in a search are literal characters, not patterns. */
export function likePattern(s: string): string {
  return `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
