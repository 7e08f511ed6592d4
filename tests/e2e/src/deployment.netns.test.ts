import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createCertificateAuthority, type ApiViews as V } from '@palisade/manager';
import { type BuiltPackage, buildAgentPackage } from './netns/agent-package-build.js';
import { type LabManager, startLabManager } from './netns/lab-manager.js';
import { NetnsLab, netnsLabUnavailable } from './netns/netns-lab.js';
import { TestHost, testHostUnavailable } from './netns/test-host.js';
import { waitFor } from './polling.js';

/**
 * The Linux deployment script run for real (issue 14), on test hosts this suite makes: a
 * network namespace on the lab's segment (198.18.0.0/15 only) that reaches the manager by the
 * name in the lab's hosts file, and a mount namespace with an empty tmpfs over every folder an
 * agent installs into and /dev/null over the Node.js binary — so nothing on this machine
 * changes, and the agent that runs there is the single executable alone. Root only; under CI
 * it must run, never skip.
 */
const unavailable = netnsLabUnavailable() ?? testHostUnavailable();
if (unavailable && process.env.CI === 'true')
  throw new Error(`the netns deployment suite must run under CI, but cannot: ${unavailable}`);

const MANAGER_NAME = 'manager.palisade.test';
const VERSION = '0.1.0';

/** Replaces `NAME='…'` in a generated script. */
const withValue = (script: string, name: string, value: string) =>
  script.replace(new RegExp(`^${name}='[^']*'$`, 'm'), `${name}='${value}'`);

