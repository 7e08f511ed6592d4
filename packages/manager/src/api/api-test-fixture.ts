import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { openInitializedStore } from '../manager.js';
import { hashSecret, newSecret } from '../secrets.js';
import { ConfigurationService } from '../services/configuration-service.js';
import type { ComputerRecord, Store } from '../store/store.js';
import { createApiServer } from './api-server.js';

/** A response from `ApiFixture.request`: status and parsed JSON (or raw text). */
export interface FixtureResponse<T = any> {
  status: number;
  body: T;
}

/**
 * The REST API over a real SQLite file in a temp dir, driven in-process (`inject`: the same
 * routing, hooks, validation and serialization as over HTTPS, without sockets), with a
 * full-access and a read-only key. For route tests; the e2e suite covers the real TLS path.
 */
export interface ApiFixture {
  app: FastifyInstance;
  store: Store;
  configurations: ConfigurationService;
  keys: { full: string; readOnly: string; fullId: number; readOnlyId: number };
  /** JSON request with the full-access key unless `key` says otherwise (null: no key). A string body is sent verbatim. */
  request<T = any>(
    method: string,
    url: string,
    body?: unknown,
    o?: { key?: string | null; headers?: Record<string, string> },
  ): Promise<FixtureResponse<T>>;
  /**
   * Enrols a computer the way activation does (token use, expected fingerprint of its policy),
   * without an agent: the manager package cannot depend on the agent one.
   */
  addComputer(o: { hostName: string; platform?: string; policyId?: number }): Promise<ComputerRecord>;
  /** Records a heartbeat reporting `applied` (default: what the manager expects), as an agent that applied it would. */
  heartbeat(computerId: number, applied?: string | null): Promise<void>;
  close(): Promise<void>;
}

let serial = 0;

export interface ApiFixtureOptions {
  now?: () => number;
  /** Runs on the server before `ready()`, e.g. to add an `onRoute` hook that sees every route. */
  beforeReady?: (app: FastifyInstance) => void;
  /** The built console to serve at `/` (default: none, so `/` says it is not built). */
  consoleDir?: string;
}

export async function startApiFixture(o: ApiFixtureOptions = {}): Promise<ApiFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-api-'));
  const { store, ca } = await openInitializedStore(dir);
  const server = await ca.issueServerCertificate(['localhost']);
  const configurations = new ConfigurationService(store, 600);
  const app = createApiServer({
    store,
    logger: pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' }),
    tls: { key: server.privateKey, cert: server.certificate },
    configurations,
    ...(o.now ? { now: o.now } : {}),
    consoleDir: o.consoleDir ?? join(dir, 'no-console'),
  });
  o.beforeReady?.(app);
  await app.ready();
  const makeKey = async (name: string, role: 'full-access' | 'read-only') => {
    const secret = newSecret('apikey');
    const rec = await store.createApiKey({
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
      return { status: res.statusCode, body: parsed as any };
    },
    async addComputer(c) {
      const policyId = c.policyId ?? (await store.ensureBasePolicy(Date.now())).id;
      const platform = c.platform ?? 'linux';
      const tokenId = await store.createActivationToken({
        tokenHash: hashSecret(newSecret('token')),
        policyId,
        maxUses: 1,
        expiresAt: null,
        now: Date.now(),
      });
      const effective = await configurations.forNewComputer(policyId, platform);
      const r = await store.activateComputer(tokenId, {
        hostName: c.hostName,
        platform,
        agentVersion: '0.1.0',
        policyId,
        certSerial: `test-${process.pid}-${++serial}`,
        expectedFingerprint: effective.fingerprint,
        now: Date.now(),
      });
      if (r === 'token-used-up') throw new Error('fresh token used up');
      return r;
    },
    async heartbeat(computerId, applied) {
      const c = await store.getComputer(computerId);
      if (!c) throw new Error(`no computer ${computerId}`);
      const t = Date.now();
      await store.recordHeartbeat({
        computerId,
        now: t,
        offlineDeadline: t + 30 * 60_000,
        agentVersion: c.agentVersion,
        platform: c.platform,
        hostName: c.hostName,
        lastIp: '127.0.0.1',
        clockOffsetMs: 0,
        uptimeSeconds: 1,
        drivers: [],
        counters: {},
        appliedFingerprint: applied === undefined ? c.expectedFingerprint : applied,
        tlsProtocol: null,
        tlsCipherSuite: null,
        events: [],
      });
    },
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
