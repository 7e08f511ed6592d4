import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type HeartbeatReport, PROTOCOL_VERSION } from '@palisade/protocol';
import pino from 'pino';
import type { PalisadeError } from './errors.js';
import { HeartbeatIngest } from './ingest.js';
import { HeartbeatMonitor } from './monitor/heartbeat-monitor.js';
import { hashSecret } from './secrets.js';
import { ConfigurationService } from './services/configuration-service.js';
import type { ComputerRecord, Store, StoreCounters } from './store/store.js';
import { enrolTestComputer } from './testing/enrol-test-computer.js';
import type { StoreEngine, TestDatabase } from './testing/store-engines.js';

const transport = {
  initiatedBy: 'agent',
  remoteIp: '127.0.0.1',
  tlsProtocol: 'TLSv1.3',
  tlsCipherSuite: null,
} as const;

/** What a block of work cost the store: transactions begun, statements run outside any. */
async function counted<T>(store: Store, fn: () => Promise<T>): Promise<{ out: T; cost: StoreCounters }> {
  const a = store.counters();
  const out = await fn();
  const b = store.counters();
  return {
    out,
    cost: {
      transactions: b.transactions - a.transactions,
      autocommitReads: b.autocommitReads - a.autocommitReads,
      autocommitWrites: b.autocommitWrites - a.autocommitWrites,
    },
  };
}

