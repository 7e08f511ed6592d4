import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import { eventView } from '../notifiers/notification.js';
import { SEVERITIES } from '../notifiers/notifier-config.js';
import type { Store } from '../store/store.js';
import { Nullable } from './alerts-routes.js';

export const EventView = Type.Object(
  {
    ID: Type.Integer({ description: "the manager's id: the order events were stored" }),
    computerID: Type.Integer(),
    hostName: Nullable(Type.String()),
    epoch: Nullable(
      Type.String({
        description:
          "the agent's numbering seq belongs to: it starts a new one whenever its state may have gone back in time (a VM snapshot reverted); null for agents before epochs",
      }),
    ),
    seq: Type.Integer({ description: "the agent's sequence number (unique per computer and epoch)" }),
    type: Type.String(),
    severity: Type.String({ enum: [...SEVERITIES] }),
    message: Type.String(),
    agentTime: Type.Number({ description: 'epoch ms, agent clock' }),
    receivedAt: Type.Number({ description: 'epoch ms, manager clock' }),
    data: Nullable(Type.Record(Type.String(), Type.Unknown())),
  },
  { additionalProperties: false },
);

const EventsQuery = Type.Object(
  {
    computer: Type.Optional(Type.String({ pattern: '^[1-9][0-9]{0,15}$', description: 'computer ID' })),
    type: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
    severity: Type.Optional(Type.String({ enum: [...SEVERITIES] })),
    since: Type.Optional(
      Type.String({ maxLength: 40, description: 'received at or after: epoch ms, or an ISO 8601 date-time' }),
    ),
    order: Type.Optional(
      Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
        description: 'desc (default): newest first; asc: oldest first',
      }),
    ),
    limit: Type.Optional(Type.String({ pattern: '^([1-9][0-9]{0,2}|1000)$', description: '1-1000, default 100' })),
    cursor: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'nextCursor of the previous page' }),
    ),
  },
  { additionalProperties: false },
);

export const EventPage = Type.Object({
  events: Type.Array(EventView),
  nextCursor: Nullable(
    Type.String({ description: 'pass as cursor for the next page; null when this page was the last' }),
  ),
});

type Order = 'asc' | 'desc';

/** Cursors are opaque to clients: the order and the last id seen. */
export function encodeCursor(order: Order, id: number): string {
  return Buffer.from(`${order}:${id}`).toString('base64url');
}

export function decodeCursor(cursor: string, order: Order): number {
  const m = /^(asc|desc):([1-9][0-9]{0,15})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new PalisadeError('EVENTS_CURSOR_INVALID', 'use the nextCursor of a previous page as it was given');
  if (m[1] !== order) throw new PalisadeError('EVENTS_CURSOR_INVALID', `the cursor is for order=${m[1]}, not ${order}`);
  return Number(m[2]);
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function parseSince(s: string): number {
  const t = /^[0-9]{1,15}$/.test(s) ? Number(s) : ISO_8601.test(s) ? Date.parse(s) : NaN;
  if (!Number.isFinite(t))
    throw new PalisadeError(
      'VALIDATION_FAILED',
      `querystring.since "${s}" is neither epoch ms nor an ISO 8601 date-time (2024-05-01T12:00:00Z)`,
    );
  return t;
}

/** `GET /api/events`: agent events as stored, filtered, paged by cursor. */
export function eventsRoutes(app: FastifyInstance, store: Store): void {
  app.get<{ Querystring: Static<typeof EventsQuery> }>(
    '/api/events',
    {
      schema: {
        ...{
          summary: 'List agent events',
          tags: ['Events'],
          description:
            'Paged by cursor: a page of `limit` events and a nextCursor while more may follow. Filters combine; the cursor keeps the order it was made with.',
        },
        querystring: EventsQuery,
        response: { 200: EventPage },
      },
    },
    async (req) => {
      const q = req.query;
      const order: Order = q.order ?? 'desc';
      const limit = Number(q.limit ?? 100);
      const events = await store.reads.events.query({
        order,
        limit,
        ...(q.computer !== undefined ? { computerId: Number(q.computer) } : {}),
        ...(q.type !== undefined ? { type: q.type } : {}),
        ...(q.severity !== undefined ? { severity: q.severity } : {}),
        ...(q.since !== undefined ? { since: parseSince(q.since) } : {}),
        ...(q.cursor !== undefined ? { afterId: decodeCursor(q.cursor, order) } : {}),
      });
      const last = events[events.length - 1];
      return {
        events: events.map(eventView),
        nextCursor: events.length === limit && last ? encodeCursor(order, last.cursor) : null,
      };
    },
  );
}
