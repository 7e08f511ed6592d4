import { ALERT_TYPE_NAMES } from '@palisade/core';
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { Monitoring } from '../monitor/monitoring.js';
import { alertView } from '../notifiers/notification.js';
import type { Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { IdParams } from './computers-routes.js';

export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const AlertView = Type.Object(
  {
    ID: Type.Integer(),
    type: Type.String({
      enum: ALERT_TYPE_NAMES,
      description:
        'computer-offline, clock-change, driver-offline, configuration-update-failed, duplicate-computer, events-deferred, agent-upgrade-failed, manager-offline',
    }),
    name: Type.String({ description: 'the type as a title, e.g. "Computer Offline"' }),
    severity: Type.String({ enum: ['warning', 'critical'] }),
    computerID: Nullable(Type.Integer()),
    hostName: Nullable(Type.String()),
    subject: Nullable(
      Type.String({ description: 'what on the computer: the driver for driver-offline; null otherwise' }),
    ),
    message: Type.String(),
    data: Nullable(Type.Record(Type.String(), Type.Unknown())),
    raisedAt: Type.Number({ description: 'epoch ms' }),
    clearedAt: Nullable(Type.Number({ description: 'epoch ms; the condition ended (alerts are never deleted)' })),
    dismissedAt: Nullable(Type.Number({ description: 'epoch ms; an operator dismissed it' })),
    dismissedBy: Nullable(Type.String()),
    active: Type.Boolean({ description: 'neither cleared nor dismissed' }),
  },
  { additionalProperties: false },
);

const AlertsQuery = Type.Object(
  {
    active: Type.Optional(
      Type.Union([Type.Literal('true'), Type.Literal('false')], {
        description: 'true: neither cleared nor dismissed; false: cleared or dismissed; absent: all',
      }),
    ),
    computer: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'computer ID' })),
    type: Type.Optional(Type.String({ enum: ALERT_TYPE_NAMES })),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: '1-1000, default 100' })),
    offset: Type.Optional(Type.String({ pattern: '^[0-9]{1,9}$', description: 'default 0' })),
  },
  { additionalProperties: false },
);

export const AlertList = Type.Object({
  alerts: Type.Array(AlertView),
  total: Type.Integer({ description: 'alerts matching the filters' }),
  limit: Type.Integer(),
  offset: Type.Integer(),
});

const tags = ['Alerts'];
const doc = (summary: string, description?: string) => ({ summary, tags, ...(description ? { description } : {}) });

/** `/api/alerts`: what the monitor raised, newest first, and dismissing. */
export function alertsRoutes(app: FastifyInstance, store: Store, monitoring: Monitoring, now: () => number): void {
  app.get<{ Querystring: Static<typeof AlertsQuery> }>(
    '/api/alerts',
    {
      schema: {
        ...doc('List alerts', 'Newest first; filters combine.'),
        querystring: AlertsQuery,
        response: { 200: AlertList },
      },
    },
    async (req) => {
      const q = req.query;
      const limit = Number(q.limit ?? 100);
      const offset = Number(q.offset ?? 0);
      const r = await store.reads.alerts.list({
        ...(q.active !== undefined ? { active: q.active === 'true' } : {}),
        ...(q.computer !== undefined ? { computerId: Number(q.computer) } : {}),
        ...(q.type !== undefined ? { type: q.type } : {}),
        limit,
        offset,
      });
      return { alerts: r.alerts.map(alertView), total: r.total, limit, offset };
    },
  );

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/alerts/:id',
    { schema: { ...doc('Describe an alert'), params: IdParams, response: { 200: AlertView } } },
    async (req) => {
      const a = await store.alerts.get(Number(req.params.id));
      if (!a) throw new PalisadeError('ALERT_NOT_FOUND', req.params.id);
      return alertView(a);
    },
  );

  app.post<{ Params: Static<typeof IdParams> }>(
    '/api/alerts/:id/dismiss',
    {
      schema: {
        ...doc(
          'Dismiss an alert',
          'It leaves the active list; it stays open until its condition ends (then clearedAt is set), so the same condition does not raise it again meanwhile. Dismissing twice changes nothing.',
        ),
        params: IdParams,
        response: { 200: AlertView },
      },
    },
    async (req) => {
      const by = actorOf(req);
      const r = await store.alerts.dismiss(Number(req.params.id), by, now());
      if (!r) throw new PalisadeError('ALERT_NOT_FOUND', req.params.id);
      if (r.changes.length > 0) monitoring.notifiers.wake();
      return alertView(r.alert);
    },
  );
}
