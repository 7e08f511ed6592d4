import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { openInitializedStore } from '../manager.js';
import { MonitorStore } from './monitor-store.js';
import type { Store } from './store.js';

const INACTIVE_VM = 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled';

describe('monitor store over SQLite', () => {
  let dir: string;
  let store: Store;
  let m: MonitorStore;
  let policyId: number;
  let serial = 0;

  /** A computer whose last heartbeat was at `last` and whose deadline is `deadline`. */
  const computer = async (o: {
    deadline: number | null;
    vm?: 'running' | 'stopped';
    host?: string;
    state?: 'active' | 'deactivated';
  }) => {
    const r = await m.db
      .insertInto('computers')
      .values({
        host_name: o.host ?? `host-${++serial}`,
        platform: 'linux',
        agent_version: '0.1.0',
        policy_id: policyId,
        state: o.state ?? 'active',
        cert_serial: `s-${++serial}`,
        activated_at: 0,
        last_communication: o.deadline === null ? null : o.deadline - 3000,
        offline_deadline: o.deadline,
        vm_state: o.vm ?? null,
        drivers: '[]',
        counters: '{}',
        events_acked_through: 0,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return Number(r.id);
  };
  const alerts = async (computerId: number) => (await m.listAlerts({ computerId, limit: 100, offset: 0 })).alerts;
  const heartbeatOutcome = (
    computerId: number,
    over: Partial<Parameters<MonitorStore['recordHeartbeatOutcome']>[0]> = {},
  ) =>
    m.recordHeartbeatOutcome({
      computerId,
      now: 50_000,
      clockOffsetMs: 0,
      previousClockOffsetMs: 0,
      clockThresholdMs: null,
      drivers: [],
      reportedVmState: 'running',
      configurationCurrent: false,
      ...over,
    });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-monitor-'));
    ({ store } = await openInitializedStore(dir));
    m = MonitorStore.over(store);
    policyId = (await store.ensureBasePolicy(0)).id;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await m.db.deleteFrom('alert_notifications').execute();
    await m.db.deleteFrom('alerts').execute();
    await m.db.deleteFrom('policy_settings').where('name', '=', INACTIVE_VM).execute();
    await m.db.updateTable('computers').set({ state: 'deactivated' }).execute();
  });

  test('the sweep reads the partial index, not the table', async () => {
    const plan = await sql<{
      detail: string;
    }>`EXPLAIN QUERY PLAN SELECT id FROM computers WHERE offline_deadline <= 5 AND offline_since IS NULL AND state = 'active' ORDER BY offline_deadline LIMIT 10`.execute(
      m.db,
    );
    assert.match(
      plan.rows.map((r) => r.detail).join('\n'),
      /USING INDEX computers_offline_due \(offline_deadline<\?\)/,
    );
  });

  test('only computers whose deadline passed go offline: at the deadline yes, a millisecond before no; one alert each', async () => {
    const due = await computer({ deadline: 10_000 });
    const notYet = await computer({ deadline: 10_001 });
    const never = await computer({ deadline: null });
    const gone = await computer({ deadline: 1, state: 'deactivated' });
    const first = await m.sweepOffline(10_000);
    assert.deepEqual(
      first.transitions.map((t) => t.computerId),
      [due],
    );
    assert.equal(first.changes.length, 1);
    assert.equal((await m.sweepOffline(10_000)).transitions.length, 0, 'already offline: not again');
    assert.equal((await m.sweepOffline(20_000)).transitions.map((t) => t.computerId).join(), String(notYet));
    for (const id of [never, gone]) assert.equal((await alerts(id)).length, 0);
    const [a] = await alerts(due);
    assert.equal(a!.type, 'computer-offline');
    assert.equal(a!.severity, 'critical');
    assert.equal(a!.raisedAt, 10_000);
    assert.equal(a!.clearedAt, null);
    assert.match(a!.message, /^host-\d+ is offline: no heartbeat since 1970-01-01T00:00:07\.000Z$/);
    assert.equal((await store.getComputer(due))!.offlineSince, 10_000);
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
             const { openSqliteStore } = await import(workerData.sqlite);
             const { MonitorStore } = await import(workerData.monitor);
             const s = openSqliteStore(workerData.file);
             Atomics.wait(workerData.go, 0, 0);
             const r = await MonitorStore.over(s).sweepOffline(100, 50);
             await s.close();
             parentPort.postMessage(r.transitions.map((t) => t.computerId));
           })().catch((e) => { throw e; });`,
          {
            eval: true,
            workerData: {
              go,
              file: join(dir, 'palisade.db'),
              sqlite: new URL('./sqlite-store.js', import.meta.url).href,
              monitor: new URL('./monitor-store.js', import.meta.url).href,
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
    const raised = await m.db
      .selectFrom('alerts')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    assert.equal(Number(raised.n), 300);
  });

  test('a stopped VM goes offline without an alert unless its effective inactive-VM setting is true', async () => {
    const quiet = await computer({ deadline: 5, vm: 'stopped' });
    let r = await m.sweepOffline(100);
    assert.deepEqual(
      r.transitions.map((t) => [t.computerId, t.vmStopped, t.alertId]),
      [[quiet, true, null]],
    );
    assert.equal((await alerts(quiet)).length, 0);
    await m.db
      .insertInto('policy_settings')
      .values({ policy_id: policyId, name: INACTIVE_VM, value: 'true' })
      .execute();
    const loud = await computer({ deadline: 5, vm: 'stopped' });
    r = await m.sweepOffline(100);
    assert.deepEqual(
      r.transitions.map((t) => t.computerId),
      [loud],
    );
    assert.equal((await alerts(loud)).length, 1);
    // A computer's own override wins over its policy's.
    const own = await computer({ deadline: 5, vm: 'stopped' });
    await m.db
      .insertInto('computer_settings')
      .values({ computer_id: own, name: INACTIVE_VM, value: 'false' })
      .execute();
    r = await m.sweepOffline(100);
    assert.deepEqual(
      r.transitions.map((t) => [t.computerId, t.alertId]),
      [[own, null]],
    );
  });

  test('a heartbeat clears the offline alert (recorded, not deleted) and the computer is online again', async () => {
    const id = await computer({ deadline: 5 });
    await m.sweepOffline(100);
    const changes = await heartbeatOutcome(id);
    assert.deepEqual(
      changes.map((c) => [c.action, c.type]),
      [['cleared', 'computer-offline']],
    );
    const [a] = await alerts(id);
    assert.equal(a!.clearedAt, 50_000);
    assert.equal((await store.getComputer(id))!.offlineSince, null);
    const outbox = await m.pendingAlertNotifications(0, 10);
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
    assert.equal((await store.getComputer(id))!.vmState, 'stopped');
    await heartbeatOutcome(id);
    assert.equal((await store.getComputer(id))!.vmState, 'running');
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
      (await heartbeatOutcome(id, { previousClockOffsetMs: 2 * t + 1, clockOffsetMs: 2 * t + 1, clockThresholdMs: t }))
        .length,
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
    const failed = await m.recordOperationResult({
      computerId: id,
      operationId: 7,
      status: 'failed',
      reason: 'disk full',
      now: 1,
    });
    assert.equal(failed.length, 1);
    assert.match((await alerts(id))[0]!.message, /configuration update failed on host-\d+: disk full/);
    assert.equal(
      (await m.recordOperationResult({ computerId: id, operationId: 8, status: 'failed', reason: 'disk full', now: 2 }))
        .length,
      0,
    );
    const ok = await m.recordOperationResult({
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
    await m.recordOperationResult({ computerId: id, operationId: 10, status: 'failed', reason: 'again', now: 4 });
    assert.equal((await heartbeatOutcome(id)).length, 0, 'still not running what the manager expects');
    assert.deepEqual(
      (await heartbeatOutcome(id, { configurationCurrent: true })).map((c) => [c.action, c.type]),
      [['cleared', 'configuration-update-failed']],
      'reporting the expected fingerprint clears it too',
    );
  });

  test('vmstate on an Offline computer settles the alert: stopped clears it, running raises it', async () => {
    const id = await computer({ deadline: 5 });
    await m.sweepOffline(100);
    const stopped = await m.setVmState(id, 'stopped', 'api', 200);
    assert.deepEqual(
      stopped?.changes.map((c) => c.action),
      ['cleared'],
    );
    assert.deepEqual((await m.setVmState(id, 'stopped', 'api', 201))?.changed, false);
    const running = await m.setVmState(id, 'running', 'api', 300);
    assert.deepEqual(
      running?.changes.map((c) => c.action),
      ['raised'],
    );
    assert.equal(await m.setVmState(999_999, 'running', 'api', 1), null);
  });

  test('deactivation clears every open alert of the computer in its transaction, with the reason and outbox rows; the sweep skips it after', async () => {
    const id = await computer({ deadline: 5 });
    await m.sweepOffline(100);
    await heartbeatOutcome(id, { now: 120, drivers: [{ name: 'firewall', status: 'offline', reason: 'x' }] });
    await m.sweepOffline(200); // the heartbeat cleared offline_since; its deadline (5) is still past
    const dismissed = (await alerts(id)).find((a) => a.type === 'driver-offline')!;
    await m.dismissAlert(dismissed.id, 'apikey:1', 210);
    const open = (await alerts(id)).filter((a) => a.clearedAt === null);
    assert.deepEqual(open.map((a) => a.type).sort(), ['computer-offline', 'driver-offline']);

    // A failure after the clear rolls it back with the deactivation.
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.deactivateComputer(id, 300);
        assert.equal((await MonitorStore.over(tx).clearComputerAlerts(id, 300, 'computer deactivated')).length, 2);
        throw new Error('boom');
      }),
      /boom/,
    );
    assert.equal((await alerts(id)).filter((a) => a.clearedAt === null).length, 2, 'rolled back: still open');
    assert.equal((await store.getComputer(id))!.state, 'active');

    const before = (await m.pendingAlertNotifications(0, 100)).at(-1)!.cursor;
    const changes = await store.transaction(async (tx) => {
      assert.equal(await tx.deactivateComputer(id, 400), true);
      return MonitorStore.over(tx).clearComputerAlerts(id, 400, 'computer deactivated');
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
    const outbox = await m.pendingAlertNotifications(before, 100);
    assert.deepEqual(outbox.map((n) => [n.action, n.alert.id]).sort(), open.map((a) => ['cleared', a.id]).sort());
    assert.equal((await m.listAlerts({ active: true, computerId: id, limit: 10, offset: 0 })).total, 0);
    assert.deepEqual(await m.clearComputerAlerts(id, 500, 'computer deactivated'), [], 'nothing left open');

    // Its deadline is gone and it is not active: later sweeps raise nothing for it.
    await m.db
      .updateTable('computers')
      .set({ offline_deadline: 1, offline_since: null })
      .where('id', '=', id)
      .execute();
    assert.equal(
      (await m.sweepOffline(10_000_000)).transitions.some((t) => t.computerId === id),
      false,
    );
    assert.equal((await alerts(id)).filter((a) => a.clearedAt === null).length, 0);
  });

  test('dismissing keeps the alert open (not raised again) and leaves the active list', async () => {
    const id = await computer({ deadline: 5 });
    await m.sweepOffline(100);
    const [a] = await alerts(id);
    const d = await m.dismissAlert(a!.id, 'apikey:1', 150);
    assert.equal(d?.alert.dismissedAt, 150);
    assert.equal((await m.dismissAlert(a!.id, 'apikey:2', 160))?.changes.length, 0, 'twice: no change');
    assert.equal((await m.listAlerts({ active: true, computerId: id, limit: 10, offset: 0 })).total, 0);
    assert.equal((await m.listAlerts({ active: false, computerId: id, limit: 10, offset: 0 })).total, 1);
    assert.equal(await m.dismissAlert(999_999, 'x', 1), null);
  });
});
