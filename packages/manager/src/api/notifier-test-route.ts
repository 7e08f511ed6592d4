import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { Monitoring } from '../monitor/monitoring.js';
import type { Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { IdParams } from './computers-routes.js';

/**
 * `POST /api/notifiers/{id}/test`: one test message to the notifier's receiver now (the console's
 * "Send test"). It answers once the receiver took it, or `502 NOTIFIER_TEST_FAILED` with the
 * receiver's reason; the notifier's stream, backlog and failure count are not touched.
 */
export function notifierTestRoute(app: FastifyInstance, store: Store, monitoring: Monitoring): void {
  app.post<{ Params: Static<typeof IdParams> }>(
    '/api/notifiers/:id/test',
    {
      schema: {
        summary: 'Send a test message',
        description:
          "Delivers one agent event of type notifier-test (computerID 0, severity info) to the receiver, whatever the notifier's sources, minimum severity or enabled state, and answers when the receiver took it (502 NOTIFIER_TEST_FAILED with its reason if not). Delivery state and backlog are not changed.",
        tags: ['Notifiers'],
        params: IdParams,
        response: { 200: Type.Object({ delivered: Type.Literal(true), message: Type.String() }) },
      },
    },
    async (req) => {
      const n = await store.notifiers.get(Number(req.params.id));
      if (!n) throw new PalisadeError('NOTIFIER_NOT_FOUND', req.params.id);
      const by = req.consoleSession ? `user ${req.consoleSession.user.name}` : actorOf(req);
      const r = await monitoring.notifiers.sendTest(n, by);
      if ('error' in r) throw new PalisadeError('NOTIFIER_TEST_FAILED', r.error);
      req.log.info({ notifier: n.id, name: n.name }, 'notifier test message delivered');
      return { delivered: true as const, message: `The ${n.settings.kind} receiver took the test message.` };
    },
  );
}
