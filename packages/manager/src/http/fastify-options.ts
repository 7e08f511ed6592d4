import { MAX_BODY_BYTES } from '@palisade/protocol';
import { type FastifyBaseLogger, LogController } from 'fastify';
import type { Logger } from 'pino';

/**
 * Options both servers share. Ajv is strict: no type coercion ("5" is not 5), no silent removal
 * of unknown members, no defaults filled in — bad input is refused, never repaired. Per-request
 * log lines are off (a fleet's heartbeats would drown the log); errors are logged by the
 * error handler.
 */
export function commonFastifyOptions(logger: Logger) {
  return {
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: MAX_BODY_BYTES,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
  } as const;
}
