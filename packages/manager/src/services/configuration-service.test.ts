import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSqliteStore } from '../store/sqlite/sqlite-store.js';
import type { Store } from '../store/store.js';
import { ConfigurationService } from './configuration-service.js';

const STATE = 'firewallSettingState';

// The policy-tree cache on both engines is in configuration-service.contract.ts.
describe('configurations cached by tree version and own inputs', () => {
  let dir: string;
  let a: Store;
  let b: Store;
  let base: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-configuration-cache-'));
    a = openSqliteStore(join(dir, 'palisade.db'));
    await a.migrate();
    base = (await a.policies.ensureBase(1)).id;
    b = openSqliteStore(join(dir, 'palisade.db'));
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the same inputs at the same version: computed once; a change on another node: computed anew', async () => {
    const node = new ConfigurationService(600);
    const first = await node.forNewComputer(base, 'linux', a);
    assert.equal(await node.forNewComputer(base, 'linux', a), first, 'the cached object');
    assert.notEqual(await node.forNewComputer(base, 'windows', a), first, 'another platform: its own entry');
    await b.policies.setSetting(base, STATE, first.settings[STATE] === 'Off' ? 'On' : 'Off');
    const changed = await node.forNewComputer(base, 'linux', a);
    assert.notEqual(changed.fingerprint, first.fingerprint, 'the new version is seen, not the cached configuration');
    assert.equal(changed.settings[STATE], first.settings[STATE] === 'Off' ? 'On' : 'Off');
  });

  test('inside a transaction that changed the tree nothing is cached', async () => {
    const node = new ConfigurationService(600);
    const committed = await node.forNewComputer(base, 'linux', a);
    await assert.rejects(
      a.transaction(async (tx) => {
        await tx.policies.lockTree();
        await tx.policies.setSetting(base, STATE, committed.settings[STATE] === 'Off' ? 'On' : 'Off');
        const inside = await node.forNewComputer(base, 'linux', tx);
        assert.notEqual(inside.fingerprint, committed.fingerprint);
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.equal(await node.forNewComputer(base, 'linux', a), committed);
  });
});
