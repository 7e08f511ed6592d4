import '@fastify/cookie';
import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors.js';
import { hashSecret } from '../secrets.js';
import type { ConsoleAuthService, ConsoleSession } from '../services/console-auth-service.js';
import type { ApiKeyRecord, Store } from '../store/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyRecord;
    consoleSession?: ConsoleSession;
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * The console's session cookie. `__Host-` (RFC 6265bis §4.1.3.2) makes browsers refuse it unless
 * it is Secure, has Path=/ and no Domain, so no sibling host can plant or read it.
 */
export const SESSION_COOKIE = '__Host-palisade-session';
export const CSRF_HEADER = 'x-csrf-token';

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Authentication for `/api/…`: Deep Security's `api-secret-key` header, or the console's session
 * cookie. A write made with the cookie must also carry the session's CSRF token in
 * `x-csrf-token` (OWASP CSRF Prevention Cheat Sheet, synchronizer token; the cookie is also
 * SameSite=Strict). Read-only keys and users get 403 on any write. Registered inside the API's
 * own plugin scope so the agent endpoint can never pick it up by accident.
 */
export function installApiKeyAuth(
  app: FastifyInstance,
  store: Store,
  now: () => number = Date.now,
  consoleAuth?: ConsoleAuthService,
): void {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const config = (req.routeOptions.config ?? {}) as { public?: boolean; optionalAuth?: boolean };
    if (config.public) return;
    // Deep Security clients send `api-version: v1`; refuse a version we do not speak rather than guess.
    const version = req.headers['api-version'];
    if (version !== undefined && version !== 'v1')
      throw new PalisadeError('API_VERSION_UNSUPPORTED', `got "${String(version)}"`);
    const header = req.headers['api-secret-key'];
    const secret = Array.isArray(header) ? header[0] : header;
    if (!secret) {
      const cookie = consoleAuth ? req.cookies?.[SESSION_COOKIE] : undefined;
      // `optionalAuth` routes (GET /api/session) answer "nobody" themselves rather than 401.
      if (!cookie || !consoleAuth) {
        if (config.optionalAuth) return;
        throw new PalisadeError('API_KEY_REQUIRED');
      }
      const session = await consoleAuth.session(cookie);
      if (!session) {
        if (config.optionalAuth) return;
        throw new PalisadeError('SESSION_EXPIRED');
      }
      req.consoleSession = session;
      if (WRITE_METHODS.has(req.method)) {
        const sent = req.headers[CSRF_HEADER];
        if (typeof sent !== 'string' || !sameToken(sent, session.csrfToken))
          throw new PalisadeError('CSRF_TOKEN_INVALID');
        const signOut = req.method === 'DELETE' && req.url.split('?')[0] === '/api/session';
        const readsOnly = req.routeOptions.config?.readsOnly === true || req.routeOptions.config?.ownAccount === true;
        if (session.user.role === 'read-only' && !signOut && !readsOnly) throw new PalisadeError('READ_ONLY_USER');
      }
      return;
    }
    const key = await store.apiKeys.findBySecretHash(hashSecret(secret));
    if (!key) throw new PalisadeError('API_KEY_INVALID');
    // Deep Security's `expiryDate`: from then on the key is refused like an unknown one.
    if (key.expiresAt !== null && now() >= key.expiresAt) throw new PalisadeError('API_KEY_INVALID', 'it has expired');
    // A POST that only reads (Deep Security's `…/search`) is not a write.
    if (key.role === 'read-only' && WRITE_METHODS.has(req.method) && req.routeOptions.config?.readsOnly !== true)
      throw new PalisadeError('READ_ONLY_API_KEY');
    req.apiKey = key;
    // Last use is informational; at most one write a minute per key keeps reads cheap.
    if (key.lastUsedAt === null || now() - key.lastUsedAt > 60_000) await store.apiKeys.touch(key.id, now());
  });
}
