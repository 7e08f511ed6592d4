import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import type { ApiViews } from './api-views.js';

describe('computer status Updating: an applyConfiguration handed to the agent, no result yet', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture();
  });
  after(() => f.close());

  const status = async (id: number) =>
    (await f.request('GET', `/api/computers/${id}`)).json<ApiViews['Computer']>().computerStatus.agentStatusMessages[0];
  const listed = async (id: number) =>
    (await f.request('GET', '/api/computers')).json<ApiViews['ComputerList']>().computers.find((c) => c.ID === id)
      ?.computerStatus.agentStatusMessages[0];

  test('pending: Update Pending; sent: Updating (describe and list); result: Managed (Online)', async () => {
    const c = await f.addComputer({ hostName: 'upd-1' });
    const other = await f.addComputer({ hostName: 'upd-2' });
    await f.heartbeat(other.id);
    // The agent reports running nothing yet: the manager's configuration is pending.
    await f.heartbeat(c.id, null);
    const fp = (await f.store.computers.get(c.id))!.expectedFingerprint!;
    assert.equal(await status(c.id), 'Update Pending (Heartbeat)');

    const op = await f.store.operations.ensureConfiguration(c.id, fp, { any: 'configuration' }, Date.now());
    assert.equal(await status(c.id), 'Update Pending (Heartbeat)', 'created, not handed out: still pending');

    await f.store.operations.markSent([op.id], Date.now());
    assert.equal(await status(c.id), 'Updating');
    assert.equal(await listed(c.id), 'Updating');
    assert.equal(await listed(other.id), 'Managed (Online)', 'only the computer with the operation');

    assert.equal(
      await f.store.operations.complete({
        computerId: c.id,
        id: op.id,
        status: 'succeeded',
        reason: null,
        fingerprint: fp,
        now: Date.now(),
      }),
      true,
    );
    assert.equal(await status(c.id), 'Managed (Online)');
    assert.equal(await listed(c.id), 'Managed (Online)');
  });

  test('a sent operation whose configuration the agent reports running anyway (result lost) is not Updating', async () => {
    const c = await f.addComputer({ hostName: 'upd-3' });
    await f.heartbeat(c.id, null);
    const fp = (await f.store.computers.get(c.id))!.expectedFingerprint!;
    const op = await f.store.operations.ensureConfiguration(c.id, fp, {}, Date.now());
    await f.store.operations.markSent([op.id], Date.now());
    assert.equal(await status(c.id), 'Updating');
    await f.heartbeat(c.id, fp);
    assert.equal(await status(c.id), 'Managed (Online)');
  });

  test('a failed result leaves the update pending, not Updating', async () => {
    const c = await f.addComputer({ hostName: 'upd-4' });
    await f.heartbeat(c.id, null);
    const fp = (await f.store.computers.get(c.id))!.expectedFingerprint!;
    const op = await f.store.operations.ensureConfiguration(c.id, fp, {}, Date.now());
    await f.store.operations.markSent([op.id], Date.now());
    await f.store.operations.complete({
      computerId: c.id,
      id: op.id,
      status: 'failed',
      reason: 'nft: permission denied',
      fingerprint: null,
      now: Date.now(),
    });
    assert.equal(await status(c.id), 'Update Pending (Heartbeat)');
  });
});
