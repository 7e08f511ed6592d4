import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { currentVersionDir, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { packageArchOf } from '@palisade/protocol';
import { errorOf, startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';
import { buildSeaVersions, type SeaHost, startSeaHost, upgradeOutcome } from './sea-builds.js';

const V1 = '0.9.0-upgrade.1';
const V2 = '0.9.0-upgrade.2';
/** A version built to fail: its executable exits at start. */
const BROKEN = '0.9.0-upgrade.3';
const CONFIRM_SECONDS = 15;

/**
 * Upgrades from the manager (issue 14, docs/deployment.md "Upgrades") on a real install folder
 * (`versions/<v>/`, `current`) in a temp dir, with the agent as the single executables
 * `npm run package:agent` builds, run in the background with a pid file as on a host without
 * systemd: an upgrade to a newer build switches and the new version heartbeats; a version built to
 * fail is rolled back after the bound, and the old one heartbeats again; a package changed after
 * the request is refused on its checksum. The manager records each outcome.
 */
describe('agent upgrade from the manager', () => {
  let m: TestManager;
  let host: SeaHost | undefined;
  let root: string;
  let state: StateDir;
  let computerId: number;
  const request = (version: string) => m.api('POST', `/api/computers/${computerId}/actions/upgradeagent`, { version });
  const outcomeOf = (id: number) => upgradeOutcome(m, computerId, id);
  const agentVersion = async () => (await m.manager.store.computers.get(computerId))?.agentVersion;
  /** A package as the manager holds them, from a folder `palisade-agent-<version>/` with `files`. */
  const handMadePackage = (version: string, files: Record<string, string>) => {
    const stage = m.tempDir('palisade-pkg-');
    const top = join(stage, `palisade-agent-${version}`);
    mkdirSync(top);
    for (const [name, body] of Object.entries(files)) {
      writeFileSync(join(top, name), body);
      chmodSync(join(top, name), 0o755);
    }
    const file = join(
      m.dataDir,
      'agent-packages',
      `palisade-agent-${version}-linux-${packageArchOf(process.arch)}.tar.gz`,
    );
    execFileSync('tar', ['-czf', file, '-C', stage, `palisade-agent-${version}`]);
    return file;
  };

  before(async () => {
    process.env.PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS = String(CONFIRM_SECONDS);
    const [p1, p2] = await buildSeaVersions(V1, V2);
    m = await startTestManager({ heartbeatIntervalSeconds: 1 });
    host = await startSeaHost(m, { installed: p1, served: p2 });
    ({ root, state, computerId } = host);
    await waitFor(
      'the installed agent to heartbeat',
      async () => (await agentVersion()) === V1 && state.counters().heartbeatsSent > 0,
    );
  });
  after(async () => {
    await host?.stop();
    await m.close();
    delete process.env.PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS;
  });

  test('upgradeagent: the new version is installed beside the old, switched to, and heartbeats', async () => {
    const r = await request(V2);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const body = r.json<V['ComputerUpgradeResult']>();
    assert.equal(body.status, 'queued');
    const u = await outcomeOf(body.agentUpgrade!.ID);
    assert.equal(u.status, 'succeeded', u.reason ?? '');
    assert.deepEqual([u.fromVersion, u.toVersion], [V1, V2]);
    assert.equal(currentVersionDir(root), V2);
    assert.ok(existsSync(join(root, 'versions', V1, 'palisade-agent')), 'the old version stays beside it');
    assert.equal(await agentVersion(), V2);
    const pid = Number(readFileSync(state.path('palisade-agent.pid'), 'utf8'));
    assert.match(
      readFileSync(`/proc/${pid}/cmdline`, 'utf8'),
      new RegExp(`versions/${V2.replaceAll('.', '\\.')}/palisade-agent|current/palisade-agent`),
    );
    const again = (await request(V2)).json<V['ComputerUpgradeResult']>();
    assert.deepEqual([again.status, again.agentUpgrade], ['current', null]);
    const audit = (await m.api('GET', '/api/auditevents')).json<V['AuditList']>().auditEvents;
    assert.ok(
      audit.some((e) => e.action === 'computer.upgradeagent' && e.targetID === computerId && e.newValue === V2),
    );
  });

  test('a version built to fail (exits at start) is rolled back after the bound; the old one heartbeats again', async () => {
    handMadePackage(BROKEN, { 'palisade-agent': '#!/bin/sh\necho "built to fail" >&2\nexit 1\n' });
    const r = await request(BROKEN);
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const u = await outcomeOf(r.json<V['ComputerUpgradeResult']>().agentUpgrade!.ID);
    assert.equal(u.status, 'rolled-back');
    assert.match(
      u.reason ?? '',
      new RegExp(`did not heartbeat within ${CONFIRM_SECONDS} s; version ${V2.replaceAll('.', '\\.')} runs again`),
    );
    assert.equal(currentVersionDir(root), V2);
    assert.equal(existsSync(join(root, 'versions', BROKEN)), false, 'the failed version is removed');
    const sent = state.counters().heartbeatsSent;
    await waitFor('the old version to heartbeat again', () => state.counters().heartbeatsSent > sent);
    assert.equal(await agentVersion(), V2);
    // The operator hears of it: an Agent Upgrade Failed alert, through the API as through notifiers.
    const alerts = (
      await m.api('GET', `/api/alerts?active=true&type=agent-upgrade-failed&computer=${computerId}`)
    ).json<V['AlertList']>().alerts;
    assert.equal(alerts.length, 1, JSON.stringify(alerts));
    assert.deepEqual(
      [alerts[0]?.name, alerts[0]?.severity, alerts[0]?.data?.upgradeId],
      ['Agent Upgrade Failed', 'warning', u.ID],
    );
    assert.equal(
      alerts[0]!.message,
      `the agent upgrade of ${alerts[0]!.hostName} to ${BROKEN} was rolled back: ${u.reason}`,
    );
  });

  test('a package that changed after the request fails its checksum and is not installed', async () => {
    const version = '0.9.0-upgrade.4';
    const file = handMadePackage(version, { 'palisade-agent': '#!/bin/sh\nexit 0\n' });
    const r = await request(version);
    assert.equal(r.status, 202);
    // Swapped under the manager before the agent downloads it (the next heartbeat, within a second).
    writeFileSync(file, 'not the package that was asked for');
    const u = await outcomeOf(r.json<V['ComputerUpgradeResult']>().agentUpgrade!.ID);
    assert.equal(u.status, 'failed');
    assert.match(u.reason ?? '', /has SHA-256 [0-9a-f]{64}, the manager announced [0-9a-f]{64}: not installed/);
    assert.equal(currentVersionDir(root), V2);
    assert.equal(existsSync(join(root, 'versions', version)), false);
  });

  test('bad requests: an unknown version, a deactivated or unknown computer, an unknown policy', async () => {
    const none = await request('9.9.9');
    assert.equal(none.status, 404);
    assert.equal(errorOf(none).code, 'AGENT_PACKAGE_NOT_FOUND');
    const bad = await m.api('POST', `/api/computers/${computerId}/actions/upgradeagent`, { version: 'latest' });
    assert.equal(bad.status, 400);
    assert.equal((await m.api('POST', '/api/computers/99999/actions/upgradeagent', {})).status, 404);
    assert.equal((await m.api('POST', '/api/policies/99999/actions/upgradeagent', {})).status, 404);
    const policy = (await m.manager.store.computers.get(computerId))!.policyId;
    const all = await m.api('POST', `/api/policies/${policy}/actions/upgradeagent`, { version: V2 });
    assert.equal(all.status, 202);
    assert.deepEqual(
      all.json<V['PolicyUpgradeResult']>().computers.map((c) => [c.computerID, c.status]),
      [[computerId, 'current']],
    );
  });
});
