import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { SecretBox } from '../keys/secret-box.js';
import type { Monitoring } from '../monitor/monitoring.js';
import { NotifierBody, notifierSettingsFrom, SYSLOG_DEFAULT_PORTS } from '../notifiers/notifier-config.js';
import type { NotifierRecord, Store } from '../store/store.js';
import { Nullable } from './alerts-routes.js';
import { seesDetails } from './auth-actor.js';
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
        url: Type.String({
          description:
            'user name, password and query values masked (****); read-only keys see only the scheme, host and port',
        }),
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
      lastError: Nullable(
        Type.String({ description: 'the reason of the last failure; read-only keys see only that it failed' }),
      ),
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

/** The host and port a checked body sends to. */
function destinationOf(body: NotifierBody): { host: string; port: number } {
  if (body.webhook) {
    const url = new URL(body.webhook.url);
    return { host: url.hostname, port: Number(url.port) || (url.protocol === 'https:' ? 443 : 80) };
  }
  const s = body.syslog!;
  return { host: s.host, port: s.port ?? SYSLOG_DEFAULT_PORTS[s.transport] };
}

const tags = ['Notifiers'];
const doc = (summary: string, description?: string) => ({ summary, tags, ...(description ? { description } : {}) });

/** What read-only callers see in place of a delivery error. */
export const REDACTED_DELIVERY_ERROR = 'delivery failed (the reason is shown to full-access keys)';

/**
 * A notifier as the API shows it. Credentials never come back (header values, the URL's user
 * name, password and query values are masked); a read-only caller sees only the webhook's
 * origin and not the delivery error.
 */
async function notifierView(store: Store, n: NotifierRecord, details: boolean) {
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
            url: details ? s.webhook.url : new URL(s.webhook.url).origin,
            headers: Object.fromEntries(s.webhook.headerNames.map((k) => [k, '(set)'])),
            ca: s.webhook.ca,
            timeoutSeconds: s.webhook.timeoutSeconds,
          },
        }
      : { syslog: s.syslog }),
    createdAt: n.createdAt,
    delivery: {
      delivered: n.deliveredCount,
      lastDeliveredAt: n.lastDeliveredAt,
      failures: n.failures,
      lastError: n.lastError === null || details ? n.lastError : REDACTED_DELIVERY_ERROR,
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
export function notifiersRoutes(
  app: FastifyInstance,
  store: Store,
  monitoring: Monitoring,
  now: () => number,
  secrets: SecretBox,
): void {
  app.get(
    '/api/notifiers',
    { schema: { ...doc('List notifiers'), response: { 200: Type.Object({ notifiers: Type.Array(NotifierView) }) } } },
    async (req) => {
      const all = await store.notifiers.list();
      const details = seesDetails(req);
      return { notifiers: await Promise.all(all.map((n) => notifierView(store, n, details))) };
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
      const r = notifierSettingsFrom(req.body, secrets);
      if ('problem' in r) throw new PalisadeError('NOTIFIER_CONFIG_INVALID', r.problem);
      const to = destinationOf(req.body);
      const refused = await monitoring.notifiers.guard.refusal(to.host, to.port);
      if (refused) throw new PalisadeError('NOTIFIER_DESTINATION_REFUSED', refused);
      const n = await store.notifiers.create({
        name: req.body.name,
        settings: r.settings,
        enabled: req.body.enabled ?? true,
        now: now(),
      });
      if (n === 'name-taken') throw new PalisadeError('NOTIFIER_NAME_TAKEN', `"${req.body.name}"`);
      req.log.info({ notifier: n.id, name: n.name, kind: n.settings.kind }, 'notifier created');
      return reply.status(201).send(await notifierView(store, n, seesDetails(req)));
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
      return notifierView(store, n, seesDetails(req));
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
