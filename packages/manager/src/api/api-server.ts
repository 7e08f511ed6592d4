import fastifyCookie from '@fastify/cookie';
import { tlsContextOptions } from '@palisade/core';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { type PortLimits, serverTimeouts } from '../http/connection-guard.js';
import { installErrorHandling } from '../http/error-handling.js';
import { commonFastifyOptions } from '../http/fastify-options.js';
import { defaultUpgradeOrderLifeMs } from '../ingest.js';
import type { SecretBox } from '../keys/secret-box.js';
import { AgentUpgradeService } from '../services/agent-upgrades.js';
import { ApiKeyService } from '../services/api-key-service.js';
import type { ComputerActionsService } from '../services/computer-actions.js';
import { ComputerLifecycleService } from '../services/computer-lifecycle.js';
import type { ConsoleAuthService } from '../services/console-auth-service.js';
import type { FirewallListService } from '../services/firewall-list-service.js';
import type { FirewallService } from '../services/firewall-service.js';
import type { PolicyService } from '../services/policy-service.js';
import type { SystemSettingsService } from '../services/system-settings-service.js';
import type { TlsPolicyService } from '../services/tls-policy-service.js';
import type { Store } from '../store/store.js';
import { actionsRoutes } from './actions-routes.js';
import { administratorRoutes } from './administrator-routes.js';
import { agentUpgradeRoutes } from './agent-upgrade-routes.js';
import { apiKeyRoutes } from './api-key-routes.js';
import { auditRoutes } from './audit-routes.js';
import { installApiKeyAuth } from './auth.js';
import { computersRoutes } from './computers-routes.js';
import { consoleRoutes, installSecurityHeaders } from './console-static.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { agentDownloadRoute, type DeploymentRouteDeps, deploymentRoutes } from './deployment-routes.js';
import { firewallListRoutes } from './firewall-list-routes.js';
import { firewallRoutes } from './firewall-routes.js';
import { legacyRestRoutes, managerInfoRoutes } from './manager-info-routes.js';
import { managerNodesRoutes } from './manager-nodes-routes.js';
import { monitoringRoutes } from './monitoring-routes.js';
import { OpenApiCollector } from './openapi.js';
import { policiesRoutes } from './policies-routes.js';
import { roleRoutes } from './role-routes.js';
import { sessionRoutes } from './session-routes.js';
import { settingsRoutes } from './settings-routes.js';
import { systemSettingsRoutes } from './system-settings-routes.js';
import { tlsRoutes } from './tls-routes.js';

/** The services the routes call; built where the manager is put together (manager.ts). */
export interface ApiServices {
  policies: PolicyService;
  firewall: FirewallService;
  /** IP, MAC and port lists. */
  firewallLists: FirewallListService;
  tlsPolicy: TlsPolicyService;
  /** Manager-wide settings (`/api/systemsettings`), with every feature's registered. */
  systemSettings: SystemSettingsService;
  /** Console users and sessions (sign-in, the session cookie beside API keys). */
  consoleAuth: ConsoleAuthService;
  /** Check Status, Send Policy, the communication view; without it those routes are absent. */
  actions?: ComputerActionsService | undefined;
  /** Deactivation and deletion; default one over the store that tells no agent (they learn at their next contact). */
  lifecycle?: ComputerLifecycleService | undefined;
}

export interface ApiServerDeps {
  /** Reads the routes make directly (API keys, alerts, events, notifiers, Updating). */
  store: Store;
  /** Seals the credentials of notifiers created through the API (keys/secret-box.ts). */
  secrets: SecretBox;
  logger: Logger;
  tls: { key: string; cert: string };
  services: ApiServices;
  /** The monitor (alerts, events, notifiers, VM state); without it those routes are absent. */
  monitoring?: import('../monitor/monitoring.js').Monitoring | undefined;
  heartbeatIntervalSeconds: number;
  /** Served as `GET /metrics` behind the API key; without it the route is absent. */
  metrics?: import('../metrics/manager-metrics.js').ManagerMetrics | undefined;
  /** Agent packages, deployment scripts, activation tokens; without it those routes are absent. */
  deployment?: Omit<DeploymentRouteDeps, 'store' | 'now'> | undefined;
  now?: () => number;
  /** Timeouts of the port (http/connection-guard.ts); its connection caps are installed by the caller. */
  limits?: PortLimits | undefined;
  /** The built console (index.html and assets/); default packages/console/dist. Without it `/` says how to build it. */
  consoleDir?: string | undefined;
  /** How often the dashboard stream looks for changes (tests shorten it). */
  dashboardPollMs?: number | undefined;
}

