import { COMPUTER_STATUSES } from '@palisade/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Monitoring } from '../monitor/monitoring.js';
import { alertView, eventView } from '../notifiers/notification.js';
import type { Store } from '../store/store.js';
import { AlertView } from './alerts-routes.js';
import { EventView } from './events-routes.js';

const Dashboard = Type.Object({
  computers: Type.Object({
    total: Type.Integer(),
    byStatus: Type.Object(Object.fromEntries(COMPUTER_STATUSES.map((s) => [s, Type.Integer()]))),
  }),
  alerts: Type.Object({
    active: Type.Integer({ description: 'neither cleared nor dismissed' }),
    recent: Type.Array(AlertView, { description: 'the newest active alerts, at most 5' }),
  }),
  events: Type.Object({ recent: Type.Array(EventView, { description: 'the newest events, at most 8' }) }),
});
type Dashboard = Static<typeof Dashboard>;

/** How often the live feed looks for a change; one look serves every open console. */
export const DASHBOARD_POLL_MS = 2_000;
/** A comment line this often keeps proxies from closing an idle stream. */
const KEEPALIVE_MS = 25_000;

/**
 * `GET /api/dashboard` (computers by status, active alerts, recent events) and
 * `GET /api/dashboard/stream`, the same as server-sent events (WHATWG HTML §9.2): one
 * `dashboard` event on connect and another whenever it changes. The summary is computed once per
 * poll for all listeners, and only while someone listens.
 */
export function dashboardRoutes(
  app: FastifyInstance,
  store: Store,
  monitoring: Monitoring | undefined,
  now: () => number,
  pollMs = DASHBOARD_POLL_MS,
): void {
  // Counts and scans: on the store's read connection (Store.reads), beside the heartbeats.
  const reads = store.reads;
  const summary = async (): Promise<Dashboard> => {
    const byStatus = await reads.computers.countByStatus(now());
    const total = Object.values(byStatus).reduce((a, b) => a + b, 0);
    if (!monitoring)
      return { computers: { total, byStatus }, alerts: { active: 0, recent: [] }, events: { recent: [] } };
    const [alerts, events] = await Promise.all([
      reads.alerts.list({ active: true, limit: 5, offset: 0 }),
      reads.events.query({ order: 'desc', limit: 8 }),
    ]);
    return {
      computers: { total, byStatus },
      alerts: { active: alerts.total, recent: alerts.alerts.map(alertView) },
      events: { recent: events.map(eventView) },
    };
  };

  // One poller for every open stream.
  const listeners = new Set<(data: string) => void>();
  let last = '';
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    try {
      const data = JSON.stringify(await summary());
      if (data !== last) {
        last = data;
        for (const l of listeners) l(data);
      }
    } catch (err) {
      app.log.warn({ err }, 'dashboard summary failed');
    }
    if (listeners.size > 0) timer = setTimeout(tick, pollMs);
    else timer = undefined;
  };
  const open = new Set<import('node:http').ServerResponse>();
  // Before the server closes: it waits for open connections, and a stream never ends by itself.
  app.addHook('preClose', async () => {
    if (timer) clearTimeout(timer);
    listeners.clear();
    for (const res of open) res.end();
  });

  const tags = ['Console'];
  app.get(
    '/api/dashboard',
    { schema: { summary: 'Computers by status, active alerts, recent events', tags, response: { 200: Dashboard } } },
    async () => summary(),
  );

  app.get(
    '/api/dashboard/stream',
    {
      schema: {
        summary: 'The dashboard as server-sent events',
        description:
          'text/event-stream: a `dashboard` event (the GET /api/dashboard body) on connect and on every change.',
        tags,
      },
    },
    async (req, reply) => {
      const first = JSON.stringify(await summary());
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        connection: 'keep-alive',
      });
      const send = (data: string) => res.write(`event: dashboard\ndata: ${data}\n\n`);
      send(first);
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      listeners.add(send);
      open.add(res);
      if (!timer) {
        last = first;
        timer = setTimeout(tick, pollMs);
      }
      const stop = () => {
        clearInterval(keepalive);
        listeners.delete(send);
        open.delete(res);
      };
      req.raw.on('close', stop);
      res.on('error', stop);
    },
  );
}
