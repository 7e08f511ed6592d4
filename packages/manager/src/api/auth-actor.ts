import type { FastifyRequest } from 'fastify';

/**
 * Who made a change, as audit rows record it: `apikey:<id>` or, from the console, `user:<id>`.
 * Routes that write sit behind the auth hook, so a request without either never gets here; the
 * fallback only keeps the type honest.
 */
export function actorOf(req: FastifyRequest): string {
  if (req.apiKey) return `apikey:${req.apiKey.id}`;
  if (req.consoleSession) return `user:${req.consoleSession.user.id}`;
  return 'unknown';
}

/**
 * Whether the caller may see what a read-only key must not: webhook URLs beyond their origin,
 * delivery errors word for word (they tell open ports from closed ones on hosts the manager
 * reaches). Full-access keys and users only.
 */
export function seesDetails(req: FastifyRequest): boolean {
  return (req.apiKey?.role ?? req.consoleSession?.user.role) === 'full-access';
}
