import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import type { ApiViews } from './api-views.js';

const FIREWALL = 'firewallSettingState';
const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const INACTIVE_VM = 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled';

describe('computers: expected fingerprints follow every change that alters what the agent runs', () => {
  let f: ApiFixture;
  let parent: number;
  let child: number;
  let other: number;
  let onChild: number;
  let onChildMac: number;
  let onOther: number;

  const computer = async (id: number) => (await f.request('GET', `/api/computers/${id}`)).json<ApiViews['Computer']>();
  const status = async (id: number) => (await computer(id)).computerStatus.agentStatusMessages[0];
  const expected = async (id: number) => (await computer(id)).configurationFingerprint.expected;
  /** Every computer heartbeats having applied what the manager expects. */
  const allApplied = async () => {
    for (const id of [onChild, onChildMac, onOther]) await f.heartbeat(id);
    for (const id of [onChild, onChildMac, onOther]) assert.equal(await status(id), 'Managed (Online)');
  };

  before(async () => {
    f = await startApiFixture();
    parent = (await f.request('POST', '/api/policies', { name: 'Parent' })).json<ApiViews['Policy']>().ID;
    child = (await f.request('POST', '/api/policies', { name: 'Child', parentID: parent })).json<ApiViews['Policy']>()
      .ID;
    other = (await f.request('POST', '/api/policies', { name: 'Other' })).json<ApiViews['Policy']>().ID;
    onChild = (await f.addComputer({ hostName: 'c1', policyId: child })).id;
    onChildMac = (await f.addComputer({ hostName: 'mac1', platform: 'darwin', policyId: child })).id;
    onOther = (await f.addComputer({ hostName: 'o1', policyId: other })).id;
    await allApplied();
  });
  after(() => f.close());

  test('a policy override the agent uses: Update Pending (Heartbeat) below that policy only, until applied', async () => {
    const before = await expected(onChild);
    assert.equal(
      (await f.request('POST', `/api/policies/${parent}/settings/${FIREWALL}`, { value: 'Off' })).status,
      200,
    );
    assert.notEqual(await expected(onChild), before);
    assert.equal(await status(onChild), 'Update Pending (Heartbeat)');
    assert.equal(await status(onChildMac), 'Update Pending (Heartbeat)');
    assert.equal(await status(onOther), 'Managed (Online)', 'a computer outside the subtree is untouched');
    // The stored fingerprint is the one a heartbeat computes.
    const c = (await f.store.computers.get(onChild))!;
    assert.equal(c.expectedFingerprint, (await f.configurations.forComputer(c, f.store)).fingerprint);
    await allApplied();
  });

  test('a setting the agent does not use changes no fingerprint', async () => {
    const before = await expected(onChild);
    assert.equal(
      (await f.request('POST', `/api/policies/${parent}/settings/${INACTIVE_VM}`, { value: 'true' })).status,
      200,
    );
    assert.equal(await expected(onChild), before);
    assert.equal(await status(onChild), 'Managed (Online)');
  });

  test('a direction on the policy: Linux computer pending, the Mac (always agent-initiated) not', async () => {
    assert.equal(
      (await f.request('POST', `/api/policies/${child}/settings/${DIRECTION}`, { value: 'Bidirectional' })).status,
      200,
    );
    assert.equal(await status(onChild), 'Update Pending (Heartbeat)');
    assert.equal(await status(onChildMac), 'Managed (Online)');
    await allApplied();
  });

  test('moving a policy, changing a computer policy and a computer override each mark what changed', async () => {
    // Child under Other: loses Parent's firewall Off.
    assert.equal((await f.request('POST', `/api/policies/${child}`, { parentID: other })).status, 200);
    assert.equal(await status(onChild), 'Update Pending (Heartbeat)');
    assert.equal(await status(onOther), 'Managed (Online)');
    await allApplied();

    assert.equal((await f.request('POST', `/api/computers/${onOther}`, { policyID: parent })).status, 200);
    assert.equal(await status(onOther), 'Update Pending (Heartbeat)');
    assert.equal(await status(onChild), 'Managed (Online)');
    await allApplied();

    const r = await f.request('POST', `/api/computers/${onOther}/settings/${FIREWALL}`, { value: 'On' });
    assert.equal(r.status, 200);
    assert.equal(await status(onOther), 'Update Pending (Heartbeat)');
    // Back to what it runs: the fingerprint returns to the applied one, so it is current again.
    assert.equal((await f.request('DELETE', `/api/computers/${onOther}/settings/${FIREWALL}`)).status, 200);
    assert.equal(await status(onOther), 'Managed (Online)');
  });

  test('a Base Policy change reaches every computer', async () => {
    assert.equal((await f.request('POST', `/api/policies/1/settings/${FIREWALL}`, { value: 'Off' })).status, 200);
    // onOther is on Parent, which overrides firewall itself: unchanged.
    assert.equal(await status(onChild), 'Update Pending (Heartbeat)');
    assert.equal(await status(onChildMac), 'Update Pending (Heartbeat)');
    assert.equal(await status(onOther), 'Managed (Online)');
  });

  test('DELETE deactivates (shown Deactivated, audited); a second DELETE deletes the deactivated computer', async () => {
    const r = await f.request('DELETE', `/api/computers/${onChild}`);
    assert.equal(r.status, 204);
    const c = await computer(onChild);
    assert.deepEqual(c.computerStatus, { agentStatus: 'inactive', agentStatusMessages: ['Deactivated'] });
    // A deactivated computer keeps its expected fingerprint; policy changes no longer touch it.
    const before = await expected(onChild);
    assert.equal((await f.request('POST', `/api/policies/1/settings/${FIREWALL}`, { value: 'On' })).status, 200);
    assert.equal(await expected(onChild), before);

    assert.equal((await f.request('DELETE', `/api/computers/${onChild}`)).status, 204);
    assert.equal((await f.request('GET', `/api/computers/${onChild}`)).status, 404);
    assert.equal((await f.request('DELETE', `/api/computers/${onChild}`)).status, 404);
    const audit = (await f.request('GET', '/api/auditevents'))
      .json<ApiViews['AuditList']>()
      .auditEvents.filter((e) => e.targetType === 'computer' && e.targetID === onChild);
    assert.deepEqual(
      audit.map((e) => e.action),
      ['computer.delete', 'computer.deactivate'],
    );
  });
});
