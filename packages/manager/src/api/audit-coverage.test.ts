import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { openInitializedStore } from '../manager.js';
import { type Monitoring, startMonitoring } from '../monitor/monitoring.js';
import { hashSecret, newSecret } from '../secrets.js';
import { ComputerActionsService } from '../services/computer-actions.js';
import { ConfigurationService } from '../services/configuration-service.js';
import { ConsoleAuthService } from '../services/console-auth-service.js';
import { FirewallListService } from '../services/firewall-list-service.js';
import { FirewallService } from '../services/firewall-service.js';
import { PolicyService } from '../services/policy-service.js';
import { builtInSystemSettings, SystemSettingsService } from '../services/system-settings-service.js';
import { TlsPolicyService } from '../services/tls-policy-service.js';
import type { ComputerRecord, Store } from '../store/store.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { enrolTestComputer } from '../testing/enrol-test-computer.js';
import { createApiServer } from './api-server.js';
import type { ApiViews } from './api-views.js';

const RULE = {
  name: 'Web',
  action: 'allow',
  priority: 0,
  direction: 'incoming',
  protocol: 'tcp',
  destinationPortType: 'multiple',
  destinationPortMultiple: ['80'],
};
const compact = (e: ApiViews['AuditEvent']) => [e.action, e.targetType, e.targetID, e.setting, e.oldValue, e.newValue];

describe('audit log: firewall rules and the TLS policy', () => {
  let f: ApiFixture;
  let t = 1_700_000_000_000;
  const audit = async (q: string) =>
    (await f.request('GET', `/api/auditevents${q}`)).json<ApiViews['AuditList']>().auditEvents;
  const since = async (id: number) => (await audit('')).filter((e) => e.ID > id).reverse();
  const last = async () => (await audit('?limit=1'))[0]?.ID ?? 0;

  before(async () => {
    f = await startApiFixture({ now: () => (t += 1000) });
  });
  after(() => f.close());

  test('create, modify (POST and PUT) and delete of a rule: one row each, the rule as JSON before and after', async () => {
    const start = await last();
    const r = (await f.request('POST', '/api/firewallrules', RULE)).json<ApiViews['Rule']>();
    const stored1 = (await f.store.audit.list({ limit: 1 }))[0]!;
    await f.request('POST', `/api/firewallrules/${r.ID}`, { destinationPortMultiple: ['8080'] });
    await f.request('POST', `/api/firewallrules/${r.ID}`, { destinationPortMultiple: ['8080'] }); // no change: no row
    await f.request('PUT', `/api/firewallrules/${r.ID}`, { ...RULE, name: 'Web 2' });
    assert.equal((await f.request('DELETE', `/api/firewallrules/${r.ID}`)).status, 204);
    const rows = await since(start);
    assert.deepEqual(
      rows.map((e) => [e.action, e.targetType, e.targetID, e.setting]),
      [
        ['firewallRule.create', 'firewallRule', r.ID, null],
        ['firewallRule.modify', 'firewallRule', r.ID, null],
        ['firewallRule.modify', 'firewallRule', r.ID, null],
        ['firewallRule.delete', 'firewallRule', r.ID, null],
      ],
    );
    const parse = (v: string | null) => (v === null ? null : JSON.parse(v));
    assert.equal(rows[0]!.oldValue, null);
    assert.equal(parse(rows[0]!.newValue).name, 'Web');
    assert.deepEqual(parse(rows[0]!.newValue).destinationPortMultiple, ['80']);
    assert.deepEqual(
      [parse(rows[1]!.oldValue).destinationPortMultiple, parse(rows[1]!.newValue).destinationPortMultiple],
      [['80'], ['8080']],
    );
    assert.deepEqual([parse(rows[2]!.oldValue).name, parse(rows[2]!.newValue).name], ['Web', 'Web 2']);
    assert.deepEqual([parse(rows[3]!.oldValue).name, rows[3]!.newValue], ['Web 2', null]);
    for (const e of rows) assert.deepEqual(e.actor, { type: 'apiKey', ID: f.keys.fullId, name: 'test admin' });
    assert.equal(stored1.time, rows[0]!.time);
  });

  test('a refused rule change writes no row', async () => {
    const start = await last();
    assert.equal((await f.request('POST', '/api/firewallrules', { ...RULE, priority: 9 })).status, 400);
    const r = (await f.request('POST', '/api/firewallrules', { ...RULE, name: 'Used' })).json<ApiViews['Rule']>();
    assert.equal((await f.request('POST', '/api/policies/1/firewall', { ruleIDs: [r.ID] })).status, 200);
    assert.equal((await f.request('DELETE', `/api/firewallrules/${r.ID}`)).status, 409);
    assert.deepEqual(
      (await since(start)).map((e) => e.action),
      ['firewallRule.create', 'policy.firewall'],
    );
  });

  test('POST /api/tls/policy: a system.setting row (no target ID) per change, none for the same value', async () => {
    const start = await last();
    assert.equal((await f.request('POST', '/api/tls/policy', { value: 'compatible' })).status, 200);
    await f.request('POST', '/api/tls/policy', { value: 'compatible' });
    await f.request('POST', '/api/tls/policy', { value: 'modern' });
    assert.equal((await f.request('POST', '/api/tls/policy', { value: 'nope' })).status, 400);
    assert.deepEqual((await since(start)).map(compact), [
      ['system.setting', 'system', null, 'agentTlsPolicy', 'modern', 'compatible'],
      ['system.setting', 'system', null, 'agentTlsPolicy', 'compatible', 'modern'],
    ]);
  });
});

