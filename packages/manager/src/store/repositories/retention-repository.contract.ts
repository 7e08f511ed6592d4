import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { SealedSecret } from '../../keys/secret-box.js';
import type { StoreEngine, TestDatabase } from '../../testing/store-engines.js';
import type { KyselyStore } from '../kysely-store.js';

const DAY = 86_400_000;
const NOW = 100 * DAY;

/**
 * Retention's statements on each engine: age and row caps per table, undelivered notifier items
 * kept by age and dropped (and counted) only by a cap, open alerts never pruned, and two nodes
 * pruning one database at once removing each row once.
 */
export const retentionRepositoryContract = (engine: StoreEngine) =>
  describe(`retention on ${engine.name}: pruning by age and row cap`, () => {
    let db: TestDatabase;
    let s: KyselyStore;
    let computerId: number;
    let seq = 0;

    before(async () => {
      db = await engine.database();
      s = db.store;
      const policyId = (await s.policies.ensureBase(0)).id;
      const c = await s.db
        .insertInto('computers')
        .values({
          host_name: 'retained',
          platform: 'linux',
          agent_version: '0.1.0',
          policy_id: policyId,
          state: 'active',
          cert_serial: 'retention-1',
          activated_at: 0,
          drivers: '[]',
          counters: '{}',
          events_acked_through: 0,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      computerId = Number(c.id);
    });
    after(() => db.close());
    beforeEach(async () => {
      await s.db.deleteFrom('notifiers').execute();
      await s.db.deleteFrom('alert_notifications').execute();
      await s.db.deleteFrom('alerts').execute();
      await s.db.deleteFrom('events').execute();
      await s.db.deleteFrom('audit_events').execute();
    });

    /** Stores `n` events received at `at`; returns their ids, oldest first. */
    const events = async (n: number, at: number) => {
      const rows = Array.from({ length: n }, () => ({
        seq: ++seq,
        time: at,
        type: 'firewall',
        severity: 'info',
        message: 'm',
      }));
      await s.events.insertReported(computerId, rows, at);
      const ids = await s.db.selectFrom('events').select('id').where('received_at', '=', at).orderBy('id').execute();
      return ids.map((r) => Number(r.id));
    };
    const eventIds = async () =>
      (await s.db.selectFrom('events').select('id').orderBy('id').execute()).map((r) => Number(r.id));
    const notifier = async (name: string, sources: Array<'alerts' | 'events'>) => {
      const n = await s.notifiers.create({
        name,
        settings: {
          kind: 'webhook',
          sources,
          minSeverity: 'info',
          webhook: {
            url: 'https://127.0.0.1:1/',
            headerNames: [],
            secret: 'sealed' as SealedSecret,
            ca: null,
            timeoutSeconds: 5,
          },
        },
        enabled: true,
        now: 0,
      });
      if (n === 'name-taken') throw new Error('taken');
      return n;
    };
    const drain = async (step: () => Promise<{ deleted: number; undelivered: number }>) => {
      const total = { deleted: 0, undelivered: 0 };
      for (let i = 0; i < 100; i++) {
        const r = await step();
        total.deleted += r.deleted;
        total.undelivered += r.undelivered;
        if (r.deleted === 0) break;
      }
      return total;
    };

    test('events older than the age are pruned, newer kept; the row cap keeps the newest', async () => {
      const old = await events(30, NOW - 8 * DAY);
      const fresh = await events(20, NOW - DAY);
      const r = await drain(() =>
        s.retention.pruneOutboxSource('events', { before: NOW - 7 * DAY, maxRows: null, batch: 7 }),
      );
      assert.deepEqual(r, { deleted: old.length, undelivered: 0 });
      assert.deepEqual(await eventIds(), fresh);
      const capped = await drain(() =>
        s.retention.pruneOutboxSource('events', { before: NOW - 7 * DAY, maxRows: 12, batch: 5 }),
      );
      assert.equal(capped.deleted, 8);
      assert.deepEqual(await eventIds(), fresh.slice(8), 'the newest 12');
    });

    test('events a notifier has not delivered survive their age; a cap drops them, counted', async () => {
      const delivered = await events(10, NOW - 9 * DAY);
      await notifier('events-behind', ['events']);
      await notifier('alerts-only', ['alerts']); // takes no events: holds nothing back
      const waiting = await events(10, NOW - 8 * DAY);
      const aged = await drain(() =>
        s.retention.pruneOutboxSource('events', { before: NOW - 7 * DAY, maxRows: null, batch: 4 }),
      );
      assert.deepEqual(aged, { deleted: delivered.length, undelivered: 0 });
      assert.deepEqual(await eventIds(), waiting, 'undelivered kept although old');
      const capped = await drain(() =>
        s.retention.pruneOutboxSource('events', { before: NOW - 7 * DAY, maxRows: 4, batch: 4 }),
      );
      assert.deepEqual(capped, { deleted: 6, undelivered: 6 });
      assert.deepEqual(await eventIds(), waiting.slice(6));
    });

    test('alerts: cleared ones are pruned once old and out of the outbox; open ones never', async () => {
      await notifier('alerts-behind', ['alerts']);
      const raised = await s.alerts.raise(
        [
          { type: 'computer-offline', computerId, message: 'open and old' },
          { type: 'clock-change', computerId, message: 'cleared long ago' },
          { type: 'driver-offline', computerId, subject: 'x', message: 'cleared recently' },
        ],
        NOW - 60 * DAY,
      );
      const [openId, oldId, recentId] = raised.map((c) => c.alertId);
      await s.alerts.dismiss(openId!, 'apikey:1', NOW - 50 * DAY);
      await s.alerts.clear([oldId!], NOW - 40 * DAY);
      await s.alerts.clear([recentId!], NOW - DAY);
      const bounds = { before: NOW - 30 * DAY, maxRows: null, batch: 10 };
      assert.deepEqual(
        await drain(() => s.retention.pruneOutboxSource('alerts', { ...bounds, before: NOW })),
        { deleted: 0, undelivered: 0 },
        'the notifier has delivered none of the outbox',
      );
      assert.equal(await s.retention.pruneAlerts(bounds), 0, 'their notifications still wait');
      // Delivered through everything: a position past every transaction and id (feed-position.ts).
      await s.db
        .updateTable('notifiers')
        .set({ alert_cursor: 1_000_000, alert_cursor_tx: 2 ** 50 })
        .execute();
      const outbox = await drain(() => s.retention.pruneOutboxSource('alerts', { ...bounds, before: NOW - 20 * DAY }));
      assert.equal(outbox.deleted, 5, '3 raised, 1 dismissed, 1 cleared 40 days ago');
      assert.equal(await s.retention.pruneAlerts(bounds), 1);
      const left = (await s.db.selectFrom('alerts').select('id').orderBy('id').execute()).map((r) => Number(r.id));
      assert.deepEqual(left, [openId, recentId], 'the open (dismissed) alert and the recent one');
      // Row cap: cleared alerts beyond it go (out of the outbox first); open ones stay whatever the cap.
      await drain(() => s.retention.pruneOutboxSource('alerts', { ...bounds, before: NOW + 1 }));
      assert.equal(await s.retention.pruneAlerts({ ...bounds, maxRows: 0 }), 1);
      assert.deepEqual(
        (await s.db.selectFrom('alerts').select('id').execute()).map((r) => Number(r.id)),
        [openId],
      );
    });

    test('audit rows: by age, then by row cap', async () => {
      const row = (time: number) => ({
        time,
        actor: 'cli',
        action: 'system.setting' as const,
        targetType: 'system' as const,
        targetId: null,
        setting: 'x',
        oldValue: null,
        newValue: null,
      });
      await s.audit.insert([
        ...Array.from({ length: 5 }, () => row(NOW - 400 * DAY)),
        ...Array.from({ length: 6 }, () => row(NOW)),
      ]);
      assert.equal(await s.retention.pruneAudit({ before: NOW - 371 * DAY, maxRows: null, batch: 100 }), 5);
      assert.equal(await s.retention.pruneAudit({ before: NOW - 371 * DAY, maxRows: 4, batch: 100 }), 2);
      assert.equal((await s.audit.list({ limit: 100 })).length, 4);
    });

    test('two nodes pruning at once remove each row once, and count each undelivered one once', async () => {
      await events(300, NOW - 10 * DAY);
      await notifier('behind', ['events']);
      await events(300, NOW - 9 * DAY);
      const other = db.connect();
      const bounds = { before: NOW - 7 * DAY, maxRows: 100, batch: 25 };
      const [x, y] = await Promise.all([
        drain(() => s.retention.pruneOutboxSource('events', bounds)),
        drain(() => other.retention.pruneOutboxSource('events', bounds)),
      ]);
      assert.equal(x.deleted + y.deleted, 500);
      assert.equal(x.undelivered + y.undelivered, 200);
      assert.equal((await eventIds()).length, 100);
    });
  });
