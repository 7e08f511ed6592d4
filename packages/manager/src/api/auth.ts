import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors.js';
import { hashSecret } from '../secrets.js';
import type { ApiKeyRecord, Store } from '../store/store.js';

declare module 'fastify' {
  interface FastifyRequest {
    apiKey?: ApiKeyRecord;
  }
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * API-key authentication for `/api/…` (Deep Security's `api-secret-key` header). Read-only
 * keys get 403 on any write. Registered inside the API's own plugin scope so the agent
 * endpoint can never pick it up by accident.
 */
export function installApiKeyAuth(app: FastifyInstance, store: Store, now: () => number = Date.now): void {
  app.addHook('onRequest', async (req: FastifyRequest) => {
    const header = req.headers['api-secret-key'];
    const secret = Array.isArray(header) ? header[0] : header;
    if (!secret) throw new PalisadeError('API_KEY_REQUIRED');
    // Deep Security clients send `api-version: v1`; refuse a version we do not speak rather than guess.
    const version = req.headers['api-version'];
    if (version !== undefined && version !== 'v1')
      throw new PalisadeError('API_VERSION_UNSUPPORTED', `got "${String(version)}"`);
    const key = await store.findApiKeyBySecretHash(hashSecret(secret));
    if (!key) throw new PalisadeError('API_KEY_INVALID');
    if (key.role === 'read-only' && WRITE_METHODS.has(req.method)) throw new PalisadeError('READ_ONLY_API_KEY');
    req.apiKey = key;
    // Last use is informational; at most one write a minute per key keeps reads cheap.
    if (key.lastUsedAt === null || now() - key.lastUsedAt > 60_000) await store.touchApiKey(key.id, now());
  });
}
