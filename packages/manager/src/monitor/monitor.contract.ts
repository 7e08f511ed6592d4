import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { AGENT_STOPPED_EVENT, type HeartbeatReport } from '@palisade/protocol';
import pino from 'pino';
import { ConfigurationService } from '../services/configuration-service.js';
import { FEED_START } from '../store/feed-position.js';
import type { Store } from '../store/store.js';
import { enrolTestComputer } from '../testing/enrol-test-computer.js';
import { recordTestHeartbeat } from '../testing/record-test-heartbeat.js';
import type { StoreEngine, TestDatabase } from '../testing/store-engines.js';
import { HeartbeatMonitor } from './heartbeat-monitor.js';
import { sweepOffline } from './offline-sweep.js';

const INACTIVE_VM = 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled';

/** What a heartbeat tells the monitor, as the tests vary it. */
interface Outcome {
  now: number;
  clockOffsetMs: number;
  previousClockOffsetMs: number | null;
  /** null: Unlimited. */
  clockThresholdMs: number | null;
  drivers: HeartbeatReport['drivers'];
  reportedVmState: 'running' | 'stopped';
  configurationCurrent: boolean;
}

// A fresh store per test: each starts with no computers, alerts or overrides.
export const monitorContract = (engine: StoreEngine) =>
  describe(`monitor over ${engine.name}: offline sweep, heartbeat and result alerts, VM state`, () => {
    let db: TestDatabase;
    let store: Store;
    let configurations: ConfigurationService;
    let monitor: HeartbeatMonitor;
    let policyId: number;
    let serial = 0;

    /** A computer whose last heartbeat was 3 s before `deadline` and whose deadline is `deadline`. */
    const computer = async (o: {
      deadline: number | null;
      vm?: 'running' | 'stopped';
      host?: string;
      state?: 'active' | 'deactivated';
    }) => {
      const { id } = await enrolTestComputer(store, { hostName: o.host ?? `host-${++serial}`, configurations });
      if (o.deadline !== null)
        await recordTestHeartbeat(store, id, { now: o.deadline - 3000, offlineDeadline: o.deadline });
      if (o.vm) await store.computers.setVmState(id, o.vm, 'test', 0);
      if (o.state === 'deactivated') await store.computers.deactivate(id, 0);
      return id;
    };
    const alerts = async (computerId: number) =>
      (await store.alerts.list({ computerId, limit: 100, offset: 0 })).alerts;
    const sweep = (now: number, batchSize?: number) => sweepOffline(store, configurations, now, batchSize);
    /** A heartbeat as the ingest path stores it (its deadline left as it was: these tests move time by hand), with the monitor's share. */
    const heartbeatOutcome = async (computerId: number, over: Partial<Outcome> = {}) => {
      const o: Outcome = {
        now: 50_000,
        clockOffsetMs: 0,
        previousClockOffsetMs: 0,
        clockThresholdMs: null,
        drivers: [],
        reportedVmState: 'running',
        configurationCurrent: false,
        ...over,
      };
      const settings = {
        ...(await configurations.policies(store)).tree.resolveForPolicy(policyId).values,
        platformSettingHeartbeatLocalTimeShiftAlertThreshold:
          o.clockThresholdMs === null ? 'Unlimited' : String(o.clockThresholdMs / 60_000),
      };
      return store.transaction(async (tx) => {
        const before = (await tx.computers.get(computerId))!;
        const c = await recordTestHeartbeat(tx, computerId, {
          now: o.now,
          offlineDeadline: before.offlineDeadline ?? o.now + 1_800_000,
          clockOffsetMs: o.clockOffsetMs,
          drivers: o.drivers,
        });
        return monitor.onHeartbeat(tx, {
          computer: c,
          previousClockOffsetMs: o.previousClockOffsetMs,
          events:
            o.reportedVmState === 'stopped'
              ? [
                  {
                    seq: 1,
                    time: o.now,
                    type: AGENT_STOPPED_EVENT,
                    severity: 'info',
                    message: 'stopping',
                    data: { hostShutdown: true },
                  },
                ]
              : [],
          drivers: o.drivers,
          settings,
          configurationCurrent: o.configurationCurrent,
          clockOffsetMs: o.clockOffsetMs,
          now: o.now,
        });
      });
    };
    const operationResult = (r: {
      computerId: number;
      operationId: number;
      status: 'succeeded' | 'failed';
      reason: string | null;
      now: number;
    }) => store.transaction((tx) => monitor.onOperationResult(tx, r));

    beforeEach(async () => {
      db = await engine.database();
      store = db.store;
      configurations = new ConfigurationService(600);
      monitor = new HeartbeatMonitor(store, configurations, pino({ level: 'silent' }));
      policyId = (await store.policies.ensureBase(0)).id;
    });
    afterEach(() => db.close());

    test('only computers whose deadline passed go offline: at the deadline yes, a millisecond before no; one alert each', async () => {
      const due = await computer({ deadline: 10_000 });
      const notYet = await computer({ deadline: 10_001 });
      const never = await computer({ deadline: null });
      const gone = await computer({ deadline: 1, state: 'deactivated' });
      const first = await sweep(10_000);
      assert.deepEqual(
        first.transitions.map((t) => t.computerId),
        [due],
      );
      assert.equal(first.changes.length, 1);
      assert.equal((await sweep(10_000)).transitions.length, 0, 'already offline: not again');
      assert.equal((await sweep(20_000)).transitions.map((t) => t.computerId).join(), String(notYet));
      for (const id of [never, gone]) assert.equal((await alerts(id)).length, 0);
      const [a] = await alerts(due);
      assert.equal(a!.type, 'computer-offline');
      assert.equal(a!.severity, 'critical');
      assert.equal(a!.raisedAt, 10_000);
      assert.equal(a!.clearedAt, null);
      assert.match(a!.message, /^host-\d+ is offline: no heartbeat since 1970-01-01T00:00:07\.000Z$/);
      assert.equal((await store.computers.get(due))!.offlineSince, 10_000);
    });

    test('two nodes sweeping the same store at once: each transition, and each alert, happens once', async () => {
      const ids = await Promise.all(Array.from({ length: 300 }, () => computer({ deadline: 5 })));
      // Two threads, each with its own connection, as two manager processes would be (one
      // process's connections would block each other's thread on SQLite's lock). They start
      // together and sweep in batches of 50, so their batches interleave.
      const go = new Int32Array(new SharedArrayBuffer(4));
      const node = () =>
        new Promise<number[]>((resolve, reject) => {
          const w = new Worker(
            `const { workerData, parentPort } = require('node:worker_threads');
           (async () => {
             const { openStore } = await import(workerData.openStore);
             const { sweepOffline } = await import(workerData.sweep);
             const { ConfigurationService } = await import(workerData.configurations);
             const s = openStore(workerData.url);
             Atomics.wait(workerData.go, 0, 0);
             const r = await sweepOffline(s, new ConfigurationService(600), 100, 50);
             await s.close();
             parentPort.postMessage(r.transitions.map((t) => t.computerId));
           })().catch((e) => { throw e; });`,
            {
              eval: true,
              workerData: {
                go,
                url: db.url,
                openStore: new URL('../store/open-store.js', import.meta.url).href,
                sweep: new URL('./offline-sweep.js', import.meta.url).href,
                configurations: new URL('../services/configuration-service.js', import.meta.url).href,
              },
            },
          );
          w.once('message', resolve);
          w.once('error', reject);
        });
      const both = Promise.all([node(), node()]);
      await new Promise((r) => setTimeout(r, 300));
      Atomics.store(go, 0, 1);
      Atomics.notify(go, 0);
      const [a, b] = await both;
      if (process.env.PALISADE_TEST_LOG) console.log(`node A swept ${a.length}, node B ${b.length}`);
      assert.deepEqual(
        [...a, ...b].sort((x, y) => x - y),
        ids.sort((x, y) => x - y),
      );
      const raised = { n: (await store.alerts.list({ limit: 1, offset: 0 })).total };
      assert.equal(Number(raised.n), 300);
    });

    test('a stopped VM goes offline without an alert unless its effective inactive-VM setting is true', async () => {
      const quiet = await computer({ deadline: 5, vm: 'stopped' });
      let r = await sweep(100);
      assert.deepEqual(
        r.transitions.map((t) => [t.computerId, t.vmStopped, t.alertId]),
        [[quiet, true, null]],
      );
      assert.equal((await alerts(quiet)).length, 0);
      await store.policies.setSetting(policyId, INACTIVE_VM, 'true');
      const loud = await computer({ deadline: 5, vm: 'stopped' });
      r = await sweep(100);
      assert.deepEqual(
        r.transitions.map((t) => t.computerId),
        [loud],
      );
      assert.equal((await alerts(loud)).length, 1);
      // A computer's own override wins over its policy's.
      const own = await computer({ deadline: 5, vm: 'stopped' });
      await store.computers.setSetting(own, INACTIVE_VM, 'false');
      r = await sweep(100);
      assert.deepEqual(
        r.transitions.map((t) => [t.computerId, t.alertId]),
        [[own, null]],
      );
    });

    test('a heartbeat clears the offline alert (recorded, not deleted) and the computer is online again', async () => {
      const id = await computer({ deadline: 5 });
      await sweep(100);
      const changes = await heartbeatOutcome(id);
      assert.deepEqual(
        changes.map((c) => [c.action, c.type]),
        [['cleared', 'computer-offline']],
      );
      const [a] = await alerts(id);
      assert.equal(a!.clearedAt, 50_000);
      assert.equal((await store.computers.get(id))!.offlineSince, null);
      const outbox = await store.alerts.notificationsAfter(FEED_START, 10);
      assert.deepEqual(
        outbox.map((n) => [n.action, n.alert.id]),
        [
          ['raised', a!.id],
          ['cleared', a!.id],
        ],
      );
    });

    test('the shutdown notice marks a VM stopped; the next plain heartbeat marks it running', async () => {
      const id = await computer({ deadline: 100_000 });
      await heartbeatOutcome(id, { reportedVmState: 'stopped' });
      assert.equal((await store.computers.get(id))!.vmState, 'stopped');
      await heartbeatOutcome(id);
      assert.equal((await store.computers.get(id))!.vmState, 'running');
    });

    test('clock: a change beyond the threshold raises once; the clock coming back clears it', async () => {
      const id = await computer({ deadline: 100_000 });
      const t = 60_000;
      assert.equal(
        (await heartbeatOutcome(id, { previousClockOffsetMs: 0, clockOffsetMs: t, clockThresholdMs: t })).length,
        0,
        'at the threshold: no alert',
      );
      const raised = await heartbeatOutcome(id, {
        previousClockOffsetMs: t,
        clockOffsetMs: 2 * t + 1,
        clockThresholdMs: t,
      });
      assert.deepEqual(
        raised.map((c) => [c.action, c.type]),
        [['raised', 'clock-change']],
      );
      const [a] = await alerts(id);
      assert.match(a!.message, /changed by \+1 min since the previous heartbeat/);
      assert.deepEqual(a!.data, { changeMs: t + 1, offsetMs: 2 * t + 1, baselineOffsetMs: t, thresholdMs: t });
      assert.equal(
        (
          await heartbeatOutcome(id, {
            previousClockOffsetMs: 2 * t + 1,
            clockOffsetMs: 2 * t + 1,
            clockThresholdMs: t,
          })
        ).length,
        0,
        'still shifted: stays open, not raised again',
      );
      const cleared = await heartbeatOutcome(id, {
        previousClockOffsetMs: 2 * t + 1,
        clockOffsetMs: t + 500,
        clockThresholdMs: t,
      });
      assert.deepEqual(
        cleared.map((c) => [c.action, c.type]),
        [['cleared', 'clock-change']],
      );
    });

    test('drivers: offline raises one alert per driver naming it; online again clears it', async () => {
      const id = await computer({ deadline: 100_000 });
      const off = [
        { name: 'firewall', status: 'offline' as const, reason: 'nftables missing' },
        { name: 'listener', status: 'online' as const },
      ];
      assert.deepEqual(
        (await heartbeatOutcome(id, { drivers: off })).map((c) => c.type),
        ['driver-offline'],
      );
      assert.equal((await heartbeatOutcome(id, { drivers: off })).length, 0);
      const [a] = await alerts(id);
      assert.equal(a!.subject, 'firewall');
      assert.match(a!.message, /driver "firewall" is offline on host-\d+: nftables missing/);
      const back = await heartbeatOutcome(id, { drivers: [{ name: 'firewall', status: 'online' }] });
      assert.deepEqual(
        back.map((c) => [c.action, c.type]),
        [['cleared', 'driver-offline']],
      );
    });

    test('a failed configuration update raises with the reason; a later success clears it', async () => {
      const id = await computer({ deadline: 100_000 });
      const failed = await operationResult({
        computerId: id,
        operationId: 7,
        status: 'failed',
        reason: 'disk full',
        now: 1,
      });
      assert.equal(failed.length, 1);
      assert.match((await alerts(id))[0]!.message, /configuration update failed on host-\d+: disk full/);
      assert.equal(
        (await operationResult({ computerId: id, operationId: 8, status: 'failed', reason: 'disk full', now: 2 }))
          .length,
        0,
      );
      const ok = await operationResult({
        computerId: id,
        operationId: 9,
        status: 'succeeded',
        reason: null,
        now: 3,
      });
      assert.deepEqual(
        ok.map((c) => c.action),
        ['cleared'],
      );
      await operationResult({ computerId: id, operationId: 10, status: 'failed', reason: 'again', now: 4 });
      assert.equal((await heartbeatOutcome(id)).length, 0, 'still not running what the manager expects');
      assert.deepEqual(
        (await heartbeatOutcome(id, { configurationCurrent: true })).map((c) => [c.action, c.type]),
        [['cleared', 'configuration-update-failed']],
        'reporting the expected fingerprint clears it too',
      );
    });

    test('vmstate on an Offline computer settles the alert: stopped clears it, running raises it', async () => {
      const id = await computer({ deadline: 5 });
      await sweep(100);
      const stopped = await monitor.setVmState(id, 'stopped', 200);
      assert.deepEqual(
        stopped?.changes.map((c) => c.action),
        ['cleared'],
      );
      assert.deepEqual((await monitor.setVmState(id, 'stopped', 201))?.changed, false);
      const running = await monitor.setVmState(id, 'running', 300);
      assert.deepEqual(
        running?.changes.map((c) => c.action),
        ['raised'],
      );
      assert.equal(await monitor.setVmState(999_999, 'running', 1), null);
    });

    test('deactivation clears every open alert of the computer in its transaction, with the reason and outbox rows; the sweep skips it after', async () => {
      const id = await computer({ deadline: 5 });
      await sweep(100);
      await heartbeatOutcome(id, { now: 120, drivers: [{ name: 'firewall', status: 'offline', reason: 'x' }] });
      await sweep(200); // the heartbeat cleared offline_since; its deadline (5) is still past
      const dismissed = (await alerts(id)).find((a) => a.type === 'driver-offline')!;
      await store.alerts.dismiss(dismissed.id, 'apikey:1', 210);
      const open = (await alerts(id)).filter((a) => a.clearedAt === null);
      assert.deepEqual(open.map((a) => a.type).sort(), ['computer-offline', 'driver-offline']);

      // A failure after the clear rolls it back with the deactivation.
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.computers.deactivate(id, 300);
          assert.equal((await tx.alerts.clearAllOpen(id, 300, 'computer deactivated')).length, 2);
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal((await alerts(id)).filter((a) => a.clearedAt === null).length, 2, 'rolled back: still open');
      assert.equal((await store.computers.get(id))!.state, 'active');

      const last = (await store.alerts.notificationsAfter(FEED_START, 100)).at(-1)!;
      const before = { tx: last.tx, id: last.cursor };
      const changes = await store.transaction(async (tx) => {
        assert.equal(await tx.computers.deactivate(id, 400), true);
        return tx.alerts.clearAllOpen(id, 400, 'computer deactivated');
      });
      assert.deepEqual(
        changes.map((c) => c.action),
        ['cleared', 'cleared'],
      );
      for (const a of await alerts(id)) {
        assert.equal(a.clearedAt === null, false, a.type);
        if (open.some((o) => o.id === a.id)) {
          assert.equal(a.clearedAt, 400);
          assert.equal(a.data?.clearedReason, 'computer deactivated');
        }
      }
      assert.equal(
        (await alerts(id)).find((a) => a.id === dismissed.id)!.data?.driver,
        'firewall',
        'data kept, reason added',
      );
      const outbox = await store.alerts.notificationsAfter(before, 100);
      assert.deepEqual(outbox.map((n) => [n.action, n.alert.id]).sort(), open.map((a) => ['cleared', a.id]).sort());
      assert.equal((await store.alerts.list({ active: true, computerId: id, limit: 10, offset: 0 })).total, 0);
      assert.deepEqual(await store.alerts.clearAllOpen(id, 500, 'computer deactivated'), [], 'nothing left open');

      // Its deadline is gone and it is not active: later sweeps raise nothing for it (a passed
      // deadline left on a deactivated row is skipped too: computer-repository.test.ts).
      assert.equal((await store.computers.get(id))!.offlineDeadline, null);
      assert.equal(
        (await sweep(10_000_000)).transitions.some((t) => t.computerId === id),
        false,
      );
      assert.equal((await alerts(id)).filter((a) => a.clearedAt === null).length, 0);
    });

    test('dismissing keeps the alert open (not raised again) and leaves the active list', async () => {
      const id = await computer({ deadline: 5 });
      await sweep(100);
      const [a] = await alerts(id);
      const d = await store.alerts.dismiss(a!.id, 'apikey:1', 150);
      assert.equal(d?.alert.dismissedAt, 150);
      assert.equal((await store.alerts.dismiss(a!.id, 'apikey:2', 160))?.changes.length, 0, 'twice: no change');
      assert.equal((await store.alerts.list({ active: true, computerId: id, limit: 10, offset: 0 })).total, 0);
      assert.equal((await store.alerts.list({ active: false, computerId: id, limit: 10, offset: 0 })).total, 1);
      assert.equal(await store.alerts.dismiss(999_999, 'x', 1), null);
    });
  });
