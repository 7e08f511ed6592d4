import type { Static, TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';

/**
 * Checks a message against its schema the way the manager's endpoint does (no coercion, no
 * defaults, unknown members refused where the schema says so), for the parts that are not
 * behind Fastify: the agent's listener and the manager's dialer. Returns null when valid, else
 * the first problem as "path: message".
 */
export function schemaProblem<T extends TSchema>(schema: T, value: unknown): string | null {
  if (Value.Check(schema, value)) return null;
  const first = Value.Errors(schema, value).First();
  return first ? `${first.path || '/'}: ${first.message}` : 'does not match the schema';
}

export function matchesSchema<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return Value.Check(schema, value);
}
