import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ApiViews as V } from '@palisade/manager';
import { packageArchOf } from '@palisade/protocol';
import { type BuiltPackage, buildAgentPackage } from './netns/agent-package-build.js';
import { type LabManager, startLabManager } from './netns/lab-manager.js';
import { NetnsLab, netnsLabUnavailable } from './netns/netns-lab.js';
import { systemdHostUnavailable, TestHost, testHostUnavailable } from './netns/test-host.js';
import { waitFor } from './polling.js';

/**
 * The installed agent under a real systemd (issue 14): a test host booted with systemd as PID 1
 * of its own PID namespace (see TestHost, `systemd: true`), on the lab's segment (198.18.0.0/15
 * only), its boot units masked so nothing on this machine changes. The deployment script
 * installs the hardened unit, enables and starts it; systemd restarts the agent when it dies;
 * an upgrade from the manager restarts it through systemd (the watcher in a transient unit made
 * by systemd-run) and the new version heartbeats; `uninstall` stops and removes the unit. Root
 * only; under CI it must run, never skip.
 */
const unavailable = netnsLabUnavailable() ?? testHostUnavailable() ?? systemdHostUnavailable();
if (unavailable && process.env.CI === 'true')
  throw new Error(`the systemd deployment suite must run under CI, but cannot: ${unavailable}`);

const MANAGER_NAME = 'manager.palisade.test';
const V1 = '0.1.0';
const V2 = '0.1.1';
/** A version built to fail: its executable exits at start. */
const BROKEN = '0.1.2';
const UNIT = 'palisade-agent.service';
const CONFIRM_SECONDS = 10;

