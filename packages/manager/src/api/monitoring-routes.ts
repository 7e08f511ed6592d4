import type { FastifyInstance } from 'fastify';
import type { SecretBox } from '../keys/secret-box.js';
import type { Monitoring } from '../monitor/monitoring.js';
import type { Store } from '../store/store.js';
import { alertsRoutes } from './alerts-routes.js';
import { eventsRoutes } from './events-routes.js';
import { notifierTestRoute } from './notifier-test-route.js';
import { notifiersRoutes } from './notifiers-routes.js';
import { vmStateRoutes } from './vm-state-routes.js';

/** The monitor's routes (docs/monitoring.md): alerts, events, notifiers, VM power state. */
export function monitoringRoutes(
  app: FastifyInstance,
  store: Store,
  monitoring: Monitoring,
  now: () => number,
  secrets: SecretBox,
): void {
  alertsRoutes(app, store, monitoring, now);
  notifierTestRoute(app, store, monitoring);
  eventsRoutes(app, store);
  notifiersRoutes(app, store, monitoring, now, secrets);
  vmStateRoutes(app, store, monitoring, now);
}
