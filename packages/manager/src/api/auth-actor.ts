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
