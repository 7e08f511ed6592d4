import type { FastifyBaseLogger, FastifyError, FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import { storageFault } from '../store/store-write-health.js';

/** What a schema validator reports about a value it refused (Ajv's errors, as Fastify passes them on). */
type ValidationProblems = NonNullable<FastifyError['validation']>;

/**
 * A refused request part (`body`, `querystring`, `headers`) as our 400: where the first problem
 * is (`body.agent.version`) and what it is, naming an unknown member by its name.
 */
export function validationFailed(where: string, problems: ValidationProblems, cause?: unknown): PalisadeError {
  const first = problems[0];
  const path = first?.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where;
  // Ajv's own sentence ("must NOT have additional properties") does not say which one.
  const extra = first?.keyword === 'additionalProperties' ? first.params?.additionalProperty : undefined;
  if (typeof extra === 'string')
    return new PalisadeError('VALIDATION_FAILED', `${path} has an unknown member "${extra}"`, { cause });
  return new PalisadeError('VALIDATION_FAILED', `${path} ${first?.message ?? 'is invalid'}`, { cause });
}

/**
 * Fastify's own error codes → ours, so clients see one error vocabulary; null for an error that
 * is none of ours to explain (a bug: 500).
 */
function translateError(err: FastifyError, req: { method: string; url: string }): PalisadeError | null {
  if (err instanceof PalisadeError) return err;
  if (err.validation) {
    const where = err.validationContext ?? 'body';
    // A path segment that can never be an ID (`/api/policies/default` before that route existed,
    // `/api/computers/search` with GET) names no resource: 404, as for an unknown route, never a
    // 400 that reads the word as a malformed ID.
    if (where === 'params') return new PalisadeError('NOT_FOUND', `${req.method} ${req.url.split('?')[0]}`);
    return validationFailed(where, err.validation, err);
  }
  switch (err.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PalisadeError('INVALID_JSON', err.message, { cause: err });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PalisadeError('BODY_TOO_LARGE', undefined, { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PalisadeError('UNSUPPORTED_MEDIA_TYPE', undefined, { cause: err });
  }
  if (err instanceof SyntaxError) return new PalisadeError('INVALID_JSON', err.message, { cause: err });
  // Disk full and its kin are the storage's state, not a bug: say so (503, the engine's reason)
  // rather than a bare 500. The store logs the cause once when writes start failing.
  const fault = storageFault(err);
  if (fault) return new PalisadeError('STORE_UNAVAILABLE', fault, { cause: err });
  return null;
}

/**
 * The error to answer for `err`: ours, one translated (above), or INTERNAL for anything else —
 * logged, a bug's with its stack (never sent), a refusal at debug level. Both servers' error
 * handlers answer with it, and so does the agent endpoint's heartbeat path beside Fastify
 * (agent-endpoint/lean-heartbeat.ts).
 */
export function errorAnswer(
  err: FastifyError,
  req: { method: string; url: string },
  log: Pick<FastifyBaseLogger, 'debug' | 'error'>,
): PalisadeError {
  const known = translateError(err, req);
  if (known) {
    log.debug({ code: known.code, url: req.url }, known.message);
    return known;
  }
  log.error({ err, url: req.url }, 'request failed');
  return new PalisadeError('INTERNAL');
}

/** The client went away mid-request (RST, or the body cut short): nothing to answer, nothing broke. */
function clientAborted(err: FastifyError): boolean {
  return err.code === 'ECONNRESET' || err.code === 'ECONNABORTED';
}

/** A route pattern (`/api/policies/:id`) as a regular expression over concrete paths. */
function patternOf(url: string): RegExp {
  const parts = url
    .split('/')
    .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.+?^${}()|[\]\\]/g, '\\$&')));
  return new RegExp(`^${parts.join('/')}/?$`);
}

/**
 * Which methods each route pattern answers, so a known path asked with another method gets 405
 * and an `Allow` header (RFC 9110 §15.5.6) instead of 404. Catch-all routes (`/*`, the console's
 * client-side routes) are left out: they say nothing about which methods a path has.
 */
class RouteMethods {
  private readonly byUrl = new Map<string, { pattern: RegExp; methods: Set<string> }>();

  add(url: string, methods: string | string[]): void {
    if (url.includes('*')) return;
    let entry = this.byUrl.get(url);
    if (!entry) {
      entry = { pattern: patternOf(url), methods: new Set() };
      this.byUrl.set(url, entry);
    }
    for (const m of Array.isArray(methods) ? methods : [methods]) entry.methods.add(m.toUpperCase());
  }

  /** The methods some route answers on `path`; empty when no route has it. */
  allowed(path: string): string[] {
    const out = new Set<string>();
    for (const { pattern, methods } of this.byUrl.values()) if (pattern.test(path)) for (const m of methods) out.add(m);
    return [...out].sort();
  }
}

/**
 * Error and not-found handlers shared by both servers: every 4xx carries a code and a reason;
 * anything unexpected is logged and answered 500 without internals. A body is JSON or nothing:
 * Fastify's default `text/plain` parser is removed, so any other content type is 415, not a
 * schema error. A known path with an unknown method is 405. Call before registering routes.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.removeContentTypeParser('text/plain');
  const routes = new RouteMethods();
  app.addHook('onRoute', (r) => routes.add(r.url ?? r.path, r.method));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (clientAborted(err)) {
      // RFC 9112 §9.6: a client may close at any time; that is its decision, not our failure.
      req.log.info({ url: req.url, reason: err.message }, 'client closed the connection before the request finished');
      return reply.status(400).send(new PalisadeError('INVALID_JSON', 'the request body was cut short').toBody());
    }
    const answer = errorAnswer(err, req, req.log);
    return reply.status(answer.status).send(answer.toBody());
  });
  app.setNotFoundHandler((req, reply) => {
    const path = req.url.split('?')[0] ?? '';
    const allow = routes.allowed(path);
    if (allow.length > 0 && !allow.includes(req.method)) {
      const e = new PalisadeError('METHOD_NOT_ALLOWED', `${req.method} ${path}; allowed: ${allow.join(', ')}`);
      return reply.status(405).header('allow', allow.join(', ')).send(e.toBody());
    }
    const e = new PalisadeError('NOT_FOUND', `${req.method} ${path}`);
    return reply.status(404).send(e.toBody());
  });
}
