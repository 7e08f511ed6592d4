import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ApiViews as V } from '@palisade/manager';
import { AGENT_BIN, activateArgsFor, MANAGER_BIN, type ManagerProcess, runCli, startLoopbackManager } from './cli.js';
import { errorOf, httpsJson } from './harness.js';
import { waitFor } from './polling.js';

/** The README's path, as real processes: start the manager, run the printed command, watch it in the API. */
describe('CLI: manager and agent as a new user runs them', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-cli-'));
  const dataDir = join(dir, 'data');
  const stateDir = join(dir, 'agent-state');
  let mgr: ManagerProcess;
  let apiKey: string;
  let apiPort: number;

  before(async () => {
    mgr = await startLoopbackManager(dataDir, ['--heartbeat-interval-seconds', '1']);
    ({ apiKey, apiPort } = mgr);
  });
  after(async () => {
    await mgr?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // Trust the manager CA the agent pinned at activation (the first test activates it).
  const api = (path: string, key = apiKey) =>
    httpsJson(`https://localhost:${apiPort}${path}`, readFileSync(join(stateDir, 'ca.crt'), 'utf8'), {
      headers: { 'api-secret-key': key },
    });

  test('the banner prints console URL, API key, CA fingerprint and a working activation command', async () => {
    assert.match(mgr.banner, /Console: +https:\/\/localhost:\d+\//);
    assert.match(mgr.banner, /CA fingerprint: sha256:[0-9a-f]{64}/);
    const fp = await runCli(MANAGER_BIN, ['ca', 'fingerprint', '--data-dir', dataDir]);
    assert.equal(fp.code, 0);
    assert.match(fp.stdout, /^sha256:[0-9a-f]{64}\n$/, 'stdout holds the fingerprint alone');
    assert.ok(mgr.banner.includes(fp.stdout.trim()));
    const serverCert = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'));
    assert.ok(serverCert.subjectAltName?.includes('DNS:localhost'));
    assert.equal(serverCert.publicKey.asymmetricKeyType, 'rsa');
    assert.ok((serverCert.publicKey.asymmetricKeyDetails?.modulusLength ?? 0) >= 2048);
    const args = activateArgsFor(mgr, stateDir);
    const r = await runCli(AGENT_BIN, args);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Activated: computer \d+/);
  });

  test('heartbeat prints TLS, events and operations and exits 0; status shows the state', async () => {
    const r = await runCli(AGENT_BIN, ['heartbeat', '--state-dir', stateDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /TLS: TLSv1\.3 TLS_AES_256_GCM_SHA384/);
    assert.match(r.stdout, /events sent: 1, acknowledged through seq 1/);
    assert.match(r.stdout, /operations applied: none/);
    const s = await runCli(AGENT_BIN, ['status', '--state-dir', stateDir]);
    assert.equal(s.code, 0);
    assert.match(s.stdout, /last contact: .* ok, TLSv1\.3/);
    assert.match(s.stdout, /events waiting to be sent: 0/);
  });

  test('token create, apikey create print the secret alone on stdout; bad input is a usage error', async () => {
    const t = await runCli(MANAGER_BIN, [
      'token',
      'create',
      '--policy',
      'Base Policy',
      '--uses',
      '2',
      '--expires',
      '1h',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(t.code, 0, t.stderr);
    assert.match(t.stdout, /^pat_[A-Za-z0-9_-]+\n$/);
    assert.match(t.stderr, /2 uses/);
    const k = await runCli(MANAGER_BIN, [
      'apikey',
      'create',
      '--name',
      'ci',
      '--role',
      'read-only',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(k.code, 0, k.stderr);
    assert.match(k.stdout, /^psk_[A-Za-z0-9_-]+\n$/);
    for (const [args, text] of [
      [['token', 'create', '--data-dir', dataDir], /--policy NAME is required/],
      [['token', 'create', '--policy', 'Base Policy', '--expires', 'soon', '--data-dir', dataDir], /not a duration/],
      [['apikey', 'create', '--name', 'x', '--role', 'god', '--data-dir', dataDir], /must be full-access or read-only/],
      [['start', '--api-port', 'http'], /not a port number/],
      [['start', '--frobnicate'], /Unknown option '--frobnicate'/],
      [['start', '--dialer-concurrency', '5000'], /--dialer-concurrency 5000: at most 1024/],
      [['start', '--dialer-concurrency', '0'], /dialer-concurrency/],
      [['frobnicate'], /unknown command/],
    ] as const) {
      const r = await runCli(MANAGER_BIN, [...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, text);
    }
    const np = await runCli(MANAGER_BIN, ['token', 'create', '--policy', 'Nope', '--data-dir', dataDir]);
    assert.equal(np.code, 1);
    assert.match(np.stderr, /no policy named "Nope"/);
    assert.equal(np.stdout, '');
  });

  test('the started agent keeps heartbeating; the API lists the computer Managed (Online)', async () => {
    const first = async () => (await api('/api/computers')).json<V['ComputerList']>().computers[0]!;
    const c0 = await first();
    // The lab interval is 1 s, so by now (several CLI runs later) the computer is Offline.
    assert.deepEqual(c0.computerStatus.agentStatusMessages, ['Offline']);
    const agent = spawn(process.execPath, [AGENT_BIN, 'start', '--state-dir', stateDir], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let agentErr = '';
    agent.stderr!.on('data', (d: Buffer) => (agentErr += d.toString()));
    try {
      // Interval 1 s, jitter ±10 %: two more heartbeats arrive within a few seconds.
      const sent = (c: V['Computer']) => c.counters.heartbeatsSent ?? 0;
      const later = await waitFor(
        `two more heartbeats (${agentErr})`,
        async () => {
          const c = await first();
          return sent(c) >= sent(c0) + 2 && c;
        },
        30_000,
        200,
      );
      assert.deepEqual(later.computerStatus.agentStatusMessages, ['Managed (Online)']);
      for (const f of ['ID', 'hostName', 'platform', 'agentVersion', 'policyID', 'lastAgentCommunication'] as const)
        assert.ok(later[f] !== undefined && later[f] !== null, f);
      assert.ok((later.lastAgentCommunication ?? 0) > (c0.lastAgentCommunication ?? 0), agentErr);
      // A second daemon on the same state directory would report its events as this one's.
      const second = await runCli(AGENT_BIN, ['start', '--state-dir', stateDir]);
      assert.equal(second.code, 1, second.stderr);
      assert.match(
        second.stderr,
        new RegExp(`an agent is already running on this state directory: process ${agent.pid}`),
      );
    } finally {
      const code = await new Promise<number | null>((resolve) => {
        agent.once('exit', (c) => resolve(c));
        agent.kill('SIGTERM');
      });
      assert.equal(code, 0, agentErr);
    }
    const s = await runCli(AGENT_BIN, ['status', '--state-dir', stateDir]);
    // The stop goes out at once in a last heartbeat (the shutdown notice when the host shuts down).
    assert.match(s.stdout, /events waiting to be sent: 0/, 'agent.stopped was delivered before the agent exited');
    const stopped = (await api('/api/events?type=agent.stopped')).json<V['EventPage']>().events[0];
    assert.equal(stopped?.data?.reason, 'received SIGTERM');
  });

  test('a read-only key reads; an unknown key is refused', async () => {
    const k = (
      await runCli(MANAGER_BIN, ['apikey', 'create', '--name', 'ro', '--role', 'read-only', '--data-dir', dataDir])
    ).stdout.trim();
    assert.equal((await api('/api/computers', k)).status, 200);
    const bad = await api('/api/computers', 'psk_wrong');
    assert.equal(bad.status, 401);
    assert.equal(errorOf(bad).code, 'API_KEY_INVALID');
  });

  test('reset needs --yes, then forgets the activation', async () => {
    const no = await runCli(AGENT_BIN, ['reset', '--state-dir', stateDir]);
    assert.equal(no.code, 2);
    assert.match(no.stderr, /rerun with --yes/);
    const yes = await runCli(AGENT_BIN, ['reset', '--yes', '--state-dir', stateDir]);
    assert.equal(yes.code, 0);
    const s = await runCli(AGENT_BIN, ['status', '--state-dir', stateDir]);
    assert.match(s.stdout, /^Activation Required: not activated/);
    const hb = await runCli(AGENT_BIN, ['heartbeat', '--state-dir', stateDir]);
    assert.equal(hb.code, 1);
    assert.match(hb.stderr, /not activated/);
  });

  test('the manager stops cleanly on SIGTERM', async () => {
    assert.equal(await mgr.stop(), 0);
  });
});