describe('audit log: computer actions and VM state', () => {
  let dir: string;
  let store: Store;
  let app: FastifyInstance;
  let monitoring: Monitoring;
  let key: string;
  let keyId: number;
  const dialed: string[] = [];

  const request = async (method: string, url: string, body?: unknown) => {
    const res = await app.inject({
      method: method as 'GET',
      url,
      headers: { 'api-secret-key': key, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: res.body ? JSON.parse(res.body) : undefined };
  };
  const rows = async () => (await request('GET', '/api/auditevents')).body.auditEvents.reverse();

  let n = 0;
  const addComputer = async (
    configurations: ConfigurationService,
    direction: 'agent-initiated' | 'bidirectional' = 'bidirectional',
  ): Promise<ComputerRecord> => {
    const c = await enrolTestComputer(store, {
      hostName: `h${++n}`,
      certSerial: `audit-cov-${process.pid}-${n}`,
      configurations,
    });
    // The Base Policy is Agent Initiated; the agent says what it does (Bidirectional: it listens).
    await store.dialTargets.noteContact({
      computerId: c.id,
      expectedDirection: 'agent-initiated',
      defaultPort: 4118,
      communication: { direction, listener: direction === 'bidirectional' ? { port: 4118 } : null },
      now: Date.now(),
      nextScheduledAt: Date.now(),
    });
    return c;
  };
  let configurations: ConfigurationService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-audit-'));
    const opened = await openInitializedStore(dir);
    store = opened.store;
    const server = await opened.ca.issueServerCertificate(['localhost']);
    configurations = new ConfigurationService(600);
    const logger = pino({ level: 'silent' });
    monitoring = startMonitoring({
      store,
      secrets: opened.secrets,
      configurations,
      logger,
      heartbeatIntervalSeconds: 600,
      manager: 'test',
      options: { sweepIntervalMs: 3_600_000, notifierPollMs: 3_600_000 },
    });
    // A dialer that answers at once.
    const actions = new ComputerActionsService({
      store,
      configurations,
      dialNow: async (computerId: number, reason: string) => {
        dialed.push(`${computerId}:${reason}`);
        return {
          computerId,
          ok: true,
          startedAt: Date.now(),
          address: '198.18.0.2:4118',
          exchanges: 1,
          eventsStored: 0,
          operations: [],
        };
      },
    });
    const tlsPolicy = new TlsPolicyService(store, undefined);
    app = createApiServer({
      secrets: opened.secrets,
      store,
      logger,
      tls: { key: server.privateKey, cert: server.certificate },
      services: {
        policies: new PolicyService(store, configurations),
        firewall: new FirewallService(store, configurations),
        firewallLists: new FirewallListService(store, configurations),
        tlsPolicy,
        systemSettings: new SystemSettingsService(store, builtInSystemSettings(tlsPolicy)),
        consoleAuth: new ConsoleAuthService(store),
        actions,
      },
      monitoring,
      heartbeatIntervalSeconds: 600,
    });
    await app.ready();
    key = newSecret('apikey');
    keyId = (
      await store.apiKeys.create({
        name: 'ops',
        keyPrefix: key.slice(0, 8),
        secretHash: hashSecret(key),
        role: 'full-access',
        now: Date.now(),
      })
    ).id;
  });
  after(async () => {
    await app.close();
    await monitoring.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('checkstatus and sendpolicy: a row per request, how it is delivered, the fingerprint Send Policy sets', async () => {
    const c = await addComputer(configurations);
    const queued = await addComputer(configurations, 'agent-initiated');
    // A stale expected fingerprint, so Send Policy visibly sets the current one.
    await store.computers.setExpectedFingerprint([c.id], 'stale');
    const fp = (await configurations.forComputer({ id: c.id, policyId: c.policyId, platform: c.platform }, store))
      .fingerprint;
    assert.equal((await request('POST', `/api/computers/${c.id}/actions/checkstatus`, {})).status, 200);
    assert.equal((await request('POST', `/api/computers/${c.id}/actions/sendpolicy`, {})).status, 200);
    assert.equal((await request('POST', `/api/computers/${queued.id}/actions/checkstatus`, {})).status, 202);
    assert.equal((await request('POST', `/api/computers/${queued.id}/actions/sendpolicy`, {})).status, 202);
    assert.equal((await request('POST', '/api/computers/999999/actions/checkstatus', {})).status, 404);
    assert.deepEqual(dialed, [`${c.id}:checkstatus`, `${c.id}:sendpolicy`]);
    const got = await rows();
    assert.deepEqual(got.map(compact), [
      ['computer.checkstatus', 'computer', c.id, null, null, 'immediate'],
      ['computer.sendpolicy', 'computer', c.id, 'configurationFingerprint', 'stale', fp],
      ['computer.checkstatus', 'computer', queued.id, null, null, 'next-heartbeat'],
      [
        'computer.sendpolicy',
        'computer',
        queued.id,
        'configurationFingerprint',
        queued.expectedFingerprint,
        queued.expectedFingerprint,
      ],
    ]);
    for (const e of got) assert.deepEqual(e.actor, { type: 'apiKey', ID: keyId, name: 'ops' });
    assert.equal((await store.computers.get(c.id))?.expectedFingerprint, fp);
  });

  test('vmstate: a row per change of power state (old and new), none when unchanged', async () => {
    const c = await addComputer(configurations);
    const before = (await rows()).length;
    assert.equal((await request('POST', `/api/computers/${c.id}/vmstate`, { state: 'stopped' })).status, 200);
    assert.equal((await request('POST', `/api/computers/${c.id}/vmstate`, { state: 'stopped' })).body.changed, false);
    await request('POST', `/api/computers/${c.id}/vmstate`, { state: 'running' });
    assert.deepEqual((await rows()).slice(before).map(compact), [
      ['computer.vmstate', 'computer', c.id, 'vmState', null, 'stopped'],
      ['computer.vmstate', 'computer', c.id, 'vmState', 'stopped', 'running'],
    ]);
  });
});
