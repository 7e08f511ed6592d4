import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type HeartbeatReport, PROTOCOL_VERSION } from '@palisade/protocol';
import pino from 'pino';
import { HeartbeatIngest } from './ingest.js';
import { HeartbeatMonitor } from './monitor/heartbeat-monitor.js';
import { ConfigurationService } from './services/configuration-service.js';
import { openSqliteStore } from './store/sqlite/sqlite-store.js';
import type { ComputerRecord, Store } from './store/store.js';
import { enrolTestComputer } from './testing/enrol-test-computer.js';

const transport = {
  initiatedBy: 'agent',
  remoteIp: '127.0.0.1',
  tlsProtocol: 'TLSv1.3',
  tlsCipherSuite: null,
} as const;

// The rules on SQLite; one heartbeat as one transaction is in ingest.contract.ts, on both engines.
describe('ingest: the rules a report and its results follow', () => {
  let dir: string;
  let store: Store;
  let configurations: ConfigurationService;
  let clock = 1_700_000_000_000;
  let hosts = 0;
  const logger = pino({ level: 'silent' });
  const ingestWith = (over: { scheduleDials?: boolean } = {}) =>
    new HeartbeatIngest({
      store,
      configurations,
      heartbeatIntervalSeconds: 600,
      logger,
      now: () => clock,
      ...over,
    });

  const event = (seq: number) => ({
    seq,
    time: clock,
    type: 'test.event',
    severity: 'info' as const,
    message: `e${seq}`,
  });
  const report = (computer: ComputerRecord, over: Partial<HeartbeatReport> = {}): HeartbeatReport => ({
    protocolVersion: PROTOCOL_VERSION,
    agent: { version: '1.2.3', platform: 'linux', hostName: computer.hostName, uptimeSeconds: 42, clockTime: clock },
    drivers: [{ name: 'firewall', status: 'online' }],
    events: [],
    counters: { 'firewall.r_1.packets': 9 },
    configurationFingerprint: computer.expectedFingerprint,
    ...over,
  });
  const enrol = async () => enrolTestComputer(store, { hostName: `rules-${++hosts}`, configurations });
  const reload = async (c: ComputerRecord) => (await store.computers.get(c.id))!;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-ingest-rules-'));
    store = openSqliteStore(join(dir, 'palisade.db'));
    await store.migrate();
    await store.policies.ensureBase(Date.now());
    configurations = new ConfigurationService(600);
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a report records what the agent and the connection said, and sets the offline deadline after now', async () => {
    const computer = await enrol();
    const ingest = ingestWith();
    const out = await ingest.ingestReport(computer, report(computer), {
      initiatedBy: 'agent',
      remoteIp: '127.0.0.9',
      tlsProtocol: 'TLSv1.3',
      tlsCipherSuite: 'TLS_AES_128_GCM_SHA256',
    });
    const c = await reload(computer);
    assert.equal(c.agentVersion, '1.2.3');
    assert.equal(c.lastIp, '127.0.0.9');
    assert.equal(c.tlsProtocol, 'TLSv1.3');
    assert.equal(c.tlsCipherSuite, 'TLS_AES_128_GCM_SHA256');
    assert.equal(c.uptimeSeconds, 42);
    assert.deepEqual(c.drivers, [{ name: 'firewall', status: 'online' }]);
    assert.equal(c.counters['firewall.r_1.packets'], 9);
    assert.equal(c.appliedFingerprint, computer.expectedFingerprint);
    assert.equal(c.lastCommunication, clock);
    assert.ok(c.offlineDeadline !== null && c.offlineDeadline > clock + 600_000, 'at least one interval away');
    assert.equal(out.reply.serverTime, clock);
    assert.equal(out.reply.heartbeatIntervalSeconds, 600);
    assert.equal(out.reply.computerId, computer.id);
  });

  test('a report without events is answered once committed, its log sync following; events or a rotation at risk wait for it', async () => {
    const ingest = ingestWith();
    const syncs = () => store.counters().logSyncs!;
    const answered = async (c: ComputerRecord, r: HeartbeatReport) => {
      const s0 = syncs();
      const out = await ingest.ingestReport(c, r, transport);
      return { synced: syncs() > s0, out };
    };
    const plain = await enrol();
    assert.equal((await answered(plain, report(plain))).synced, false, 'nothing at risk: answered before the sync');
    assert.equal((await answered(plain, report(plain, { events: [event(1)] }))).synced, true, 'events: after it');
    // A host with an identity rotates its continuity token at every report.
    const first = 'first'.padEnd(43, '2');
    const host = await enrolTestComputer(store, {
      hostName: `rules-${++hosts}`,
      configurations,
      identity: { hostIdentity: 'j'.repeat(43), continuity: first },
    });
    const a = await answered(host, report(host, { continuity: first }));
    assert.equal(a.synced, true, 'no token held before to take a lost rotation back with: after the sync');
    clock += 60_000;
    const b = await answered(
      await reload(host),
      report(host, { continuity: a.out.reply.continuity!, continuityPrevious: first }),
    );
    assert.equal(b.synced, false, 'the rotation can be taken back: answered before the sync');
    // At once, before b's sync (due within SOON_SYNC_MS): a second rotation lost with b's would
    // leave the agent holding two tokens the manager never kept.
    const c = await answered(
      host,
      report(host, { continuity: b.out.reply.continuity!, continuityPrevious: a.out.reply.continuity! }),
    );
    assert.equal(c.synced, true, 'its last rotation is not on stable storage yet: after the sync');
    // What counts is whether the last rotation is synced, not how long ago the computer reported.
    clock += 1_000;
    const d = await answered(
      await reload(host),
      report(host, { continuity: c.out.reply.continuity!, continuityPrevious: b.out.reply.continuity! }),
    );
    assert.equal(d.synced, false, 'the last rotation was synced before its answer: this one is answered before');
    await store.whenDurable();
    clock += 1_000;
    const e = await answered(
      await reload(host),
      report(host, { continuity: d.out.reply.continuity!, continuityPrevious: c.out.reply.continuity! }),
    );
    assert.equal(e.synced, false, 'reported a second ago, its last rotation synced since: before the sync');
  });

  test('clock offset: agent minus manager, plus half the round trip the manager measured, else the agent’s own figure', async () => {
    const computer = await enrol();
    const ingest = ingestWith();
    // The manager measured the round trip (it asked for the report): 200 ms, so the agent's
    // clock was read 100 ms before the report arrived.
    await ingest.ingestReport(
      computer,
      report(computer, { agent: { ...report(computer).agent, clockTime: clock + 5_000 } }),
      {
        ...transport,
        roundTripMs: 200,
      },
    );
    let c = await reload(computer);
    assert.equal(c.clockOffsetMs, 5_100);
    assert.equal(c.clockOffsetChangeMs, null, 'no change before a second report');

    // The agent dialled: the manager has only the agent's figure from its previous exchange.
    clock += 60_000;
    await ingest.ingestReport(
      c,
      report(c, { agent: { ...report(c).agent, clockTime: clock - 1_000, lastRoundTripMs: 400 } }),
      transport,
    );
    c = await reload(computer);
    assert.equal(c.clockOffsetMs, -800);
    assert.equal(c.clockOffsetChangeMs, -5_900);
  });

  test('events reported again are stored once; the reply acknowledges through the highest seq stored', async () => {
    const computer = await enrol();
    const ingest = ingestWith();
    const first = await ingest.ingestReport(computer, report(computer, { events: [event(1), event(2)] }), transport);
    assert.equal(first.reply.eventsStored, 2);
    assert.equal(first.reply.eventsAckedThrough, 2);
    // The reply was lost: the agent sends 1 and 2 again, with 3.
    const again = await ingest.ingestReport(
      await reload(computer),
      report(computer, { events: [event(1), event(2), event(3)] }),
      transport,
    );
    assert.equal(again.reply.eventsStored, 1);
    assert.equal(again.reply.eventsAckedThrough, 3);
    assert.deepEqual((await store.events.listForComputer(computer.id)).map((e) => e.seq).sort(), [1, 2, 3]);
  });

  test('an agent behind its configuration gets one applyConfiguration, the same until it reports it; then none', async () => {
    const computer = await enrol();
    const ingest = ingestWith();
    const behind = report(computer, { configurationFingerprint: null });
    const first = await ingest.ingestReport(computer, behind, transport);
    assert.equal(first.reply.operations.length, 1);
    const op = first.reply.operations[0]!;
    assert.equal(op.type, 'applyConfiguration');
    assert.equal(op.fingerprint, computer.expectedFingerprint);
    assert.deepEqual(op.configuration, first.effective.configuration);
    assert.deepEqual(first.operationIds, [op.id]);

    const second = await ingest.ingestReport(await reload(computer), behind, transport);
    assert.deepEqual(
      second.reply.operations.map((o) => o.id),
      [op.id],
      'handed out again, not a new one',
    );

    const current = await ingest.ingestReport(await reload(computer), report(computer), transport);
    assert.deepEqual(current.reply.operations, []);
    assert.deepEqual(current.operationIds, []);
  });

  test('results are taken only for the operations of this exchange, and each once', async () => {
    const computer = await enrol();
    const ingest = ingestWith();
    const r = await ingest.ingestReport(computer, report(computer, { configurationFingerprint: null }), transport);
    const id = r.operationIds[0]!;
    const open = new Set([id]);
    const out = await ingest.ingestResults(computer, open, {
      protocolVersion: PROTOCOL_VERSION,
      exchangeId: 'x',
      results: [
        { id, status: 'succeeded', fingerprint: computer.expectedFingerprint! },
        { id, status: 'failed', reason: 'repeated' },
        { id: id + 1000, status: 'succeeded' },
      ],
    });
    assert.deepEqual(out, { accepted: [id], ignored: [id, id + 1000] });
    assert.equal(open.size, 0);
    assert.equal((await store.operations.get(id))?.status, 'succeeded');

    // The same result on a later exchange, where the operation is no longer open: ignored.
    const late = await ingest.ingestResults(computer, new Set(), {
      protocolVersion: PROTOCOL_VERSION,
      exchangeId: 'y',
      results: [{ id, status: 'failed', reason: 'late' }],
    });
    assert.deepEqual(late, { accepted: [], ignored: [id] });
    assert.equal((await store.operations.get(id))?.status, 'succeeded');
  });

  test('another protocol version is refused with PROTOCOL_VERSION_UNSUPPORTED and changes nothing', async () => {
    const computer = await enrol();
    const ingest = ingestWith();
    const refused = { code: 'PROTOCOL_VERSION_UNSUPPORTED', status: 400 };
    await assert.rejects(
      ingest.ingestReport(computer, report(computer, { protocolVersion: 2, events: [event(1)] }), transport),
      refused,
    );
    const c = await reload(computer);
    assert.equal(c.lastCommunication, computer.lastCommunication);
    assert.deepEqual(await store.events.listForComputer(computer.id), []);

    const r = await ingest.ingestReport(c, report(c, { configurationFingerprint: null }), transport);
    const open = new Set(r.operationIds);
    await assert.rejects(
      ingest.ingestResults(c, open, {
        protocolVersion: 2,
        exchangeId: 'x',
        results: [{ id: r.operationIds[0]!, status: 'succeeded' }],
      }),
      refused,
    );
    assert.equal(open.size, 1, 'still awaiting its result');
    assert.equal((await store.operations.get(r.operationIds[0]!))?.status, 'sent');
  });

  test('the dialer’s schedule is kept unless turned off', async () => {
    const scheduled = await enrol();
    await ingestWith().ingestReport(scheduled, report(scheduled), transport);
    assert.notEqual(await store.dialTargets.get(scheduled.id), null);

    const unscheduled = await enrol();
    await ingestWith({ scheduleDials: false }).ingestReport(unscheduled, report(unscheduled), transport);
    assert.equal(await store.dialTargets.get(unscheduled.id), null);
  });
});

