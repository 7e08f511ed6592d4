import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PalisadeError } from '../errors.js';

/** Where `npm run build` puts the console (packages/console/dist), seen from this compiled file. */
export const DEFAULT_CONSOLE_DIR = fileURLToPath(new URL('../../../console/dist/', import.meta.url));

/**
 * Content-Security-Policy of every response on 4119: scripts and styles only from the manager
 * itself (no inline script, no eval), nothing framed, no plug-ins, forms and fetches to the
 * manager only. Inline *style attributes* are allowed because the accessible primitives
 * (Radix) position popovers and lock scrolling through element styles; they cannot run code.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Browser-facing headers every 4119 response carries (OWASP HTTP Headers Cheat Sheet). */
export function installSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    // The API port is HTTPS only; browsers that once saw it keep to HTTPS for a year.
    reply.header('strict-transport-security', 'max-age=31536000');
  });
}

const NOT_BUILT =
  '<!doctype html><html lang="en"><title>Palisade manager</title><h1>Palisade manager</h1>' +
  '<p>The web console has not been built in this checkout: run <code>npm run build</code> (or <code>npm start</code>, which builds it) and restart the manager. ' +
  'The REST API is at <code>/api/</code> (header <code>api-secret-key</code>; see docs/api.md), ' +
  'its description at <a href="/api/openapi.json">/api/openapi.json</a>, health at <a href="/healthz">/healthz</a>.</p></html>';

/**
 * The web console: the static files Vite built, and `index.html` for every console route (the
 * console routes in the browser). Hashed files under `assets/` never change, so browsers keep
 * them for a year without asking (`immutable`); `index.html`, which names them, is revalidated
 * on every load (`no-cache`), so a new build is picked up at once. Gzip and Brotli copies made
 * at build time are served to browsers that accept them.
 */
export async function consoleRoutes(app: FastifyInstance, dir: string = DEFAULT_CONSOLE_DIR): Promise<void> {
  const index = join(dir, 'index.html');
  const built = existsSync(index);
  if (built) {
    await app.register(fastifyStatic, {
      root: dir,
      prefix: '/',
      wildcard: false,
      index: false,
      preCompressed: true,
      cacheControl: false,
      // Dot files and the compressed copies are not addressable themselves.
      globIgnore: ['**/.*', '**/*.gz', '**/*.br'],
      setHeaders: (reply, path) => {
        reply.header(
          'cache-control',
          path.includes(`${join(dir, 'assets')}/`) ? 'public, max-age=31536000, immutable' : 'no-cache',
        );
      },
    });
  }
  const page = (reply: FastifyReply) =>
    built
      ? reply.header('cache-control', 'no-cache').sendFile('index.html', dir, { cacheControl: false })
      : reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(NOT_BUILT);
  app.get('/', async (_req, reply) => page(reply));
  // Client-side routes (/computers/12/settings …) load the console, which then routes itself. A
  // path with a file extension, or under /api/ and /assets/, is a missing file: 404.
  app.get('/*', async (req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    if (/^\/(api|assets)\//.test(path) || /\.[A-Za-z0-9]{1,8}$/.test(path))
      throw new PalisadeError('NOT_FOUND', `${req.method} ${path}`);
    return page(reply);
  });
}
