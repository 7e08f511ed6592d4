import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { Monitoring } from '../monitor/monitoring.js';
import { NotifierBody, notifierSettingsFrom } from '../notifiers/notifier-config.js';
import type { NotifierRecord, Store } from '../store/store.js';
import { Nullable } from './alerts-routes.js';
import { IdParams } from './computers-routes.js';

export const NotifierView = Type.Object(
  {
    ID: Type.Integer(),
    name: Type.String(),
    kind: Type.String({ enum: ['webhook', 'syslog'] }),
    enabled: Type.Boolean(),
    sources: Type.Array(Type.String({ enum: ['alerts', 'events'] })),
    minSeverity: Type.String(),
    webhook: Type.Optional(
      Type.Object({
        url: Type.String(),
        headers: Type.Record(Type.String(), Type.String({ description: 'values are never shown' })),
        ca: Nullable(Type.String()),
        timeoutSeconds: Type.Integer(),
      }),
    ),
    syslog: Type.Optional(
      Type.Object({
        host: Type.String(),
        port: Type.Integer(),
        transport: Type.String({ enum: ['udp', 'tcp', 'tls'] }),
        format: Type.String({ enum: ['plain', 'cef'] }),
        facility: Type.Integer(),
        ca: Nullable(Type.String()),
      }),
    ),
    createdAt: Type.Number(),
    delivery: Type.Object({
      delivered: Type.Integer({ description: 'alerts and events delivered since it was created' }),
      lastDeliveredAt: Nullable(Type.Number()),
      failures: Type.Integer({ description: 'consecutive failed attempts; 0 when healthy' }),
      lastError: Nullable(Type.String()),
      lastErrorAt: Nullable(Type.Number()),
      nextAttemptAt: Nullable(Type.Number({ description: 'while failing: when it is retried (exponential backoff)' })),
      backlog: Type.Object({
        alerts: Type.Integer(),
        events: Type.Integer(),
        capped: Type.Boolean({ description: 'true: at least this many (counting stops at 10000)' }),
      }),
    }),
  },
  { additionalProperties: false },
);

const tags = ['Notifiers'];
const doc = (summary: string, description?: string) => ({ summary, tags, ...(description ? { description } : {}) });

async function notifierView(store: Store, n: NotifierRecord) {
  const s = n.settings;
  return {
    ID: n.id,
    name: n.name,
    kind: s.kind,
    enabled: n.enabled,
    sources: s.sources,
    minSeverity: s.minSeverity,
    ...(s.kind === 'webhook'
      ? {
          webhook: {
            ...s.webhook,
            headers: Object.fromEntries(Object.keys(s.webhook.headers).map((k) => [k, '(set)'])),
          },
        }
      : { syslog: s.syslog }),
    createdAt: n.createdAt,
    delivery: {
      delivered: n.deliveredCount,
      lastDeliveredAt: n.lastDeliveredAt,
      failures: n.failures,
      lastError: n.lastError,
      lastErrorAt: n.lastErrorAt,
      nextAttemptAt: n.failures > 0 ? n.nextAttemptAt : null,
      backlog: await store.notifiers.backlog(n),
    },
  };
}

/**
 * `/api/notifiers`: receivers of alerts and events (webhook, syslog). A new notifier delivers
 * what is stored from its creation on; docs/monitoring.md has examples.
 */
export function notifiersRoutes(app: FastifyInstance, store: Store, monitoring: Monitoring, now: () => number): void {
  app.get(
    '/api/notifiers',
    { schema: { ...doc('List notifiers'), response: { 200: Type.Object({ notifiers: Type.Array(NotifierView) }) } } },
    async () => {
      const all = await store.notifiers.list();
      return { notifiers: await Promise.all(all.map((n) => notifierView(store, n))) };
    },
  );

  app.post<{ Body: NotifierBody }>(
    '/api/notifiers',
    {
      schema: {
        ...doc(
          'Create a notifier',
          'A webhook (JSON POST per alert or event) or a syslog receiver (RFC 5424 over UDP, TCP or TLS; plain or CEF). It receives what happens from now on.',
        ),
        body: NotifierBody,
        response: { 201: NotifierView },
      },
    },
    async (req, reply) => {
      const r = notifierSettingsFrom(req.body);
      if ('problem' in r) throw new PalisadeError('NOTIFIER_CONFIG_INVALID', r.problem);
      const n = await store.notifiers.create({
        name: req.body.name,
        settings: r.settings,
        enabled: req.body.enabled ?? true,
        now: now(),
      });
      if (n === 'name-taken') throw new PalisadeError('NOTIFIER_NAME_TAKEN', `"${req.body.name}"`);
      req.log.info({ notifier: n.id, name: n.name, kind: n.settings.kind }, 'notifier created');
      return reply.status(201).send(await notifierView(store, n));
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/notifiers/:id',
    {
      schema: {
        ...doc(
          'Describe a notifier',
          'Its configuration and delivery state: backlog, failures, last error, next retry.',
        ),
        params: IdParams,
        response: { 200: NotifierView },
      },
    },
    async (req) => {
      const n = await store.notifiers.get(Number(req.params.id));
      if (!n) throw new PalisadeError('NOTIFIER_NOT_FOUND', req.params.id);
      return notifierView(store, n);
    },
  );

  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/notifiers/:id',
    {
      schema: {
        ...doc('Delete a notifier', 'Its undelivered backlog is dropped with it.'),
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      if (!(await store.notifiers.delete(id))) throw new PalisadeError('NOTIFIER_NOT_FOUND', req.params.id);
      monitoring.notifiers.forget(id);
      return reply.status(204).send();
    },
  );
}