describe('the Linux deployment script on a test host (network + mount namespaces)', {
  skip: unavailable ? `skipped: ${unavailable}` : false,
}, () => {
  let lab: NetnsLab;
  let mgr: LabManager;
  let pkg: BuiltPackage;
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-deploy-mgr-'));
  const scripts = mkdtempSync(join(tmpdir(), 'palisade-deploy-scripts-'));
  const hosts: TestHost[] = [];
  let script = '';
  let tokenId = 0;

  const newHost = async () => {
    const h = await TestHost.start(lab, 'agent', realpathSync(process.execPath));
    hosts.push(h);
    return h;
  };

  /** Runs a script body as root on `host`, as an operator would paste it. */
  const runScript = (host: TestHost, body: string) => {
    const file = join(scripts, `deploy-${createHash('sha256').update(body).digest('hex').slice(0, 12)}.sh`);
    writeFileSync(file, body, { mode: 0o600 });
    return host.run(['bash', file], { timeoutMs: 120_000 });
  };

  before(async () => {
    const stale = NetnsLab.sweepStale();
    if (stale.length > 0) console.log(`# removed namespaces of an earlier run that died: ${stale.join(', ')}`);
    pkg = await buildAgentPackage(VERSION);
    mkdirSync(join(dataDir, 'agent-packages'));
    copyFileSync(pkg.file, join(dataDir, 'agent-packages', pkg.fileName));
    lab = new NetnsLab();
    lab.up({ [MANAGER_NAME]: 'manager' });
    mgr = await startLabManager(lab, { name: MANAGER_NAME, dataDir });
    const r = await mgr.ok<V['AgentDeploymentScript']>('POST', '/api/agentdeploymentscripts', {
      platform: 'linux',
      activationRequired: true,
      validateCertificateRequired: true,
    });
    script = r.scriptBody;
    tokenId = r.activationTokenID!;
  });

  after(async () => {
    try {
      for (const h of hosts) h.stop();
      await lab?.down();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(scripts, { recursive: true, force: true });
      if (process.env.PALISADE_TEST_LOG) console.log(`# manager log:\n${mgr?.log()}`);
    }
  });

  test('a script whose CA does not match its fingerprint stops before any download, and installs nothing', async () => {
    const host = await newHost();
    const damaged = withValue(script, 'CA_FINGERPRINT', `sha256:${'0'.repeat(64)}`);
    assert.notEqual(damaged, script);
    const r = await runScript(host, damaged);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, /^palisade-agent deployment: the manager CA in this script does not match its fingerprint/m);
    assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
    assert.deepEqual(await host.installedFiles(), []);
  });

  test('a manager whose certificate is not from the pinned CA is refused (no -k, no system CAs)', async () => {
    const host = await newHost();
    // A script pinning another CA, consistent in itself: the manager at that name cannot prove it.
    const other = (await createCertificateAuthority('Not the Palisade CA')).certificate.trim();
    const fingerprint = `sha256:${createHash('sha256').update(new X509Certificate(other).raw).digest('hex')}`;
    const pinned = mgr.ca.trim();
    const forged = withValue(script, 'CA_FINGERPRINT', fingerprint).replace(pinned, other);
    assert.notEqual(forged, script);
    const r = await runScript(host, forged);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /^palisade-agent deployment: could not download https:\/\/manager\.palisade\.test:4119\/software\/agent\/linux\/.* trusting only the manager CA \(curl: \(60\)/m,
    );
    assert.deepEqual(await host.installedFiles(), []);
  });

  test('a package with another SHA-256 than the script says is refused before unpacking', async () => {
    const host = await newHost();
    const tampered = script.replace(`PACKAGE_SHA256='${pkg.sha256}'`, `PACKAGE_SHA256='${'f'.repeat(64)}'`);
    assert.notEqual(tampered, script);
    const r = await runScript(host, tampered);
    assert.equal(r.code, 1, r.stdout);
    assert.match(
      r.stderr,
      /^palisade-agent deployment: the downloaded package does not have the SHA-256 this script expects; nothing was installed/m,
    );
    assert.deepEqual(await host.installedFiles(), []);
  });

  let host: TestHost;

  test('the script installs, activates and starts the agent: heartbeating, with no Node.js on the host', async () => {
    host = await newHost();
    const node = await host.run(['node', '--version']);
    assert.notEqual(node.code, 0, 'Node.js cannot run on the test host');
    const started = Date.now();
    const r = await runScript(host, script);
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    assert.equal(r.code, 0, `${r.stderr}${r.stdout}`);
    console.log(`# deployment script: installed, activated and heartbeating in ${seconds} s`);
    assert.match(r.stdout, /done: the agent is activated and heartbeating to manager\.palisade\.test/);
    assert.match(r.stdout, /systemd is not PID 1 here/, 'no systemd on the test host: the pid-file path');
    assert.equal(r.stderr, '');

    const status = JSON.parse(await host.sh('palisade-agent status --json'));
    assert.equal(status.activated, true);
    assert.equal(status.version, VERSION);
    assert.equal(status.stateDir, '/var/lib/palisade-agent', 'the installed default, no --state-dir');
    assert.equal(status.lastContact.ok, true);
    assert.equal((await host.sh('readlink /opt/palisade-agent/current')).trim(), `versions/${VERSION}`);
    assert.equal((await host.sh('stat -c %a /var/lib/palisade-agent')).trim(), '700');
    const pid = Number((await host.sh('cat /var/lib/palisade-agent/palisade-agent.pid')).trim());
    assert.match(
      await host.sh(`tr '\\0' ' ' < /proc/${pid}/cmdline`),
      /^\/opt\/palisade-agent\/current\/palisade-agent start /,
    );

    const computers = (await mgr.ok<V['ComputerList']>('GET', '/api/computers')).computers;
    assert.equal(computers.length, 1);
    assert.equal(computers[0]!.agentVersion, VERSION);
    assert.deepEqual(computers[0]!.computerStatus.agentStatusMessages, ['Managed (Online)']);

    // The executable alone: --help, a heartbeat now, on a PATH where no Node.js runs.
    const help = await host.run(['palisade-agent', '--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /^palisade-agent 0\.1\.0 — the Palisade agent/);
    const hb = await host.run(['palisade-agent', 'heartbeat']);
    assert.equal(hb.code, 0, hb.stderr);
    assert.match(hb.stdout, /^Heartbeat sent: computer \d+/);
  });

  test('running the script again changes nothing and exits 0', async () => {
    const before = await host.sh('ls -l --time-style=+%s.%N -R /opt/palisade-agent /usr/local/bin');
    const r = await runScript(host, script);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /agent 0\.1\.0 is already installed and activated here; nothing to do/);
    assert.equal(await host.sh('ls -l --time-style=+%s.%N -R /opt/palisade-agent /usr/local/bin'), before);
    assert.equal((await mgr.ok<V['ComputerList']>('GET', '/api/computers')).computers.length, 1);
    const tokens = await mgr.ok<{ activationTokens: V['ActivationToken'][] }>('GET', '/api/activationtokens');
    assert.equal(tokens.activationTokens.find((t) => t.ID === tokenId)?.uses, 1, 'no second activation');
  });

  test('uninstall stops the agent and leaves none of its files, its process or its firewall table', async () => {
    const pid = Number((await host.sh('cat /var/lib/palisade-agent/palisade-agent.pid')).trim());
    assert.equal((await host.run(['nft', 'list', 'table', 'inet', 'palisade'])).code, 0, 'the agent applied its table');
    const r = await host.run(['palisade-agent', 'uninstall', '--yes']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /The Palisade agent is uninstalled\./);
    assert.deepEqual(await host.installedFiles(), []);
    await waitFor('the agent process to end', async () => (await host.run(['kill', '-0', String(pid)])).code !== 0);
    assert.match(r.stdout, /The manager manager\.palisade\.test shows computer \d+ as Deactivated\./);
    const c = (await mgr.ok<V['ComputerList']>('GET', '/api/computers')).computers[0]!;
    assert.deepEqual(c.computerStatus.agentStatusMessages, ['Deactivated'], 'uninstall told the manager');
    assert.notEqual(
      (await host.run(['nft', 'list', 'table', 'inet', 'palisade'])).code,
      0,
      'table inet palisade is gone',
    );
  });
});
