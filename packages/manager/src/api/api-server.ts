import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { commonFastifyOptions } from '../http/fastify-options.js';
import { installErrorHandling } from '../http/error-handling.js';
import type { Store } from '../store/store.js';
import { installApiKeyAuth } from './auth.js';
import { monitoringRoutes } from './monitoring-routes.js';
import { computersRoutes } from './computers-routes.js';
import { tlsRoutes } from './tls-routes.js';

export interface ApiServerDeps {
  store: Store;
  logger: Logger;
  tls: { key: string; cert: string };
  /** The live agent endpoint's TLS policy; without it `POST /api/tls/policy` only stores the value. */
  agentTls?: import('../agent-endpoint-tls.js').AgentEndpointTls;
  /** The monitor (alerts, events, notifiers, VM state); without it those routes are absent. */
  monitoring?: import('../monitor/monitoring.js').Monitoring;
  now?: () => number;
}

/** The HTTPS API (4119): `/healthz` without auth, `/api/…` with an API key. */
export function createApiServer(deps: ApiServerDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const app = Fastify({
    ...commonFastifyOptions(deps.logger),
    https: { ...deps.tls, minVersion: 'TLSv1.2' },
  });
  installErrorHandling(app);

  app.get('/healthz', async (_req, reply) => {
    try {
      await deps.store.getSystemSetting('schema');
      return { status: 'ok' };
    } catch (e) {
      return reply.status(503).send({ status: 'unavailable', reason: `store: ${(e as Error).message}` });
    }
  });

  app.register(async (api) => {
    installApiKeyAuth(api, deps.store, now);
    computersRoutes(api, deps.store, now);
    tlsRoutes(api, { store: deps.store, agentTls: deps.agentTls });
    if (deps.monitoring) monitoringRoutes(api, deps.store, deps.monitoring, now);
  });
  return app;
}
