import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type AgentKeyType,
  activate,
  type ListenerSettings,
  type RunAgentOptions,
  type RunningAgent,
  runAgent,
  StateDir,
} from '@palisade/agent';
import { issueActivationToken, type ManagerOptions, type RunningManager, startManager } from '@palisade/manager';
import type { ErrorBody } from '@palisade/protocol';
import pino from 'pino';

export interface TestManager {
  manager: RunningManager;
  dataDir: string;
  apiKey: string;
  token: string;
  /** `dsm://localhost:PORT/` */
  agentUrl: string;
  /** A JSON request to the REST API with the first-run (full-access) API key. */
  api(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<JsonReply>;
  tempDir(prefix?: string): string;
  /** Stops the manager, keeping its data dir and temp dirs (a restart test starts another on them); once only. */
  stop(): Promise<void>;
  /** Stops the manager (if still running) and removes the temp dirs, and the data dir it made. */
  close(): Promise<void>;
}

/**
 * A real manager on ephemeral loopback ports with a fresh SQLite file in a temp dir, its
 * first-run API key and activation token at hand. Logs are silenced unless PALISADE_TEST_LOG is set.
 */
export async function startTestManager(
  o: {
    heartbeatIntervalSeconds?: number;
    dataDir?: string;
    /** The agent endpoint's port; default any free one (a restart test keeps the port its agents know). */
    heartbeatPort?: number;
    /** Store URL; default the data dir's SQLite file. Another node of one database shares it. */
    db?: string;
    /** Another node of one database needs the first node's master key file (docs/operations). */
    masterKeyFile?: string;
    metricsListen?: ManagerOptions['metricsListen'];
    monitoring?: ManagerOptions['monitoring'];
    dialer?: ManagerOptions['dialer'];
    connectionLimits?: ManagerOptions['connectionLimits'];
    eventRate?: ManagerOptions['eventRate'];
    /** Default: silent unless PALISADE_TEST_LOG is set. */
    logger?: ManagerOptions['logger'];
  } = {},
): Promise<TestManager> {
  const dataDir = o.dataDir ?? mkdtempSync(join(tmpdir(), 'palisade-mgr-'));
  const temps: string[] = [];
  const manager = await startManager({
    dataDir,
    hostnames: ['localhost'],
    apiPort: 0,
    heartbeatPort: o.heartbeatPort ?? 0,
    bindAddress: '127.0.0.1',
    // The legacy alias port, should a test choose `legacy`: any free one, never a fixed 4122.
    legacyTlsPort: 0,
    ...(o.db ? { db: o.db } : {}),
    ...(o.masterKeyFile ? { masterKeyFile: o.masterKeyFile } : {}),
    ...(o.metricsListen ? { metricsListen: o.metricsListen } : {}),
    heartbeatIntervalSeconds: o.heartbeatIntervalSeconds ?? 600,
    ...(o.monitoring ? { monitoring: o.monitoring } : {}),
    ...(o.dialer ? { dialer: o.dialer } : {}),
    ...(o.connectionLimits ? { connectionLimits: o.connectionLimits } : {}),
    ...(o.eventRate ? { eventRate: o.eventRate } : {}),
    logger: o.logger ?? pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' }),
  });
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= manager.close();
    return stopped;
  };
  const apiKey = manager.firstRun.apiKey ?? '';
  // The first-run token is bounded (a few uses); tests activate as many agents as they need.
  const base = (await manager.store.policies.findByName('Base Policy'))!;
  const { token } = await issueActivationToken(
    manager.store,
    { policyId: base.id, maxUses: null, ttlMs: null, description: 'e2e tests' },
    'system',
    Date.now(),
  );
  return {
    manager,
    dataDir,
    apiKey,
    token,
    agentUrl: `dsm://localhost:${manager.heartbeatPort}/`,
    api: (method, path, body, headers = {}) =>
      httpsJson(`https://localhost:${manager.apiPort}${path}`, manager.ca.certificatePem, {
        method,
        body,
        headers: { 'api-secret-key': apiKey, ...headers },
      }),
    tempDir(prefix = 'palisade-agent-') {
      const d = mkdtempSync(join(tmpdir(), prefix));
      temps.push(d);
      return d;
    },
    stop,
    async close() {
      await stop();
      for (const d of temps) rmSync(d, { recursive: true, force: true });
      if (!o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Activates an in-process agent against the test manager; returns its state dir. */
export async function activateTestAgent(
  m: TestManager,
  o: { policy?: string; hostName?: string; listener?: ListenerSettings; keyType?: AgentKeyType } = {},
): Promise<StateDir> {
  const state = new StateDir(m.tempDir());
  await activate(state, { managerUrl: m.agentUrl, token: m.token, caFingerprint: m.manager.caFingerprint, ...o });
  return state;
}

/**
 * The in-process agents a suite runs (`runAgent`, logging as the manager does in tests), each
 * with `defaults` and what `start` adds; `stopAll`, in the suite's `after`, stops every one.
 */
export function agentRunner(defaults: RunAgentOptions = {}) {
  const logger = pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' });
  const agents: RunningAgent[] = [];
  return {
    start(state: StateDir, o: RunAgentOptions = {}): RunningAgent {
      const a = runAgent(state, logger, { ...defaults, ...o });
      agents.push(a);
      return a;
    },
    stopAll: () => Promise.allSettled(agents.map((a) => a.stop('test over'))),
  };
}

/** A reply to a JSON request: the status, and the body parsed when it is JSON (else its text). */
export interface JsonReply {
  status: number;
  body: unknown;
  /**
   * The body as `T`, the shape the test expects (an `ApiViews` member for the REST API, a
   * `@palisade/protocol` message for the agent endpoint). A cast: the test's assertions check it.
   */
  json<T>(): T;
}

export function jsonReply(status: number, body: unknown): JsonReply {
  return { status, body, json: <T>() => body as T };
}

/** The `error` member of an error reply: `{"error": {"code", "message"}}` on both ports. */
export const errorOf = (r: JsonReply) => r.json<ErrorBody>().error;

/** JSON over HTTPS, trusting only `ca`. `body` as a string is sent verbatim (for malformed-input tests). */
export function httpsJson(
  url: string,
  ca: string,
  o: { method?: string; body?: unknown; headers?: Record<string, string>; cert?: string; key?: string } = {},
): Promise<JsonReply> {
  const payload =
    o.body === undefined ? undefined : Buffer.from(typeof o.body === 'string' ? o.body : JSON.stringify(o.body));
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: o.method ?? 'GET',
        ca,
        ...(o.cert ? { cert: o.cert, key: o.key } : {}),
        agent: false,
        headers: {
          ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          ...o.headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            /* not JSON */
          }
          resolve(jsonReply(res.statusCode ?? 0, body));
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}
