import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { StoreEngine, TestDatabase } from '../testing/store-engines.js';
import type { Store } from './store.js';

export const kyselyStoreContract = (engine: StoreEngine) =>
  describe(`store: transactions, policies, overrides and audit rows (${engine.name})`, () => {
    let db: TestDatabase;
    let store: Store;
    let base: number;

    before(async () => {
      db = await engine.database();
      store = db.store;
      base = (await store.policies.ensureBase(1)).id;
    });
    after(() => db.close());

    test('a transaction commits everything when its function resolves', async () => {
      const id = await store.transaction(async (tx) => {
        await tx.policies.lockTree();
        const p = await tx.policies.create({ parentId: base, name: 'Committed', description: 'd', now: 2 });
        await tx.policies.setSetting(p.id, 'firewallSettingState', 'Off');
        await tx.audit.insert([
          {
            time: 2,
            actor: 'apikey:1',
            action: 'policy.create',
            targetType: 'policy',
            targetId: p.id,
            setting: null,
            oldValue: null,
            newValue: 'Committed',
          },
        ]);
        return p.id;
      });
      assert.equal((await store.policies.get(id))?.name, 'Committed');
      assert.deepEqual((await store.policies.overrides()).get(id), { firewallSettingState: 'Off' });
      assert.equal((await store.audit.list({ limit: 10 }))[0]?.targetId, id);
    });

    test('nothing is kept when it throws, including writes made by nested store calls', async () => {
      const before = {
        policies: await store.policies.list(),
        overrides: [...(await store.policies.overrides())],
        audit: await store.audit.list({ limit: 100 }),
      };
      await assert.rejects(
        store.transaction(async (tx) => {
          await tx.policies.lockTree();
          const p = await tx.policies.create({ parentId: base, name: 'Doomed', description: '', now: 3 });
          await tx.policies.setSetting(base, 'firewallSettingState', 'Off');
          await tx.audit.insert([
            {
              time: 3,
              actor: 'apikey:1',
              action: 'policy.create',
              targetType: 'policy',
              targetId: p.id,
              setting: null,
              oldValue: null,
              newValue: 'Doomed',
            },
          ]);
          // A method that opens its own transaction outside one joins this one instead.
          await tx.policies.delete(p.id);
          throw new Error('bad input found late');
        }),
        /bad input found late/,
      );
      assert.deepEqual(
        {
          policies: await store.policies.list(),
          overrides: [...(await store.policies.overrides())],
          audit: await store.audit.list({ limit: 100 }),
        },
        before,
      );
    });

    test('lockPolicyTree outside a transaction is a programming error, not a silent no-op', async () => {
      await assert.rejects(store.policies.lockTree(), /outside a transaction/);
    });

    test('update, override upsert and removal, delete with its tokens', async () => {
      const p = await store.policies.create({ parentId: base, name: 'P', description: '', now: 4 });
      const q = await store.policies.create({ parentId: p.id, name: 'Q', description: '', now: 4 });
      assert.deepEqual(await store.policies.update(q.id, { name: 'Q2', parentId: base }, 5), {
        ...q,
        name: 'Q2',
        parentId: base,
        updatedAt: 5,
      });
      assert.equal(await store.policies.update(9999, { name: 'x' }, 5), null);
      await store.policies.setSetting(q.id, 'firewallSettingState', 'Off');
      await store.policies.setSetting(q.id, 'firewallSettingState', 'On');
      assert.deepEqual((await store.policies.overrides()).get(q.id), { firewallSettingState: 'On' });
      await store.policies.setSetting(q.id, 'firewallSettingState', null);
      assert.equal((await store.policies.overrides()).get(q.id), undefined);
      await store.activationTokens.create({ tokenHash: 'h1', policyId: q.id, maxUses: 1, expiresAt: null, now: 5 });
      await store.policies.setSetting(q.id, 'firewallSettingState', 'Off');
      assert.deepEqual(await store.policies.delete(q.id), { deleted: true, activationTokensDeleted: 1 });
      assert.equal(await store.policies.get(q.id), null);
      assert.deepEqual(await store.policies.delete(q.id), { deleted: false, activationTokensDeleted: 0 });
    });

    test('computers by policy, their overrides, policy change and expected fingerprints (active ones only)', async () => {
      const p = await store.policies.create({ parentId: base, name: 'Fleet', description: '', now: 6 });
      const ids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = await store.activationTokens.create({
          tokenHash: `fleet${i}`,
          policyId: p.id,
          maxUses: 1,
          expiresAt: null,
          now: 6,
        });
        const c = await store.computers.activate(t, {
          hostName: `h${i}`,
          platform: 'linux',
          agentVersion: '1',
          policyId: p.id,
          certSerial: `s${i}`,
          expectedFingerprint: 'sha256:old',
          now: 6,
          offlineDeadline: 6 + 1_800_000,
        });
        assert.notEqual(c, 'token-used-up');
        ids.push((c as { id: number }).id);
      }
      await store.computers.setSetting(ids[0]!, 'firewallSettingState', 'Off');
      await store.computers.setSetting(ids[2]!, 'firewallSettingState', 'On');
      await store.computers.setSetting(ids[2]!, 'firewallSettingState', null);
      assert.deepEqual(
        [...(await store.computers.overridesByComputer(ids))],
        [[ids[0], { firewallSettingState: 'Off' }]],
      );
      assert.deepEqual(
        (await store.computers.listByPolicy([p.id])).map((c) => c.id),
        ids,
      );
      await store.computers.deactivate(ids[1]!, 7);
      await store.computers.setExpectedFingerprint(ids, 'sha256:new');
      assert.deepEqual(
        (await store.computers.listByPolicy([p.id])).map((c) => c.expectedFingerprint),
        ['sha256:new', 'sha256:old', 'sha256:new'],
      );
      assert.equal(await store.computers.setPolicy(ids[0]!, base), true);
      assert.equal(await store.computers.setPolicy(9999, base), false);
      assert.deepEqual(
        (await store.computers.listByPolicy([p.id])).map((c) => c.id),
        ids.slice(1),
      );
    });

    test('audit rows: newest first, paged by beforeId, values kept as given', async () => {
      const rows = Array.from({ length: 5 }, (_, i) => ({
        time: 100 + i,
        actor: 'apikey:7',
        action: 'computer.setting' as const,
        targetType: 'computer' as const,
        targetId: 42,
        setting: 'firewallSettingState',
        oldValue: i === 0 ? null : String(i),
        newValue: String(i + 1),
      }));
      await store.audit.insert(rows);
      const page = await store.audit.list({ limit: 2 });
      assert.deepEqual(
        page.map((e) => e.newValue),
        ['5', '4'],
      );
      const next = await store.audit.list({ limit: 2, beforeId: page[1]!.id });
      assert.deepEqual(
        next.map((e) => e.newValue),
        ['3', '2'],
      );
      const { id: _id, ...first } = (await store.audit.list({ limit: 5 }))[4]!;
      assert.deepEqual(first, rows[0]);
    });
  });
