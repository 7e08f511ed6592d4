import type { Static, TSchema } from '@sinclair/typebox';
import { Value, type ValueError } from '@sinclair/typebox/value';

/**
 * Checks a message against its schema the way the manager's endpoint does (no coercion, no
 * defaults, unknown members refused where the schema says so), for the parts that are not
 * behind Fastify: the agent's listener and the manager's dialer. Returns null when valid, else
 * the first problem as "path: message".
 */
export function schemaProblem<T extends TSchema>(schema: T, value: unknown): string | null {
  if (Value.Check(schema, value)) return null;
  const first = Value.Errors(schema, value).First();
  if (!first) return 'does not match the schema';
  const e = deepest(first);
  return `${e.path || '/'}: ${e.message}`;
}

/**
 * For a value no member of a union accepts, TypeBox reports "Expected union value" at the
 * union; when one member got further into the value (a listener object with a bad port, against
 * `ListenerAddress | null`), its problem is the one a person can act on.
 */
function deepest(e: ValueError): ValueError {
  let best = e;
  for (const variant of e.errors) {
    const first = variant.First();
    if (first && first.path.length > best.path.length) best = deepest(first);
  }
  return best;
}

export function matchesSchema<T extends TSchema>(schema: T, value: unknown): value is Static<T> {
  return Value.Check(schema, value);
}
