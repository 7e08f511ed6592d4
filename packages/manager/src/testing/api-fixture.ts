import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { createApiServer } from '../api/api-server.js';
import type { SecretBox } from '../keys/secret-box.js';
import { openInitializedStore } from '../manager.js';
import { startMonitoring } from '../monitor/monitoring.js';
import { hashSecret, newSecret } from '../secrets.js';
import { ConfigurationService } from '../services/configuration-service.js';
import { ConsoleAuthService } from '../services/console-auth-service.js';
import { FirewallListService } from '../services/firewall-list-service.js';
import { FirewallService } from '../services/firewall-service.js';
import { PolicyService } from '../services/policy-service.js';
import { builtInSystemSettings, SystemSettingsService } from '../services/system-settings-service.js';
import { TlsPolicyService } from '../services/tls-policy-service.js';
import type { ComputerRecord, Store } from '../store/store.js';
import { enrolTestComputer } from './enrol-test-computer.js';
import { type JsonReply, jsonReply } from './json-reply.js';
import { recordTestHeartbeat } from './record-test-heartbeat.js';

/**
 * The REST API over a real SQLite file in a temp dir, driven in-process (`inject`: the same
 * routing, hooks, validation and serialization as over HTTPS, without sockets), with a
 * full-access and a read-only key. For route tests; the e2e suite covers the real TLS path.
 */
export interface ApiFixture {
  app: FastifyInstance;
  store: Store;
  /** The master key the store's secrets are sealed with. */
  secrets: SecretBox;
  configurations: ConfigurationService;
  keys: { full: string; readOnly: string; fullId: number; readOnlyId: number };
  /** JSON request with the full-access key unless `key` says otherwise (null: no key). A string body is sent verbatim. */
  request(
    method: string,
    url: string,
    body?: unknown,
    o?: { key?: string | null; headers?: Record<string, string> },
  ): Promise<JsonReply>;
  /**
   * Enrols a computer the way activation does (token use, expected fingerprint of its policy),
   * without an agent: the manager package cannot depend on the agent one.
   */
  addComputer(o: { hostName: string; platform?: string; policyId?: number }): Promise<ComputerRecord>;
  /** Records a heartbeat reporting `applied` (default: what the manager expects), as an agent that applied it would. */
  heartbeat(computerId: number, applied?: string | null): Promise<void>;
  close(): Promise<void>;
}

export interface ApiFixtureOptions {
  now?: () => number;
  /** Runs on the server before `ready()`, e.g. to add an `onRoute` hook that sees every route. */
  beforeReady?: (app: FastifyInstance) => void;
  /** The built console to serve at `/` (default: none, so `/` says it is not built). */
  consoleDir?: string;
  /** Also the monitor's routes (alerts, events, notifiers); its timers wait an hour. */
  monitoring?: boolean;
  /** Default: silent unless PALISADE_TEST_LOG is set. */
  logger?: Logger;
}

export async function startApiFixture(o: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-api-'));
  const { store, ca, secrets } = await openInitializedStore(dir);
  const server = await ca.issueServerCertificate(['localhost']);
  const configurations = new ConfigurationService(600);
  const now = o.now ?? Date.now;
  const tlsPolicy = new TlsPolicyService(store, undefined, now);
  const logger = o.logger ?? pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' });
  const monitoring = o.monitoring
    ? startMonitoring({
        store,
        secrets,
        configurations,
        logger,
        heartbeatIntervalSeconds: 600,
        manager: 'test',
        options: { sweepIntervalMs: 3_600_000, notifierPollMs: 3_600_000 },
      })
    : undefined;
  const app = createApiServer({
    store,
    secrets,
    logger,
    tls: { key: server.privateKey, cert: server.certificate },
    monitoring,
    services: {
      policies: new PolicyService(store, configurations, { now }),
      firewall: new FirewallService(store, configurations, { now }),
      firewallLists: new FirewallListService(store, configurations, { now }),
      tlsPolicy,
      systemSettings: new SystemSettingsService(store, builtInSystemSettings(tlsPolicy), now),
      consoleAuth: new ConsoleAuthService(store, now),
    },
    heartbeatIntervalSeconds: 600,
    now,
    consoleDir: o.consoleDir ?? join(dir, 'no-console'),
  });
  o.beforeReady?.(app);
  await app.ready();
  const makeKey = async (name: string, role: 'full-access' | 'read-only') => {
    const secret = newSecret('apikey');
    const rec = await store.apiKeys.create({
      name,
      keyPrefix: secret.slice(0, 8),
      secretHash: hashSecret(secret),
      role,
      now: Date.now(),
    });
    return { secret, id: rec.id };
  };
  const full = await makeKey('test admin', 'full-access');
  const readOnly = await makeKey('test auditor', 'read-only');
  return {
    app,
    store,
    secrets,
    configurations,
    keys: { full: full.secret, readOnly: readOnly.secret, fullId: full.id, readOnlyId: readOnly.id },
    async request(method, url, body, ro = {}) {
      const key = ro.key === undefined ? full.secret : ro.key;
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: {
          ...(key !== null ? { 'api-secret-key': key } : {}),
          ...(payload !== undefined ? { 'content-type': 'application/json' } : {}),
          ...ro.headers,
        },
        ...(payload !== undefined ? { payload } : {}),
      });
      let parsed: unknown = res.body;
      try {
        parsed = JSON.parse(res.body);
      } catch {
        /* not JSON (e.g. 204) */
      }
      return jsonReply(res.statusCode, parsed);
    },
    addComputer: (c) => enrolTestComputer(store, { ...c, configurations }),
    async heartbeat(computerId, applied) {
      await recordTestHeartbeat(store, computerId, applied === undefined ? {} : { appliedFingerprint: applied });
    },
    async close() {
      await app.close();
      await monitoring?.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
