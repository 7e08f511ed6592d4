import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AGENT_UPGRADE_EVENT, type HeartbeatReport, PROTOCOL_VERSION } from '@palisade/protocol';
import pino from 'pino';
import { PalisadeError } from './errors.js';
import { type ExchangeTransport, HeartbeatIngest, upgradeTimedOut } from './ingest.js';
import { HeartbeatMonitor } from './monitor/heartbeat-monitor.js';
import { OfflineSweeper } from './monitor/offline-sweeper.js';
import { AgentPackages } from './services/agent-packages.js';
import { AgentUpgradeService } from './services/agent-upgrades.js';
import { ConfigurationService } from './services/configuration-service.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { ComputerRecord, Store } from './store/store.js';
import { enrolTestComputer } from './testing/enrol-test-computer.js';

const agentDialled: ExchangeTransport = {
  initiatedBy: 'agent',
  remoteIp: '127.0.0.1',
  tlsProtocol: 'TLSv1.3',
  tlsCipherSuite: null,
};
const managerDialled: ExchangeTransport = { ...agentDialled, initiatedBy: 'manager' };
const INTERVAL = 60;
const LIFE_MS = 10 * 60_000;

/**
 * The life-cycle rules a report follows whichever side dialled (issue 14): continuity tokens
 * and upgrade orders ride the dialer's exchange too, a lost upgrade order is sent again and
 * times out, and a host that stops presenting its token after one was issued is refused.
 */
