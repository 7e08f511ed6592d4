import type { FastifyRequest } from 'fastify';

/**
 * Who made a change, as audit rows record it: `apikey:<id>`. Routes that write sit behind the
 * API-key hook, so a request without a key never gets here; the fallback only keeps the type honest.
 */
export function actorOf(req: FastifyRequest): string {
  return req.apiKey ? `apikey:${req.apiKey.id}` : 'unknown';
}