describe('ingest: a computer over its event rate (issue 12, item 3)', () => {
  let dir: string;
  let store: Store;
  let ingest: HeartbeatIngest;
  let computer: ComputerRecord;
  let t = 1_700_000_000_000;
  let deferred = 0;

  const report = (seqs: number[]): HeartbeatReport => ({
    protocolVersion: PROTOCOL_VERSION,
    agent: { version: '0.1.0', platform: 'linux', hostName: 'flood-01', uptimeSeconds: 5, clockTime: t },
    drivers: [],
    events: seqs.map((seq) => ({ seq, time: t, type: 'test.flood', severity: 'info', message: `e${seq}` })),
    counters: {},
    configurationFingerprint: null,
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-ingest-rate-'));
    store = openSqliteStore(join(dir, 'palisade.db'));
    await store.migrate();
    await store.policies.ensureBase(Date.now());
    const configurations = new ConfigurationService(600);
    ingest = new HeartbeatIngest({
      store,
      configurations,
      heartbeatIntervalSeconds: 600,
      logger: pino({ level: 'silent' }),
      monitor: new HeartbeatMonitor(store, configurations, pino({ level: 'silent' })),
      eventRate: { perMinute: 60, burst: 5 },
      onEventsDeferred: (n) => {
        deferred += n;
      },
      now: () => t,
    });
    computer = await enrolTestComputer(store, { hostName: 'flood-01', configurations });
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const stored = async () => (await store.events.listForComputer(computer.id)).map((e) => e.seq).sort((a, b) => a - b);

  test('beyond the burst, events are neither stored nor acknowledged, and counted; the agent sends them later', async () => {
    const first = await ingest.ingestReport(computer, report([1, 2, 3, 4, 5, 6, 7, 8]), transport);
    assert.equal(first.reply.eventsStored, 5);
    assert.equal(first.reply.eventsAckedThrough, 5, 'the agent keeps 6..8 in its spool');
    assert.equal(deferred, 3);
    const again = await ingest.ingestReport(computer, report([6, 7, 8]), transport);
    assert.equal(again.reply.eventsStored, 0);
    assert.equal(again.reply.eventsAckedThrough, 0, 'nothing acknowledged: nothing dropped from the spool');
    assert.equal(deferred, 6);
    t += 3_000; // 60 a minute: three more
    const later = await ingest.ingestReport(computer, report([6, 7, 8]), transport);
    assert.equal(later.reply.eventsStored, 3);
    assert.equal(later.reply.eventsAckedThrough, 8);
    assert.deepEqual(await stored(), [1, 2, 3, 4, 5, 6, 7, 8], 'every event stored once, none lost');
  });

  test('deferring raises one events-deferred alert for the computer; a heartbeat with nothing deferred clears it', async () => {
    // The test before raised and cleared one already: this one is the newest.
    const deferredAlerts = async () =>
      (
        await store.alerts.list({ computerId: computer.id, type: 'events-deferred', limit: 10, offset: 0 })
      ).alerts.filter((a) => a.raisedAt >= since);
    t += 60_000;
    const since = t;
    await ingest.ingestReport(computer, report([9, 10, 11, 12, 13, 14, 15]), transport);
    const [raised] = await deferredAlerts();
    assert.equal(raised?.clearedAt, null, 'open');
    assert.equal(raised?.severity, 'warning');
    assert.equal(raised?.data?.deferred, 2);
    assert.match(raised?.message ?? '', /flood-01 .*60 a minute, bursts of 5.*2 of this heartbeat were deferred/);
    await ingest.ingestReport(computer, report([14, 15]), transport);
    assert.equal((await deferredAlerts()).length, 1, 'still deferring: raised once');
    t += 3_000;
    await ingest.ingestReport(computer, report([14, 15]), transport);
    const [cleared] = await deferredAlerts();
    assert.equal(cleared?.id, raised?.id);
    assert.notEqual(cleared?.clearedAt, null, 'the spool caught up: cleared');
  });
});
