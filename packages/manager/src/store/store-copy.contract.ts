import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { SealedSecret } from '../keys/secret-box.js';
import { type StoreEngine, sqliteEngine, type TestDatabase } from '../testing/store-engines.js';
import type { KyselyStore } from './kysely-store.js';
import { COPIED_TABLES, copyStore } from './store-copy.js';

/**
 * `db copy` from a populated SQLite store into an empty one of the engine under test: every
 * row of every table arrives as it was, and ids go on after the copied ones.
 */
export const storeCopyContract = (engine: StoreEngine) =>
  describe(`db copy: a populated SQLite store into an empty ${engine.name} one`, () => {
    const sqlite = sqliteEngine();
    let source: TestDatabase;
    let target: TestDatabase;
    let from: KyselyStore;
    let to: KyselyStore;

    before(async () => {
      source = await sqlite.database();
      target = await engine.database();
      from = source.store;
      to = target.store;
      const now = 1_700_000_000_000;
      // The store copies the sealed key as it is: a contract test needs no real seal.
      await from.certificateAuthority.saveIfAbsent(
        { certificate: 'CERT', privateKey: 'psb1.0123456789abcdef.S0VZ' as SealedSecret },
        now,
      );
      const base = await from.policies.ensureBase(now);
      const a = await from.policies.create({ parentId: base.id, name: 'A', description: '', now });
      const b = await from.policies.create({ parentId: base.id, name: 'B', description: '', now });
      // A child whose parent was created after it: the copy must not trip on the order.
      await from.policies.update(a.id, { parentId: b.id }, now);
      await from.policies.setSetting(a.id, 'firewallSettingState', 'Off');
      for (let i = 0; i < 30; i++) {
        const token = await from.activationTokens.create({
          tokenHash: `t${i}`,
          policyId: i % 2 ? a.id : b.id,
          maxUses: 1,
          expiresAt: null,
          now,
        });
        const c = await from.computers.activate(token, {
          hostName: `host-${i}`,
          platform: 'linux',
          agentVersion: '0.1.0',
          policyId: i % 2 ? a.id : b.id,
          certSerial: `serial-${i}`,
          expectedFingerprint: 'sha256:x',
          now,
          offlineDeadline: now + 1_800_000,
        });
        assert.notEqual(c, 'token-used-up');
        const id = (c as { id: number }).id;
        await from.computers.setSetting(id, 'firewallSettingState', 'On');
        await from.events.insertReported(
          id,
          // Events from before epochs ('') and within one (migration 0011).
          Array.from({ length: 7 }, (_, s) => ({
            ...(i % 2 ? { epoch: `e${i}` } : {}),
            seq: s + 1,
            time: now,
            type: 't',
            severity: 'info',
            message: 'm',
          })),
          now,
        );
        if (i % 3 === 0) await from.alerts.raise([{ type: 'computer-offline', computerId: id, message: 'gone' }], now);
      }
      await from.apiKeys.create({ name: 'k', keyPrefix: 'apikey-x', secretHash: 'h', role: 'full-access', now });
      await from.consoleUsers.createUser({ name: 'ops', passwordHash: 'scrypt$x', role: 'full-access', now });
      await from.systemSettings.set('agentTlsPolicy', 'modern');
      await from.db
        .insertInto('firewall_lists')
        .values({
          kind: 'ip',
          name: 'web servers',
          description: '',
          items: '["198.18.0.1"]',
          created_at: now,
          updated_at: now,
        })
        .execute();
      await from.db
        .insertInto('firewall_rules')
        .values({ name: 'web', rule: '{}', created_at: now, updated_at: now })
        .execute();
    });
    after(async () => {
      await source.close();
      await target.close();
      await sqlite.close();
    });

    test('every table arrives row for row; the report counts match', async () => {
      const report = await copyStore(from, to);
      for (const t of COPIED_TABLES) {
        const order = t.key ?? 'rowid';
        const read = (s: KyselyStore) =>
          // biome-ignore lint/suspicious/noExplicitAny: every table by name
          (s.db as any)
            .selectFrom(t.name)
            .selectAll()
            .$if(t.key !== null, (q: { orderBy: (c: string) => unknown }) => q.orderBy(order))
            .execute() as Promise<Record<string, unknown>[]>;
        const [x, y] = await Promise.all([read(from), read(to)]);
        const sort = (rows: Record<string, unknown>[]) =>
          rows.map((r) => JSON.stringify(Object.entries(r).sort(([p], [q]) => (p < q ? -1 : 1)))).sort();
        assert.deepEqual(sort(y), sort(x), t.name);
        assert.equal(report.tables.find((r) => r.name === t.name)?.rows, x.length, t.name);
      }
      assert.equal(report.tables.find((r) => r.name === 'events')?.rows, 210);
    });

    test('ids go on after the copied ones; the records read the same through the repositories', async () => {
      assert.equal(await to.policies.treeVersion(), await from.policies.treeVersion());
      const before = await from.policies.list();
      assert.deepEqual(await to.policies.list(), before);
      const p = await to.policies.create({ parentId: before[0]!.id, name: 'after copy', description: '', now: 1 });
      assert.ok(p.id > Math.max(...before.map((q) => q.id)));
      const c = await to.computers.findByCertSerial('serial-7');
      assert.deepEqual(c, await from.computers.findByCertSerial('serial-7'));
    });

    test('a target that holds anything is refused, and left as it was', async () => {
      const n = (await to.policies.list()).length;
      await assert.rejects(copyStore(from, to), /the target is not empty: system_settings has/);
      assert.equal((await to.policies.list()).length, n);
    });
  });