export const ingestContract = (engine: StoreEngine) =>
  describe(`ingest over ${engine.name}: one heartbeat is one transaction`, () => {
    let db: TestDatabase;
    let store: Store;
    let ingest: HeartbeatIngest;
    let computer: ComputerRecord;
    let seq = 0;

    const report = (over: Partial<HeartbeatReport> = {}): HeartbeatReport => ({
      protocolVersion: PROTOCOL_VERSION,
      agent: { version: '0.1.0', platform: 'linux', hostName: 'tx-01', uptimeSeconds: 5, clockTime: Date.now() },
      drivers: [{ name: 'firewall', status: 'offline', reason: 'nft missing' }],
      events: [1, 2, 3].map(() => ({
        seq: ++seq,
        time: Date.now(),
        type: 'test.event',
        severity: 'info',
        message: 'm',
      })),
      counters: { 'firewall.r_1.packets': 1 },
      configurationFingerprint: null,
      communication: { direction: 'agent-initiated', listener: null },
      ...over,
    });

    before(async () => {
      db = await engine.database();
      store = db.store;
      await store.policies.ensureBase(Date.now());
      const configurations = new ConfigurationService(600);
      const logger = pino({ level: 'silent' });
      ingest = new HeartbeatIngest({
        store,
        configurations,
        heartbeatIntervalSeconds: 600,
        logger,
        monitor: new HeartbeatMonitor(store, configurations, logger),
      });
      computer = await enrolTestComputer(store, { hostName: 'tx-01', configurations });
    });
    after(() => db.close());

    test('a report that stores events, raises an alert, schedules the dialer and hands out an operation: one transaction, no write outside it', async () => {
      const { out, cost } = await counted(store, () => ingest.ingestReport(computer, report(), transport));
      assert.deepEqual(cost, { transactions: 1, autocommitReads: 0, autocommitWrites: 0 });
      // It did all of that, in that one transaction.
      assert.equal(out.reply.eventsStored, 3);
      assert.equal(out.reply.operations.length, 1);
      assert.equal((await store.operations.get(out.operationIds[0]!))?.status, 'sent');
      assert.deepEqual(
        (await store.alerts.list({ computerId: computer.id, limit: 10, offset: 0 })).alerts.map((a) => a.type),
        ['driver-offline'],
      );
      assert.notEqual(await store.dialTargets.get(computer.id), null);
      assert.equal((await store.events.listForComputer(computer.id)).length, 3);
    });

    test('its results (an alert, the agent’s communication): one transaction too', async () => {
      computer = (await store.computers.get(computer.id))!;
      const { out: r } = await counted(store, () => ingest.ingestReport(computer, report(), transport));
      const open = new Set(r.operationIds);
      const { out, cost } = await counted(store, () =>
        ingest.ingestResults(computer, open, {
          protocolVersion: PROTOCOL_VERSION,
          exchangeId: 'x',
          results: [{ id: r.operationIds[0]!, status: 'failed', reason: 'disk full' }],
          communication: { direction: 'agent-initiated', listener: null },
        }),
      );
      assert.deepEqual(cost, { transactions: 1, autocommitReads: 0, autocommitWrites: 0 });
      assert.deepEqual(out, { accepted: r.operationIds, ignored: [] });
      assert.equal(open.size, 0);
      assert.ok(
        (await store.alerts.list({ computerId: computer.id, limit: 10, offset: 0 })).alerts.some(
          (a) => a.type === 'configuration-update-failed',
        ),
      );
    });

    test('a report when nothing changes: one transaction', async () => {
      computer = (await store.computers.get(computer.id))!;
      const quiet = report({
        drivers: [{ name: 'firewall', status: 'offline', reason: 'nft missing' }],
        events: [],
        configurationFingerprint: computer.expectedFingerprint,
      });
      const { cost } = await counted(store, () => ingest.ingestReport(computer, quiet, transport));
      assert.deepEqual(cost, { transactions: 1, autocommitReads: 0, autocommitWrites: 0 });
    });

    test('the continuity token, an open upgrade and a renamed host, with the heartbeat’s own statements', async () => {
      const c = await enrolTestComputer(store, {
        hostName: 'tx-02',
        identity: { hostIdentity: 'h'.repeat(43), continuity: 'first'.padEnd(43, '0') },
      });
      const quiet = (continuity: string) =>
        report({ events: [], configurationFingerprint: c.expectedFingerprint, continuity });
      // No upgrade: none in the reply, on either engine (PostgreSQL answers the flag as a boolean).
      const a = await ingest.ingestReport(c, quiet('first'.padEnd(43, '0')), transport);
      assert.equal(a.reply.upgrade, undefined);
      assert.ok(a.reply.continuity);
      // The current token rotates; the previous one (its reply lost) is still accepted once.
      const b = await ingest.ingestReport(c, quiet(a.reply.continuity), transport);
      assert.ok(b.reply.continuity && b.reply.continuity !== a.reply.continuity);
      const retry = await ingest.ingestReport(c, quiet(a.reply.continuity), transport);
      assert.ok(retry.reply.continuity);
      // A token older than that is a copy's: refused, nothing stored.
      await assert.rejects(ingest.ingestReport(c, quiet('first'.padEnd(43, '0')), transport), /AGENT_CLONED|live copy/);
      const order = await store.computers.requestUpgrade({
        computerId: c.id,
        fromVersion: '0.1.0',
        toVersion: '0.2.0',
        packages: [{ file: 'palisade-agent-0.2.0-linux-x86_64.tar.gz', sha256: 'a'.repeat(64) }],
        requestedBy: 'test',
        now: Date.now(),
      });
      const d = await ingest.ingestReport(c, quiet(retry.reply.continuity), transport);
      assert.equal(d.reply.upgrade?.id, order.id);
      assert.equal((await store.computers.openUpgrade(c.id))?.status, 'sent');
      // A renamed host on a new version: written (the update that leaves them alone finds no row).
      const renamed = report({
        agent: {
          version: '0.2.0',
          platform: 'linux',
          hostName: 'tx-02-renamed',
          uptimeSeconds: 1,
          clockTime: Date.now(),
        },
        events: [],
        configurationFingerprint: c.expectedFingerprint,
        continuity: d.reply.continuity!,
      });
      const e = await ingest.ingestReport(c, renamed, transport);
      assert.ok(e.reply.continuity);
      const after = await store.computers.get(c.id);
      assert.deepEqual([after?.hostName, after?.agentVersion], ['tx-02-renamed', '0.2.0']);
      assert.equal((await store.computers.openUpgrade(c.id))?.status, undefined, 'the new version completed it');
    });

    test('a rotation the manager lost is taken back from the token the host held before; copies are still refused', async () => {
      const first = 'first'.padEnd(43, '1');
      const c = await enrolTestComputer(store, {
        hostName: 'tx-03',
        identity: { hostIdentity: 'i'.repeat(43), continuity: first },
      });
      const quiet = (continuity: string, continuityPrevious?: string) =>
        report({
          events: [],
          configurationFingerprint: c.expectedFingerprint,
          continuity,
          ...(continuityPrevious ? { continuityPrevious } : {}),
        });
      const t1 = (await ingest.ingestReport(c, quiet(first), transport)).reply.continuity!;
      const t2 = (await ingest.ingestReport(c, quiet(t1, first), transport)).reply.continuity!;
      // The manager's host lost power before the rotation to t2 reached its disk.
      assert.equal(
        await store.computers.rotateContinuity(c.id, hashSecret(t2), hashSecret(t1), hashSecret(first)),
        true,
      );
      // Without the token held before, t2 is one the manager never issued: a copy's.
      await assert.rejects(ingest.ingestReport(c, quiet(t2), transport), /AGENT_CLONED|live copy/);
      const t3 = (await ingest.ingestReport(c, quiet(t2, t1), transport)).reply.continuity!;
      assert.ok(t3 && t3 !== t2);
      const id = await store.computers.identityOf(c.id);
      assert.deepEqual([id?.continuityCurrent, id?.continuityPrevious], [hashSecret(t3), hashSecret(t2)]);
      // Only one step: a host two rotations ahead of the manager, or holding an unknown pair, is refused.
      await assert.rejects(ingest.ingestReport(c, quiet('z'.repeat(43), t1), transport), /AGENT_CLONED|live copy/);
      const t4 = (await ingest.ingestReport(c, quiet(t3, t2), transport)).reply.continuity!;
      assert.ok(t4);
    });

    test('a report from a certificate serial: the computer read and checked in the same transaction; a refused one stores nothing', async () => {
      const c = await enrolTestComputer(store, { hostName: 'tx-04' });
      const quiet = () => report({ events: [], configurationFingerprint: c.expectedFingerprint });
      const { out, cost } = await counted(store, () =>
        ingest.ingestReport({ certSerial: c.certSerial }, quiet(), transport),
      );
      assert.deepEqual(cost, { transactions: 1, autocommitReads: 0, autocommitWrites: 0 });
      assert.equal(out.reply.computerId, c.id);
      const stored = (await store.computers.get(c.id))!;
      assert.equal(stored.lastCommunication, out.reply.serverTime);

      await assert.rejects(
        ingest.ingestReport({ certSerial: 'no-such-serial' }, quiet(), transport),
        (e: PalisadeError) => e.code === 'CERTIFICATE_NOT_RECOGNIZED',
      );
      // Deactivated: its certificate is revoked by its state; deleted: by the revocation list.
      assert.equal(await store.computers.deactivate(c.id, Date.now()), true);
      const late = report({ configurationFingerprint: c.expectedFingerprint });
      await assert.rejects(
        ingest.ingestReport({ certSerial: c.certSerial }, late, transport),
        (e: PalisadeError) => e.code === 'CERTIFICATE_REVOKED',
      );
      assert.equal((await store.computers.get(c.id))?.lastCommunication, stored.lastCommunication);
      assert.equal((await store.events.listForComputer(c.id)).length, 0, 'its events were not stored');
      assert.equal(await store.computers.remove(c.id, Date.now()), true);
      await assert.rejects(
        ingest.ingestReport({ certSerial: c.certSerial }, quiet(), transport),
        (e: PalisadeError) => e.code === 'CERTIFICATE_REVOKED',
      );
    });

    test('the count is real: the same work done piecemeal shows every transaction and autocommit write', async () => {
      const { cost } = await counted(store, async () => {
        await store.operations.ensureConfiguration(computer.id, 'sha256:x', {}, Date.now());
        await store.operations.markSent([1], Date.now());
      });
      assert.deepEqual(cost, { transactions: 1, autocommitReads: 0, autocommitWrites: 1 });
    });
  });