/** The HTTPS API (4119): `/healthz` and the console's files without auth, `/api/…` with an API key or a console session. */
export function createApiServer(deps: ApiServerDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const timeouts = deps.limits ? serverTimeouts(deps.limits) : undefined;
  const app = Fastify({
    ...commonFastifyOptions(deps.logger),
    ...timeouts?.fastify,
    // The admin API always serves the `modern` suites (TLS 1.3, TLS 1.2 ECDHE only): its
    // clients are browsers and scripts, never old agents, so the agent TLS policy does not apply.
    https: { ...deps.tls, ...tlsContextOptions('modern'), ...timeouts?.https },
  });
  installErrorHandling(app);
  installSecurityHeaders(app);
  app.register(fastifyCookie);
  // Before any route: the document is collected from the routes as they are registered.
  const openapi = new OpenApiCollector();
  openapi.install(app);
  const { policies, firewall, firewallLists, tlsPolicy, systemSettings, consoleAuth, actions } = deps.services;
  const lifecycle = deps.services.lifecycle ?? new ComputerLifecycleService({ store: deps.store, now });

  app.get('/healthz', async (_req, reply) => {
    try {
      await deps.store.systemSettings.get('schema');
    } catch (e) {
      return reply.status(503).send({ status: 'unavailable', reason: `store: ${(e as Error).message}` });
    }
    // Reads alone prove little on a full disk: while the last write failed for the storage,
    // the node is degraded (a load balancer takes it out) until a write commits again.
    const writes = deps.store.writeHealth.state;
    if (!writes.ok)
      return reply.status(503).send({
        status: 'degraded',
        reason: `store writes fail since ${new Date(writes.since).toISOString()}: ${writes.reason}`,
      });
    return { status: 'ok' };
  });

  // The web console: its files and client routes, outside the API's auth (the console signs in itself).
  app.register(async (files) => consoleRoutes(files, deps.consoleDir));

  legacyRestRoutes(app);

  // Its own scope, outside the API key's: tools fetch the description before they hold a key.
  app.register(async (meta) => {
    meta.get(
      '/api/openapi.json',
      { config: { public: true }, schema: { summary: 'This API as an OpenAPI 3.1 document', tags: ['Meta'] } },
      async () =>
        openapi.document({
          title: 'Palisade manager REST API',
          version: 'v1',
          description: 'Deep Security-shaped REST API of the Palisade manager (docs/api.md).',
        }),
    );
  });

  // The packages deployment scripts download: no API key (docs/deployment.md).
  if (deps.deployment) agentDownloadRoute(app, deps.deployment.packages);

  app.register(async (api) => {
    installApiKeyAuth(api, deps.store, now, consoleAuth);
    sessionRoutes(api, consoleAuth);
    administratorRoutes(api, consoleAuth, now);
    dashboardRoutes(api, deps.store, deps.monitoring, now, deps.dashboardPollMs);
    settingsRoutes(api);
    policiesRoutes(api, policies);
    computersRoutes(api, policies, now, deps.store, lifecycle);
    auditRoutes(api, policies, async () => {
      const users = await consoleAuth.listUsers();
      return new Map(users.map((u) => [u.id, u.name]));
    });
    tlsRoutes(api, tlsPolicy);
    systemSettingsRoutes(api, systemSettings);
    firewallRoutes(api, firewall);
    firewallListRoutes(api, firewallLists);
    managerInfoRoutes(api);
    apiKeyRoutes(api, new ApiKeyService(deps.store, now));
    roleRoutes(api);
    managerNodesRoutes(api, deps.store, now, () => deps.monitoring?.notifiers.wake());
    if (deps.monitoring) monitoringRoutes(api, deps.store, deps.monitoring, now, deps.secrets);
    if (actions) actionsRoutes(api, actions, deps.heartbeatIntervalSeconds);
    const metrics = deps.metrics;
    if (metrics)
      // Prometheus text format (docs/monitoring.md "Metrics"), behind the API key like the API.
      api.get(
        '/metrics',
        { schema: { summary: 'Manager metrics, Prometheus text format', tags: ['Meta'] } },
        async (_req, reply) => reply.type(metrics.contentType).send(await metrics.text()),
      );
    if (deps.deployment) deploymentRoutes(api, { ...deps.deployment, store: deps.store, now });
    if (deps.deployment)
      agentUpgradeRoutes(
        api,
        new AgentUpgradeService(
          deps.store,
          deps.deployment.packages,
          defaultUpgradeOrderLifeMs(deps.heartbeatIntervalSeconds),
          now,
          () => deps.monitoring?.notifiers.wake(),
        ),
      );
  });
  return app;
}
