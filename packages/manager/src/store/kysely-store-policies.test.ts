import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

describe('store: transactions, policies, overrides and audit rows (SQLite)', () => {
  let dir: string;
  let store: Store;
  let base: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-store-'));
    store = openSqliteStore(join(dir, 'p.db'));
    await store.migrate();
    base = (await store.ensureBasePolicy(1)).id;
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a transaction commits everything when its function resolves', async () => {
    const id = await store.transaction(async (tx) => {
      await tx.lockPolicyTree();
      const p = await tx.createPolicy({ parentId: base, name: 'Committed', description: 'd', now: 2 });
      await tx.setPolicySetting(p.id, 'firewallSettingState', 'Off');
      await tx.insertAuditEvents([
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
    assert.equal((await store.getPolicy(id))?.name, 'Committed');
    assert.deepEqual((await store.policyOverrides()).get(id), { firewallSettingState: 'Off' });
    assert.equal((await store.listAuditEvents({ limit: 10 }))[0]?.targetId, id);
  });

  test('nothing is kept when it throws, including writes made by nested store calls', async () => {
    const before = {
      policies: await store.listPolicies(),
      overrides: [...(await store.policyOverrides())],
      audit: await store.listAuditEvents({ limit: 100 }),
    };
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.lockPolicyTree();
        const p = await tx.createPolicy({ parentId: base, name: 'Doomed', description: '', now: 3 });
        await tx.setPolicySetting(base, 'firewallSettingState', 'Off');
        await tx.insertAuditEvents([
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
        // A method that opens its own transaction joins this one instead.
        await tx.transaction(async (inner) => inner.deletePolicy(p.id));
        throw new Error('bad input found late');
      }),
      /bad input found late/,
    );
    assert.deepEqual(
      {
        policies: await store.listPolicies(),
        overrides: [...(await store.policyOverrides())],
        audit: await store.listAuditEvents({ limit: 100 }),
      },
      before,
    );
  });

  test('lockPolicyTree outside a transaction is a programming error, not a silent no-op', async () => {
    await assert.rejects(store.lockPolicyTree(), /outside a transaction/);
  });

  test('update, override upsert and removal, delete with its tokens', async () => {
    const p = await store.createPolicy({ parentId: base, name: 'P', description: '', now: 4 });
    const q = await store.createPolicy({ parentId: p.id, name: 'Q', description: '', now: 4 });
    assert.deepEqual(await store.updatePolicy(q.id, { name: 'Q2', parentId: base }, 5), {
      ...q,
      name: 'Q2',
      parentId: base,
      updatedAt: 5,
    });
    assert.equal(await store.updatePolicy(9999, { name: 'x' }, 5), null);
    await store.setPolicySetting(q.id, 'firewallSettingState', 'Off');
    await store.setPolicySetting(q.id, 'firewallSettingState', 'On');
    assert.deepEqual((await store.policyOverrides()).get(q.id), { firewallSettingState: 'On' });
    await store.setPolicySetting(q.id, 'firewallSettingState', null);
    assert.equal((await store.policyOverrides()).get(q.id), undefined);
    await store.createActivationToken({ tokenHash: 'h1', policyId: q.id, maxUses: 1, expiresAt: null, now: 5 });
    await store.setPolicySetting(q.id, 'firewallSettingState', 'Off');
    assert.deepEqual(await store.deletePolicy(q.id), { deleted: true, activationTokensDeleted: 1 });
    assert.equal(await store.getPolicy(q.id), null);
    assert.deepEqual(await store.deletePolicy(q.id), { deleted: false, activationTokensDeleted: 0 });
  });

  test('computers by policy, their overrides, policy change and expected fingerprints (active ones only)', async () => {
    const p = await store.createPolicy({ parentId: base, name: 'Fleet', description: '', now: 6 });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await store.createActivationToken({
        tokenHash: `fleet${i}`,
        policyId: p.id,
        maxUses: 1,
        expiresAt: null,
        now: 6,
      });
      const c = await store.activateComputer(t, {
        hostName: `h${i}`,
        platform: 'linux',
        agentVersion: '1',
        policyId: p.id,
        certSerial: `s${i}`,
        expectedFingerprint: 'sha256:old',
        now: 6,
      });
      assert.notEqual(c, 'token-used-up');
      ids.push((c as { id: number }).id);
    }
    await store.setComputerSetting(ids[0]!, 'firewallSettingState', 'Off');
    await store.setComputerSetting(ids[2]!, 'firewallSettingState', 'On');
    await store.setComputerSetting(ids[2]!, 'firewallSettingState', null);
    assert.deepEqual([...(await store.computerOverridesByComputer(ids))], [[ids[0], { firewallSettingState: 'Off' }]]);
    assert.deepEqual(
      (await store.listComputersByPolicy([p.id])).map((c) => c.id),
      ids,
    );
    await store.deactivateComputer(ids[1]!, 7);
    await store.setExpectedFingerprint(ids, 'sha256:new');
    assert.deepEqual(
      (await store.listComputersByPolicy([p.id])).map((c) => c.expectedFingerprint),
      ['sha256:new', 'sha256:old', 'sha256:new'],
    );
    assert.equal(await store.setComputerPolicy(ids[0]!, base), true);
    assert.equal(await store.setComputerPolicy(9999, base), false);
    assert.deepEqual(
      (await store.listComputersByPolicy([p.id])).map((c) => c.id),
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
    await store.insertAuditEvents(rows);
    const page = await store.listAuditEvents({ limit: 2 });
    assert.deepEqual(
      page.map((e) => e.newValue),
      ['5', '4'],
    );
    const next = await store.listAuditEvents({ limit: 2, beforeId: page[1]!.id });
    assert.deepEqual(
      next.map((e) => e.newValue),
      ['3', '2'],
    );
    const { id: _id, ...first } = (await store.listAuditEvents({ limit: 5 }))[4]!;
    assert.deepEqual(first, rows[0]);
  });
});
