import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validateFirewallRule } from '@palisade/core';
import type { Store } from '../store/store.js';
import type { StoreEngine, TestDatabase } from '../testing/store-engines.js';
import { ConfigurationService } from './configuration-service.js';

const STATE = 'firewallSettingState';

export const configurationServiceContract = (engine: StoreEngine) =>
  describe(`the policy-tree cache over ${engine.name}: read once per version, every change bumps it`, () => {
    let db: TestDatabase;
    /** Two manager nodes: two connections to one database, each with its own cache. */
    let a: Store;
    let b: Store;
    let base: number;

    before(async () => {
      db = await engine.database();
      a = db.store;
      base = (await a.policies.ensureBase(1)).id;
      b = db.connect();
    });
    after(() => db.close());

    test('unchanged: the same snapshot, read with one statement', async () => {
      const node = new ConfigurationService(600);
      const first = await node.policies(a);
      const before = a.counters().autocommitReads;
      assert.equal(await node.policies(a), first);
      assert.equal(a.counters().autocommitReads - before, 1, 'the version row only');
    });

    test('a change on another node is seen at the next read here', async () => {
      const nodeA = new ConfigurationService(600);
      const old = await nodeA.policies(a);
      const p = await b.policies.create({ parentId: base, name: 'From B', description: '', now: 2 });
      const seen = await nodeA.policies(a);
      assert.notEqual(seen, old);
      assert.ok(seen.tree.has(p.id));
      assert.ok(seen.version! > old.version!);
      await b.policies.setSetting(p.id, STATE, 'Off');
      assert.equal((await nodeA.policies(a)).tree.get(p.id)?.overrides[STATE], 'Off');
      await b.firewall.createRule(
        'Cache rule',
        (id) => {
          const v = validateFirewallRule({
            id: String(id),
            name: 'Cache rule',
            action: 'allow',
            priority: 0,
            direction: 'incoming',
          });
          if (!v.ok) throw new Error(v.problems.join('; '));
          return v.rule;
        },
        3,
      );
      const withRule = await nodeA.policies(a);
      const rule = (await a.firewall.findRuleIdByName('Cache rule'))!;
      await b.firewall.setPolicyRules(p.id, [rule]);
      const assigned = await nodeA.policies(a);
      assert.notEqual(assigned, withRule);
      assert.deepEqual(assigned.firewall.lists.get(p.id), [rule]);
    });

    test('a transaction sees its own change and caches nothing; after a rollback the cache holds what is committed', async () => {
      const node = new ConfigurationService(600);
      const committed = await node.policies(a);
      await assert.rejects(
        a.transaction(async (tx) => {
          await tx.policies.lockTree();
          await tx.policies.setSetting(base, STATE, 'Off');
          const inside = await node.policies(tx);
          assert.equal(inside.version, null);
          assert.equal(inside.tree.get(base)?.overrides[STATE], 'Off');
          throw new Error('rolled back');
        }),
        /rolled back/,
      );
      const after = await node.policies(a);
      assert.equal(after, committed, 'the cached snapshot still stands');
      assert.equal(after.tree.get(base)?.overrides[STATE], undefined);
      // The next change commits the version the rolled-back one had reached: the cache must reload.
      await a.policies.setSetting(base, STATE, 'On');
      assert.equal((await node.policies(a)).tree.get(base)?.overrides[STATE], 'On');
    });
  });
