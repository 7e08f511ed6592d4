import assert from 'node:assert/strict';
import { unlinkSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { after, before, describe, test } from 'node:test';
import { heartbeat, runAgent, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { AGENT_PATHS, type HeartbeatReply, type HeartbeatReport, PROTOCOL_VERSION } from '@palisade/protocol';
import pino from 'pino';
import {
  activateTestAgent,
  errorOf,
  type JsonReply,
  jsonReply,
  startTestManager,
  type TestManager,
} from './harness.js';

import { sleep, waitingUpTo } from './polling.js';

const INTERVAL_S = 1;

const waitFor = waitingUpTo(10_000);

/**
 * One agent-endpoint connection driven by hand (the agent's mutual-TLS identity, kept alive so
 * operation results go on the connection that got the operations), for reports the real agent
 * would not send: a jumped clock, a failing configuration update.
 */
function agentConnection(m: TestManager, state: StateDir) {
  const creds = state.credentials();
  const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: creds.ca, cert: creds.cert, key: creds.key });
  const post = (path: string, body: unknown) =>
    new Promise<JsonReply>((resolve, reject) => {
      const payload = Buffer.from(JSON.stringify(body));
      const req = request(
        `https://localhost:${m.manager.heartbeatPort}${path}`,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/json', 'content-length': String(payload.length) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            // Kept as the agent keeps it: the next report presents it (docs/deployment.md "Cloned hosts").
            if (typeof body?.continuity === 'string') state.saveContinuity(body.continuity);
            resolve(jsonReply(res.statusCode ?? 0, body));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const report = (over: { clockTime?: number; fingerprint?: string | null } = {}): HeartbeatReport => ({
    protocolVersion: PROTOCOL_VERSION,
    agent: {
      version: '0.1.0',
      platform: process.platform,
      hostName: state.activation().hostName,
      uptimeSeconds: 1,
      clockTime: over.clockTime ?? Date.now(),
      lastRoundTripMs: 2,
    },
    drivers: [],
    events: [],
    counters: {},
    configurationFingerprint:
      over.fingerprint === undefined ? (state.appliedConfiguration()?.fingerprint ?? null) : over.fingerprint,
    ...(state.continuity() ? { continuity: state.continuity()! } : {}),
  });
  return { post, report, close: () => agent.destroy() };
}

describe('heartbeat monitoring with a 1-second lab interval', () => {
  let m: TestManager;
  const status = async (id: number) => {
    const r = await m.api('GET', `/api/computers/${id}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.json<V['Computer']>().computerStatus.agentStatusMessages[0];
  };
  const alerts = async (id: number, type?: string, extra = '') => {
    const r = await m.api('GET', `/api/alerts?computer=${id}${type ? `&type=${type}` : ''}${extra}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.json<V['AlertList']>().alerts;
  };
  const setting = async (id: number, name: string, value: string) => {
    const r = await m.api('POST', `/api/computers/${id}/settings/${name}`, { value });
    assert.equal(r.status, 200, JSON.stringify(r.body));
  };

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: INTERVAL_S });
  });
  after(() => m.close());

  test('an agent that stops goes Offline at (2 + 1) x interval after its last heartbeat, not before; one alert; it returns and the alert clears', async () => {
    const agent = await activateTestAgent(m, { hostName: 'quiet-01' });
    const o = await heartbeat(agent);
    const stored = (await m.manager.store.computers.get(o.computerId))!;
    assert.equal(
      stored.offlineDeadline,
      stored.lastCommunication! + 3 * INTERVAL_S * 1000,
      'deadline stored with the heartbeat',
    );
    const deadline = stored.offlineDeadline!;

    // Until just before the deadline, on purpose: what is proved is that nothing happens early.
    await sleep(deadline - 300 - Date.now());
    // Only an answer given before the deadline proves anything: on a loaded machine the request
    // itself can take longer than the 300 ms left, and then Offline is the right answer.
    const early = await status(o.computerId);
    if (Date.now() < deadline) assert.equal(early, 'Managed (Online)', '300 ms before the deadline');
    const earlyAlerts = await alerts(o.computerId, 'computer-offline');
    if (Date.now() < deadline) assert.equal(earlyAlerts.length, 0);

    const raised = await waitFor('the offline alert', async () => (await alerts(o.computerId, 'computer-offline'))[0]);
    assert.ok(raised.raisedAt >= deadline, `raised ${raised.raisedAt - deadline} ms after the deadline, not before`);
    assert.ok(raised.raisedAt - deadline < 1_000, 'within the sweep period');
    assert.equal(await status(o.computerId), 'Offline');
    assert.deepEqual(
      [raised.type, raised.severity, raised.computerID, raised.hostName, raised.active],
      ['computer-offline', 'critical', o.computerId, 'quiet-01', true],
    );
    assert.equal((await m.manager.store.computers.get(o.computerId))!.offlineSince, raised.raisedAt);

    // More sweeps (run here rather than waited for) raise nothing more.
    for (let i = 0; i < 3; i++)
      assert.equal(
        (await m.manager.monitoring.sweeper.sweepNow()).some((t) => t.computerId === o.computerId),
        false,
      );
    assert.equal((await alerts(o.computerId, 'computer-offline')).length, 1, 'raised once, however many sweeps pass');

    await heartbeat(agent);
    assert.equal(await status(o.computerId), 'Managed (Online)');
    const cleared = (await alerts(o.computerId, 'computer-offline'))[0];
    assert.equal(cleared?.ID, raised.ID, 'the same alert, kept');
    assert.ok(cleared.clearedAt !== null && cleared.clearedAt >= raised.raisedAt);

    assert.equal(cleared.active, false);
    assert.equal((await alerts(o.computerId, 'computer-offline', '&active=true')).length, 0);
  });

  test('stopped VMs: the shutdown notice with the setting false gives VM Stopped and no alert; the vmstate API with the setting true gives the alert', async () => {
    // The agent daemon stopping because its host shuts down sends the notice at once.
    const notice = await activateTestAgent(m, { hostName: 'vm-notice' });
    const running = runAgent(notice, pino({ level: 'silent' }), { hostShuttingDown: () => true });
    const noticeId = notice.activation().computerId;
    await waitFor(
      'the first heartbeat',
      async () => (await m.manager.store.computers.get(noticeId))?.lastCommunication,
    );
    await running.stop('received SIGTERM');
    await running.stopped;
    assert.equal(notice.spool().size, 0, 'the notice reached the manager before the agent exited');
    const stoppedEvent = (await m.manager.store.events.listForComputer(noticeId)).find(
      (e) => e.type === 'agent.stopped',
    );
    assert.deepEqual(stoppedEvent?.data, { reason: 'received SIGTERM', hostShutdown: true });
    assert.equal(await status(noticeId), 'VM Stopped');

    // A connector reports another VM stopped; this one's setting says to alert anyway.
    const inventoried = await activateTestAgent(m, { hostName: 'vm-inventory' });
    const invId = (await heartbeat(inventoried)).computerId;
    await setting(invId, 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled', 'true');
    const r = await m.api('POST', `/api/computers/${invId}/vmstate`, { state: 'stopped' });
    assert.deepEqual([r.status, r.body], [200, { computerID: invId, vmState: 'stopped', changed: true }]);
    assert.equal(await status(invId), 'VM Stopped');

    await waitFor(
      'the inventoried VM offline alert',
      async () => (await alerts(invId, 'computer-offline')).length === 1,
    );
    await waitFor(
      'the sweep to pass the notified VM',
      async () => (await m.manager.store.computers.get(noticeId))!.offlineSince !== null,
    );
    assert.equal((await alerts(noticeId)).length, 0, 'no alert for a stopped VM while the setting is false');
    assert.equal(await status(noticeId), 'VM Stopped', 'VM Stopped shows over Offline');

    // Bad input and unknown computers.
    assert.equal((await m.api('POST', `/api/computers/${invId}/vmstate`, { state: 'paused' })).status, 400);
    assert.equal(
      errorOf(await m.api('POST', '/api/computers/999999/vmstate', { state: 'running' })).code,
      'COMPUTER_NOT_FOUND',
    );

    // Its agent comes back: running again, the alert clears.
    await heartbeat(inventoried);
    assert.equal(await status(invId), 'Managed (Online)');
    assert.equal((await alerts(invId, 'computer-offline', '&active=true')).length, 0);
  });

  test('clock change beyond the threshold raises an alert with the change; the clock coming back clears it', async () => {
    const agent = await activateTestAgent(m, { hostName: 'clocky' });
    const id = (await heartbeat(agent)).computerId;
    await setting(id, 'platformSettingHeartbeatLocalTimeShiftAlertThreshold', '5');
    const conn = agentConnection(m, agent);
    try {
      assert.equal((await conn.post(AGENT_PATHS.heartbeat, conn.report())).status, 200);
      assert.equal((await alerts(id, 'clock-change')).length, 0, 'no change, no alert');
      // Someone sets the host clock 10 minutes ahead.
      assert.equal(
        (await conn.post(AGENT_PATHS.heartbeat, conn.report({ clockTime: Date.now() + 10 * 60_000 }))).status,
        200,
      );
      const c = (await m.api('GET', `/api/computers/${id}`)).json<V['Computer']>();
      assert.ok(Math.abs((c.agentClockOffsetMs ?? 0) - 600_000) < 2_000, String(c.agentClockOffsetMs));
      assert.ok(Math.abs((c.agentClockOffsetChangeMs ?? 0) - 600_000) < 2_000, String(c.agentClockOffsetChangeMs));
      const a = (await alerts(id, 'clock-change'))[0]!;
      assert.equal(a.severity, 'warning');
      assert.match(a.message, /the clock on clocky changed by \+10 min/);
      assert.equal(a.active, true);
      // A change within the threshold (5 minutes) would not; the clock put back clears it.
      await heartbeat(agent);
      assert.ok((await alerts(id, 'clock-change'))[0]?.clearedAt !== null);
    } finally {
      conn.close();
    }
  });

  test('a driver reported offline raises an alert naming it; back online clears it', async () => {
    const agent = await activateTestAgent(m, { hostName: 'drivers-01' });
    const down = [
      { name: 'firewall', status: 'offline' as const, reason: 'nftables is not installed' },
      { name: 'listener', status: 'online' as const },
    ];
    const id = (await heartbeat(agent, { drivers: () => down })).computerId;
    await heartbeat(agent, { drivers: () => down });
    const a = (await alerts(id, 'driver-offline'))[0]!;
    assert.equal((await alerts(id, 'driver-offline')).length, 1, 'once');
    assert.equal(a.subject, 'firewall');
    assert.match(a.message, /driver "firewall" is offline on drivers-01: nftables is not installed/);
    await heartbeat(agent, { drivers: () => [{ name: 'firewall', status: 'online' }] });
    assert.ok((await alerts(id, 'driver-offline'))[0]?.clearedAt !== null);
  });

  test('a configuration update the agent reports failed raises an alert with its reason; a later successful update clears it', async () => {
    const agent = await activateTestAgent(m, { hostName: 'cfg-01' });
    const id = (await heartbeat(agent)).computerId;
    const conn = agentConnection(m, agent);
    try {
      const hb = (await conn.post(AGENT_PATHS.heartbeat, conn.report({ fingerprint: null }))).json<HeartbeatReply>();
      assert.equal(hb.operations.length, 1);
      const op = hb.operations[0]!;
      const res = await conn.post(AGENT_PATHS.results, {
        protocolVersion: PROTOCOL_VERSION,
        exchangeId: hb.exchangeId,
        results: [
          {
            id: op.id,
            status: 'failed',
            reason: 'could not write /etc/palisade: read-only file system',
          },
        ],
      });
      assert.deepEqual(res.json<{ accepted: number[] }>().accepted, [op.id]);
    } finally {
      conn.close();
    }
    const a = (await alerts(id, 'configuration-update-failed'))[0]!;
    assert.match(a.message, /update failed on cfg-01: could not write \/etc\/palisade: read-only file system/);
    unlinkSync(agent.path('configuration.json'));
    const o = await heartbeat(agent);
    assert.equal(o.operations[0]?.status, 'succeeded');
    assert.ok((await alerts(id, 'configuration-update-failed'))[0]?.clearedAt !== null);
  });

  test('alerts API: filters, paging, dismissal, bad input', async () => {
    const list = async (query: string) => (await m.api('GET', `/api/alerts?${query}`)).json<V['AlertList']>();
    const all = await m.api('GET', '/api/alerts?limit=2');
    assert.equal(all.status, 200);
    const [a0, a1] = all.json<V['AlertList']>().alerts;
    assert.ok(a0 && a1, 'two alerts');
    assert.ok(all.json<V['AlertList']>().total >= 5);
    assert.notEqual((await list('limit=2&offset=2')).alerts[0]?.ID, a0.ID);
    assert.ok(a0.ID > a1.ID, 'newest first');

    const active = (await list('active=true')).alerts;
    assert.ok(active.length > 0 && active.every((a) => a.active));
    const target = active[0]!;
    const d = await m.api('POST', `/api/alerts/${target.ID}/dismiss`);
    assert.equal(d.status, 200);
    assert.equal(typeof d.json<V['Alert']>().dismissedAt, 'number');
    assert.match(d.json<V['Alert']>().dismissedBy ?? '', /^apikey:\d+$/);
    assert.ok(!(await list('active=true')).alerts.some((a) => a.ID === target.ID));
    assert.equal((await m.api('GET', `/api/alerts/${target.ID}`)).json<V['Alert']>().active, false);

    assert.equal(errorOf(await m.api('POST', '/api/alerts/999999/dismiss')).code, 'ALERT_NOT_FOUND');
    for (const q of ['type=nope', 'active=yes', 'limit=0', 'limit=1001', 'computer=abc', 'colour=red']) {
      const r = await m.api('GET', `/api/alerts?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(errorOf(r).code, 'VALIDATION_FAILED', q);
    }
  });

  test('events API: filters and cursor paging over what agents sent', async () => {
    const agent = await activateTestAgent(m, { hostName: 'events-01' });
    for (let i = 0; i < 7; i++)
      agent.spool().append({ type: 'test.paged', severity: i % 2 ? 'warning' : 'info', message: `n${i}` });
    const id = (await heartbeat(agent)).computerId;
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const r = await m.api(
        'GET',
        `/api/events?computer=${id}&type=test.paged&order=asc&limit=3${cursor ? `&cursor=${cursor}` : ''}`,
      );
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const page = r.json<V['EventPage']>();
      seen.push(...page.events.map((e) => e.message));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    assert.deepEqual(seen, ['n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6']);
    assert.equal(pages, 3);
    const events = async (query: string) => (await m.api('GET', `/api/events?${query}`)).json<V['EventPage']>();
    const warnings = (await events(`computer=${id}&severity=warning`)).events;
    assert.deepEqual(
      warnings.map((e) => e.message),
      ['n5', 'n3', 'n1'],
      'newest first by default',
    );
    assert.equal(warnings[0]?.hostName, 'events-01');
    assert.equal((await events(`computer=${id}&since=${Date.now() + 60_000}`)).events.length, 0);
    assert.ok((await events(`computer=${id}&since=2000-01-01T00:00:00Z`)).events.length >= 7);
    const asc = (await events(`computer=${id}&order=asc&limit=1`)).nextCursor;
    const mixed = await m.api('GET', `/api/events?order=desc&cursor=${asc}`);
    assert.deepEqual([mixed.status, errorOf(mixed).code], [400, 'EVENTS_CURSOR_INVALID']);
    assert.equal((await m.api('GET', '/api/events?since=yesterday')).status, 400);
    assert.equal((await m.api('GET', '/api/events?limit=5000')).status, 400);
  });
});