describe('the installed agent under systemd (a test host booted with systemd as PID 1)', {
  skip: unavailable ? `skipped: ${unavailable}` : false,
}, () => {
  let lab: NetnsLab;
  let mgr: LabManager;
  let host: TestHost;
  let p2: BuiltPackage;
  let computerId = 0;
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-sd-mgr-'));

  const show = async (property: string) =>
    (await host.sh(`systemctl show --value --property=${property} ${UNIT}`)).trim();
  const mainPid = async () => Number(await show('MainPID'));
  const computer = async () =>
    (await mgr.ok<V['ComputerList']>('GET', '/api/computers')).computers.find((c) => c.ID === computerId)!;

  const upgradeOutcome = (id: number) =>
    waitFor(
      `upgrade ${id} to end`,
      async () =>
        (await mgr.ok<V['AgentUpgradeList']>('GET', `/api/computers/${computerId}/agentupgrades`)).agentUpgrades.find(
          (x) => x.ID === id && !['pending', 'sent'].includes(x.status),
        ),
      150_000,
      500,
    );

  before(async () => {
    const stale = NetnsLab.sweepStale();
    if (stale.length > 0) console.log(`# removed namespaces of an earlier run that died: ${stale.join(', ')}`);
    const [p1, built2] = await Promise.all([buildAgentPackage(V1), buildAgentPackage(V2)]);
    // Kept aside (the package cache is shared with other test runs) until the upgrade test serves it.
    p2 = { ...built2, file: join(dataDir, built2.fileName) };
    copyFileSync(built2.file, p2.file);
    mkdirSync(join(dataDir, 'agent-packages'));
    copyFileSync(p1.file, join(dataDir, 'agent-packages', p1.fileName));
    lab = new NetnsLab();
    lab.up({ [MANAGER_NAME]: 'manager' });
    mgr = await startLabManager(lab, { name: MANAGER_NAME, dataDir, args: ['--heartbeat-interval-seconds', '2'] });
    host = await TestHost.start(lab, 'agent', realpathSync(process.execPath), { systemd: true });
  });

  after(async () => {
    try {
      if (process.env.PALISADE_TEST_LOG && host)
        console.log(`# agent journal:\n${(await host.run(['journalctl', '--no-pager', '-u', UNIT])).stdout}`);
      host?.stop();
      await lab?.down();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      if (process.env.PALISADE_TEST_LOG) console.log(`# manager log:\n${mgr?.log()}`);
    }
  });

  test('the host booted systemd with nothing of the distribution running but the journal', async () => {
    assert.equal((await host.sh('cat /proc/1/comm')).trim(), 'systemd');
    const services = await host.services();
    assert.deepEqual(
      services.filter((s) => !/^systemd-journald\.service$/.test(s)),
      [],
      `only the journal runs: ${services.join(', ')}`,
    );
  });

  test('the script installs, enables and starts the hardened unit; the agent heartbeats from it', async () => {
    const r = await mgr.ok<V['AgentDeploymentScript']>('POST', '/api/agentdeploymentscripts', {
      platform: 'linux',
      activationRequired: true,
      validateCertificateRequired: true,
    });
    // The host has a /tmp of its own: the script is written there, as an operator would paste it.
    await host.run(['sh', '-c', 'umask 077 && cat > /tmp/deploy.sh'], { input: r.scriptBody });
    const run = await host.run(['bash', '/tmp/deploy.sh'], { timeoutMs: 120_000 });
    assert.equal(run.code, 0, `${run.stderr}${run.stdout}`);
    assert.match(run.stdout, /installed the systemd service palisade-agent \(logs: journalctl -u palisade-agent\)/);
    assert.doesNotMatch(run.stdout, /systemd is not PID 1 here/);
    assert.equal(run.stderr, '');

    assert.equal((await host.run(['systemctl', 'is-enabled', UNIT])).stdout.trim(), 'enabled');
    assert.equal((await host.run(['systemctl', 'is-active', UNIT])).stdout.trim(), 'active');
    assert.equal(await show('NoNewPrivileges'), 'yes');
    assert.equal(await show('ProtectSystem'), 'strict');
    const pid = await mainPid();
    assert.ok(pid > 1, 'the service has a main process');
    assert.match(
      await host.sh(`tr '\\0' ' ' < /proc/${pid}/cmdline`),
      /^\/opt\/palisade-agent\/current\/palisade-agent start /,
    );
    const status = JSON.parse(await host.sh('palisade-agent status --json'));
    assert.equal(status.activated, true);
    computerId = status.computerId ?? status.computerID;
    assert.ok(computerId > 0, JSON.stringify(status));
    await waitFor('the computer to be online at version 0.1.0', async () => {
      const c = await computer();
      return c.agentVersion === V1 && c.computerStatus.agentStatusMessages[0] === 'Managed (Online)';
    });
    // Its output goes to the journal (StandardOutput=journal), readable with journalctl -u.
    await waitFor(
      'the agent to log to the journal',
      async () => (await host.run(['journalctl', '--no-pager', '-q', '-u', UNIT])).stdout.trim().length > 0,
    );
  });

  test('systemd restarts the agent when it dies (Restart=on-failure)', async () => {
    const before = await mainPid();
    // Never `kill 0`: the shell shares this test's process group.
    assert.ok(before > 1, 'the service runs');
    await host.sh(`kill -KILL ${before}`);
    const after = await waitFor(
      'systemd to start the agent again',
      async () => {
        const pid = await mainPid();
        return pid > 1 && pid !== before && (await show('ActiveState')) === 'active' ? pid : undefined;
      },
      30_000,
      250,
    );
    assert.notEqual(after, before);
    assert.ok(Number(await show('NRestarts')) >= 1);
  });

  test('an upgrade from the manager restarts the service through systemd on the new version', async () => {
    copyFileSync(p2.file, join(dataDir, 'agent-packages', p2.fileName));
    const before = await mainPid();
    const r = await mgr.api('POST', `/api/computers/${computerId}/actions/upgradeagent`, { version: V2 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const u = await upgradeOutcome(r.json<V['ComputerUpgradeResult']>().agentUpgrade!.ID);
    assert.equal(u.status, 'succeeded', u.reason ?? '');
    assert.equal((await host.sh('readlink /opt/palisade-agent/current')).trim(), `versions/${V2}`);
    assert.equal((await computer()).agentVersion, V2);
    const pid = await mainPid();
    assert.notEqual(pid, before, 'systemd runs a new main process');
    assert.equal((await host.run(['systemctl', 'is-active', UNIT])).stdout.trim(), 'active');
    assert.match(await host.sh('palisade-agent --version'), new RegExp(V2.replaceAll('.', '\\.')));
    // The watcher ran in a transient unit of its own, and it is gone once the upgrade is settled.
    await waitFor(
      'the watcher unit to end',
      async () => !(await host.services()).some((s) => s.startsWith('palisade-agent-upgrade-')),
      60_000,
    );
  });

  test('a version built to fail is rolled back: the watcher restarts the service on the old version', async () => {
    // An operator's drop-in (systemd.unit(5)) shortens the confirmation window for this test.
    await host.sh(
      `mkdir -p /etc/systemd/system/${UNIT}.d && printf '[Service]\\nEnvironment=PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS=${CONFIRM_SECONDS}\\n' > /etc/systemd/system/${UNIT}.d/confirm.conf && systemctl daemon-reload && systemctl restart ${UNIT}`,
    );
    // A package whose executable exits at once, as the manager holds packages.
    const stage = mkdtempSync(join(tmpdir(), 'palisade-sd-broken-'));
    const top = join(stage, `palisade-agent-${BROKEN}`);
    mkdirSync(top);
    writeFileSync(join(top, 'palisade-agent'), '#!/bin/sh\necho "built to fail" >&2\nexit 1\n', { mode: 0o755 });
    execFileSync('tar', [
      '-czf',
      join(dataDir, 'agent-packages', `palisade-agent-${BROKEN}-linux-${packageArchOf(process.arch)}.tar.gz`),
      '-C',
      stage,
      `palisade-agent-${BROKEN}`,
    ]);
    rmSync(stage, { recursive: true, force: true });
    await waitFor('the restarted agent to heartbeat', async () => (await computer()).agentVersion === V2);

    const r = await mgr.api('POST', `/api/computers/${computerId}/actions/upgradeagent`, { version: BROKEN });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const u = await upgradeOutcome(r.json<V['ComputerUpgradeResult']>().agentUpgrade!.ID);
    assert.equal(u.status, 'rolled-back', u.reason ?? '');
    assert.match(u.reason ?? '', new RegExp(`did not heartbeat within ${CONFIRM_SECONDS} s`));
    assert.equal((await host.sh('readlink /opt/palisade-agent/current')).trim(), `versions/${V2}`);
    await waitFor('the service to run the old version again', async () => {
      const pid = await mainPid();
      return pid > 1 && (await show('ActiveState')) === 'active' && (await computer()).agentVersion === V2;
    });
    const journal = (await host.run(['journalctl', '--no-pager', '-q', '-u', UNIT])).stdout;
    assert.match(journal, /built to fail/, 'systemd ran the broken version, and its output is in the journal');
    // The drop-in is the operator's file, not the agent's: taken away here, as an operator would.
    await host.sh(`rm -r /etc/systemd/system/${UNIT}.d && systemctl daemon-reload`);
  });

  test('uninstall stops and disables the unit and removes it with the agent’s files', async () => {
    const r = await host.run(['palisade-agent', 'uninstall', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /The Palisade agent is uninstalled\./);
    assert.notEqual((await host.run(['systemctl', 'is-active', UNIT])).stdout.trim(), 'active');
    assert.notEqual((await host.run(['systemctl', 'cat', UNIT])).code, 0, 'the unit is gone');
    const left = await host.sh(
      'find /opt /var/lib/palisade-agent /usr/local/bin /etc/systemd/system -mindepth 1 2>/dev/null | grep palisade-agent || true',
    );
    assert.equal(left.trim(), '', 'no file of the agent is left');
    assert.deepEqual((await computer()).computerStatus.agentStatusMessages, ['Deactivated']);
  });
});
