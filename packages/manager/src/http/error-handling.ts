import type { FastifyError, FastifyInstance, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors.js';

/** Fastify's own error codes → ours, so clients see one error vocabulary. */
function translate(err: FastifyError, req: FastifyRequest): PalisadeError | null {
  if (err instanceof PalisadeError) return err;
  if (err.validation) {
    const where = err.validationContext ?? 'body';
    // A path segment that can never be an ID (`/api/policies/default` before that route existed,
    // `/api/computers/search` with GET) names no resource: 404, as for an unknown route, never a
    // 400 that reads the word as a malformed ID.
    if (where === 'params') return new PalisadeError('NOT_FOUND', `${req.method} ${req.url.split('?')[0]}`);
    const first = err.validation[0];
    const path = first?.instancePath ? `${where}${first.instancePath.replace(/\//g, '.')}` : where;
    // Ajv's own sentence ("must NOT have additional properties") does not say which one.
    const extra = first?.keyword === 'additionalProperties' ? first.params?.additionalProperty : undefined;
    if (typeof extra === 'string')
      return new PalisadeError('VALIDATION_FAILED', `${path} has an unknown member "${extra}"`, { cause: err });
    return new PalisadeError('VALIDATION_FAILED', `${path} ${first?.message ?? 'is invalid'}`, { cause: err });
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
  return null;
}

/**
 * Error and not-found handlers shared by both servers: every 4xx carries a code and a reason;
 * anything unexpected is logged and answered 500 without internals.
 */
export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = translate(err, req);
    if (known) {
      req.log.debug({ code: known.code, url: req.url }, known.message);
      return reply.status(known.status).send(known.toBody());
    }
    req.log.error({ err, url: req.url }, 'request failed');
    const internal = new PalisadeError('INTERNAL');
    return reply.status(500).send(internal.toBody());
  });
  app.setNotFoundHandler((req, reply) => {
    const e = new PalisadeError('NOT_FOUND', `${req.method} ${req.url.split('?')[0]}`);
    return reply.status(404).send(e.toBody());
  });
}
