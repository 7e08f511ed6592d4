import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir, uptime } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { buildSecurityConfiguration, configurationFingerprint, defaultSettings } from '@palisade/core';
import { appliedFingerprint, buildReport } from './report-builder.js';
import { StateDir } from './state-dir.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-report-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function activated(name: string): StateDir {
  const state = new StateDir(join(dir, name));
  state.saveActivation(
    {
      manager: { host: 'manager.test', port: 4120 },
      computerId: 7,
      hostName: 'web-7',
      policyId: 1,
      policyName: 'Base Policy',
      caFingerprint: `sha256:${'a'.repeat(64)}`,
      activatedAt: 0,
    },
    { key: 'unused', cert: 'unused', ca: 'unused' },
  );
  return state;
}

test('the reported fingerprint is computed from the applied configuration, never read from disk', async () => {
  const state = activated('fingerprint');
  assert.equal((await buildReport(state)).configurationFingerprint, null, 'nothing applied yet');
  const configuration = buildSecurityConfiguration({ settings: defaultSettings(), heartbeatIntervalSeconds: 600 });
  const real = await configurationFingerprint(configuration);
  const forged = `sha256:${'0'.repeat(64)}`;
  state.saveAppliedConfiguration({ fingerprint: forged, configuration, appliedAt: 1 });
  assert.equal((await buildReport(state)).configurationFingerprint, real);
  assert.equal(await appliedFingerprint(state), real);
  // The configuration edited under its (true) fingerprint: reported as the other one it now is.
  const edited = { ...configuration, firewall: { ...configuration.firewall, state: 'Off' as const } };
  state.saveAppliedConfiguration({ fingerprint: real, configuration: edited, appliedAt: 2 });
  assert.equal((await buildReport(state)).configurationFingerprint, await configurationFingerprint(edited));
  assert.notEqual(await appliedFingerprint(state), real);
});

test("the agent's uptime and the host's are reported apart", async () => {
  const state = activated('uptime');
  const r = await buildReport(state, { startedAt: Date.now() - 90_000 });
  assert.ok(r.agent.agentUptimeSeconds === 90 || r.agent.agentUptimeSeconds === 89, String(r.agent.agentUptimeSeconds));
  assert.ok(Math.abs(r.agent.uptimeSeconds - uptime()) <= 2, 'uptimeSeconds is the host');
  // No daemon holds the state directory: the agent is this process.
  const own = (await buildReport(state)).agent.agentUptimeSeconds!;
  assert.ok(own >= 0 && own <= process.uptime() + 1, `${own} vs ${process.uptime()}`);
  // A daemon holding it: its start counts.
  const release = state.claimDaemon();
  try {
    const started = state.daemonStartedAt();
    assert.ok(started !== null && Math.abs(started - Date.now()) < 5_000);
  } finally {
    release();
  }
  assert.equal(state.daemonStartedAt(), null, 'released: no daemon');
});

test('the policy a reply names is kept; a reply naming none changes nothing', () => {
  const state = activated('policy');
  assert.equal(state.currentPolicy(), null);
  state.saveCurrentPolicy({ policyId: 4, policyName: 'Web servers' });
  state.saveCurrentPolicy({});
  assert.deepEqual(state.currentPolicy(), { policyId: 4, policyName: 'Web servers' });
});

test('the report carries the continuity token of the last reply and the one held before it', async () => {
  const state = activated('continuity');
  const [t1, t2, t3] = ['1', '2', '3'].map((c) => c.repeat(43));
  assert.equal((await buildReport(state)).continuity, undefined, 'none before the first');
  state.saveContinuity(t1!);
  let r = await buildReport(state);
  assert.deepEqual([r.continuity, r.continuityPrevious], [t1, undefined], 'the first one: nothing held before it');
  state.saveContinuity(t2!);
  state.saveContinuity(t3!);
  r = await buildReport(state);
  assert.deepEqual([r.continuity, r.continuityPrevious], [t3, t2], 'only the last two are kept');
  state.saveContinuity(t3!);
  r = await buildReport(state);
  assert.deepEqual([r.continuity, r.continuityPrevious], [t3, t2], 'the same token again keeps the one before');
});