describe('ingest: continuity and upgrades over both directions (issue 14)', () => {
  let dir: string;
  let store: Store;
  let configurations: ConfigurationService;
  let ingest: HeartbeatIngest;
  let clock = 1_700_000_000_000;
  let hosts = 0;

  const report = (
    computer: ComputerRecord,
    over: Partial<HeartbeatReport> & { version?: string } = {},
  ): HeartbeatReport => {
    const { version, ...rest } = over;
    return {
      protocolVersion: PROTOCOL_VERSION,
      agent: {
        version: version ?? '1.0.0',
        platform: 'linux',
        hostName: computer.hostName,
        uptimeSeconds: 42,
        clockTime: clock,
      },
      drivers: [],
      events: [],
      counters: {},
      configurationFingerprint: computer.expectedFingerprint,
      ...rest,
    };
  };
  const direction = (d: 'manager-initiated' | 'bidirectional') => ({
    communication: { direction: d, listener: { port: 4118 } },
  });
  /** A computer with a host identity; returns it with the continuity token its activation gave. */
  const enrol = async () => {
    const continuity = randomBytes(32).toString('base64url');
    const computer = await enrolTestComputer(store, {
      hostName: `life-${++hosts}`,
      configurations,
      identity: { hostIdentity: randomBytes(32).toString('base64url'), continuity },
    });
    return { computer, continuity };
  };
  /** An upgrade order to 1.1.0 for the computer, its package's SHA-256 made of `digit`. */
  const orderUpgrade = (computerId: number, digit: string) =>
    store.transaction((tx) =>
      tx.computers.requestUpgrade({
        computerId,
        fromVersion: '1.0.0',
        toVersion: '1.1.0',
        packages: [{ file: 'palisade-agent-1.1.0-linux-x64.tar.gz', sha256: digit.repeat(64) }],
        requestedBy: 'test',
        now: clock,
      }),
    );
  /** The service `GET /api/computers/{id}/agentupgrades` reads, on the test's clock. */
  const upgradeService = () =>
    new AgentUpgradeService(store, new AgentPackages(join(dir, 'agent-packages')), LIFE_MS, () => clock);
  /** The computer's open agent-upgrade-failed alerts, as [upgradeId, status] of each. */
  const upgradeAlerts = async (computerId: number) =>
    (await store.alerts.open(computerId))
      .filter((a) => a.type === 'agent-upgrade-failed')
      .map((a) => [a.data?.upgradeId, a.data?.status]);
  const refusedAsClone = (p: Promise<unknown>) =>
    assert.rejects(p, (e) => e instanceof PalisadeError && e.code === 'AGENT_CLONED');

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-ingest-life-'));
    store = openSqliteStore(join(dir, 'palisade.db'));
    await store.migrate();
    await store.policies.ensureBase(Date.now());
    configurations = new ConfigurationService(INTERVAL);
    ingest = new HeartbeatIngest({
      store,
      configurations,
      heartbeatIntervalSeconds: INTERVAL,
      logger: pino({ level: 'silent' }),
      upgradeOrderLifeMs: LIFE_MS,
      now: () => clock,
      monitor: new HeartbeatMonitor(store, configurations, pino({ level: 'silent' })),
    });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Manager Initiated: the dial checks the token and hands out the next; a stale one is a clone', async () => {
    const { computer, continuity } = await enrol();
    const mi = direction('manager-initiated');
    const first = await ingest.ingestReport(computer, report(computer, { ...mi, continuity }), managerDialled);
    const t1 = first.reply.continuity;
    assert.ok(t1 && t1 !== continuity, 'a new token in the dial reply');
    const second = await ingest.ingestReport(computer, report(computer, { ...mi, continuity: t1 }), managerDialled);
    assert.ok(second.reply.continuity);
    // A copy still holding the activation's token (two rotations behind) is refused, stores nothing.
    const before = (await store.computers.get(computer.id))!.lastCommunication;
    clock += 1000;
    await refusedAsClone(ingest.ingestReport(computer, report(computer, { ...mi, continuity }), managerDialled));
    assert.equal(
      (await store.computers.get(computer.id))!.lastCommunication,
      before,
      'the refused report stored nothing',
    );
    const { alerts } = await store.alerts.list({
      computerId: computer.id,
      type: 'duplicate-computer',
      active: true,
      limit: 10,
      offset: 0,
    });
    assert.equal(alerts.length, 1);
  });

  test('Bidirectional: the dial checks the token but leaves its rotation to the agent’s own heartbeats', async () => {
    const { computer, continuity } = await enrol();
    const bi = direction('bidirectional');
    const dialled = await ingest.ingestReport(computer, report(computer, { ...bi, continuity }), managerDialled);
    assert.equal(dialled.reply.continuity, undefined);
    const own = await ingest.ingestReport(computer, report(computer, { ...bi, continuity }), agentDialled);
    const t1 = own.reply.continuity!;
    assert.ok(t1);
    await ingest.ingestReport(computer, report(computer, { ...bi, continuity: t1 }), agentDialled);
    await refusedAsClone(ingest.ingestReport(computer, report(computer, { ...bi, continuity }), managerDialled));
  });

  test('a host that presents no token after one was issued is refused like a stale copy', async () => {
    const { computer, continuity } = await enrol();
    await refusedAsClone(ingest.ingestReport(computer, report(computer), agentDialled));
    // The host that still holds its token is not affected.
    const ok = await ingest.ingestReport(computer, report(computer, { continuity }), agentDialled);
    assert.ok(ok.reply.continuity);
  });

  test('an upgrade order rides the dial’s reply; a lost one is sent again while the old version reports', async () => {
    const { computer, continuity } = await enrol();
    const mi = direction('manager-initiated');
    // The continuity chain, carried from each dial's reply to the next report as the agent does.
    let token = continuity;
    const exchange = async (over: Parameters<typeof report>[1] = {}) => {
      const r = await ingest.ingestReport(
        computer,
        report(computer, { ...mi, ...over, continuity: token }),
        managerDialled,
      );
      token = r.reply.continuity ?? token;
      return r.reply;
    };
    const u = await orderUpgrade(computer.id, 'a');
    const first = await exchange();
    assert.equal(first.upgrade?.id, u.id, 'the dial carries the order');
    assert.equal(first.upgrade?.packages[0]?.sha256, 'a'.repeat(64));
    assert.equal((await store.computers.openUpgrade(computer.id))?.status, 'sent');
    // That reply was lost: the agent reports the old version again, with no outcome.
    clock += INTERVAL * 1000;
    const again = await exchange();
    assert.equal(again.upgrade?.id, u.id, 'sent again at the next contact');
    // The agent acts on it: its new version reports, and the order is done; nothing more is sent.
    clock += INTERVAL * 1000;
    const done = await exchange({ version: '1.1.0' });
    assert.equal(done.upgrade, undefined);
    assert.equal((await store.computers.upgradesOf(computer.id))[0]?.status, 'succeeded');
  });

  test('an order with no outcome within its life fails with the reason; an outcome before it is kept', async () => {
    const { computer, continuity } = await enrol();
    let token = continuity;
    const beat = async (over: Parameters<typeof report>[1] = {}) => {
      const r = await ingest.ingestReport(computer, report(computer, { ...over, continuity: token }), agentDialled);
      token = r.reply.continuity ?? token;
      return r.reply;
    };
    const request = () => orderUpgrade(computer.id, 'b');
    const u = await request();
    assert.equal((await beat()).upgrade?.id, u.id);
    clock += LIFE_MS - 1000;
    assert.equal((await beat()).upgrade?.id, u.id, 'still within its life: sent again');
    clock += 2000;
    assert.equal((await beat()).upgrade, undefined, 'past its life: not sent again');
    const [timedOut] = await store.computers.upgradesOf(computer.id);
    assert.deepEqual([timedOut?.id, timedOut?.status, timedOut?.reason], [u.id, 'failed', upgradeTimedOut(LIFE_MS)]);
    assert.match(timedOut!.reason!, /no outcome from the agent within 600 s/);
    assert.deepEqual(await upgradeAlerts(computer.id), [[u.id, 'failed']], 'Agent Upgrade Failed raised with it');

    // The agent's own word within the life wins: a rollback is recorded as such.
    const v = await request();
    assert.equal((await beat()).upgrade?.id, v.id);
    clock += 5000;
    const told = await beat({
      events: [
        {
          seq: 1,
          epoch: 'e1',
          time: clock,
          type: AGENT_UPGRADE_EVENT,
          severity: 'error',
          message: 'rolled back',
          data: { upgradeId: v.id, outcome: 'rolled-back', from: '1.0.0', to: '1.1.0', reason: 'did not heartbeat' },
        },
      ],
    });
    assert.equal(told.upgrade, undefined);
    const [rolled] = await store.computers.upgradesOf(computer.id);
    assert.deepEqual([rolled?.status, rolled?.reason], ['rolled-back', 'did not heartbeat']);
    assert.deepEqual(await upgradeAlerts(computer.id), [[u.id, 'failed']], 'one open alert per computer');

    // A later upgrade that succeeds (the new version reports) clears it.
    const w = await request();
    assert.equal((await beat()).upgrade?.id, w.id);
    clock += 5000;
    assert.equal((await beat({ version: '1.1.0' })).upgrade, undefined);
    assert.equal((await store.computers.upgradesOf(computer.id))[0]?.status, 'succeeded');
    assert.deepEqual(await upgradeAlerts(computer.id), [], 'cleared by the success');
  });

  test('a rollback the agent reports raises Agent Upgrade Failed with its reason', async () => {
    const { computer, continuity } = await enrol();
    const u = await orderUpgrade(computer.id, 'e');
    const sent = await ingest.ingestReport(computer, report(computer, { continuity }), agentDialled);
    assert.equal(sent.reply.upgrade?.id, u.id);
    clock += 5000;
    const rollback = {
      seq: 1,
      epoch: 'e1',
      time: clock,
      type: AGENT_UPGRADE_EVENT,
      severity: 'error' as const,
      message: 'rolled back',
      data: { upgradeId: u.id, outcome: 'rolled-back', from: '1.0.0', to: '1.1.0', reason: 'exited at start' },
    };
    await ingest.ingestReport(
      computer,
      report(computer, { continuity: sent.reply.continuity ?? continuity, events: [rollback] }),
      agentDialled,
    );
    const [alert] = (
      await store.alerts.list({ computerId: computer.id, type: 'agent-upgrade-failed', limit: 10, offset: 0 })
    ).alerts;
    assert.equal(alert?.severity, 'warning');
    assert.equal(alert?.message, `the agent upgrade of ${computer.hostName} to 1.1.0 was rolled back: exited at start`);
    assert.deepEqual(alert?.data, {
      upgradeId: u.id,
      toVersion: '1.1.0',
      status: 'rolled-back',
      reason: 'exited at start',
    });
  });

  test('an order past its life shows failed in the computer’s upgrades though the agent never contacts again', async () => {
    const { computer, continuity } = await enrol();
    const service = upgradeService();
    const u = await orderUpgrade(computer.id, 'c');
    const sent = await ingest.ingestReport(computer, report(computer, { continuity }), agentDialled);
    assert.equal(sent.reply.upgrade?.id, u.id);
    clock += LIFE_MS;
    assert.equal((await service.history(computer.id))[0]?.status, 'sent', 'within its life');
    clock += 1;
    assert.deepEqual(await upgradeAlerts(computer.id), []);
    const [expired] = await service.history(computer.id);
    assert.deepEqual([expired?.status, expired?.reason], ['failed', upgradeTimedOut(LIFE_MS)]);
    assert.deepEqual(await upgradeAlerts(computer.id), [[u.id, 'failed']], 'raised as the listing failed it');
  });

  test('the background sweep fails an order past its life on time, the agent never contacting again', async () => {
    const { computer, continuity } = await enrol();
    const service = upgradeService();
    // Two nodes' sweepers on the one store, on the test's clock.
    const woken: string[][] = [];
    const sweepers = [1, 2].map(
      () =>
        new OfflineSweeper({
          store,
          configurations,
          logger: pino({ level: 'silent' }),
          intervalMs: 3_600_000,
          now: () => clock,
          upgradeOrderLifeMs: LIFE_MS,
          onChanges: (changes) => woken.push(changes.map((c) => `${c.action} ${c.type} ${c.computerId}`)),
        }),
    );
    const u = await orderUpgrade(computer.id, 'd');
    const sentAt = clock;
    assert.equal(
      (await ingest.ingestReport(computer, report(computer, { continuity }), agentDialled)).reply.upgrade?.id,
      u.id,
    );
    clock += LIFE_MS;
    const within = await sweepers[0]!.sweepUpgradeOrders();
    assert.deepEqual(within.expired, [], 'within its life');
    assert.equal(within.next, sentAt + LIFE_MS, 'the sweep comes back when it falls due');
    assert.equal((await store.computers.upgradesOf(computer.id))[0]?.status, 'sent');
    clock += 1;
    const both = await Promise.all(sweepers.map((s) => s.sweepUpgradeOrders()));
    assert.deepEqual(
      both.flatMap((b) => b.expired),
      [{ id: u.id, computerId: computer.id, toVersion: '1.1.0' }],
      'failed once, by one of the two',
    );
    assert.deepEqual(await upgradeAlerts(computer.id), [[u.id, 'failed']], 'its alert raised once');
    assert.deepEqual(woken, [[`raised agent-upgrade-failed ${computer.id}`]], 'the notifiers woken once');
    // What the API shows (GET /api/computers/{id}/agentupgrades reads history).
    const [failed] = await service.history(computer.id);
    assert.deepEqual([failed?.status, failed?.reason], ['failed', upgradeTimedOut(LIFE_MS)]);
    assert.equal(failed?.completedAt, clock);
    assert.deepEqual(await sweepers[1]!.sweepUpgradeOrders(), { expired: [], next: null });
  });
});
