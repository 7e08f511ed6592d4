import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openInitializedStore, type Store, type ApiViews as V } from '@palisade/manager';
import {
  AGENT_BIN,
  type AgentProcess,
  activateArgsFor,
  type ManagerProcess,
  runCli,
  startAgentProcess,
  startLoopbackManager,
} from './cli.js';
import { httpsJson } from './harness.js';
import { acceptsTcp, freePort, waitingUpTo } from './polling.js';

const waitFor = waitingUpTo(60_000);

const accepts = acceptsTcp;

/**
 * TCP ports a process listens on, from Linux's /proc: its socket inodes (/proc/PID/fd) that
 * /proc/net/tcp{,6} lists in state 0A (LISTEN). Proves "nothing bound" for that process alone,
 * whatever else the machine runs.
 */
function listeningPorts(pid: number): number[] {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      /* closed meanwhile */
    }
  }
  const ports: number[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!existsSync(table)) continue;
    for (const line of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '0A' || !inodes.has(f[9]!)) continue;
      ports.push(parseInt(f[1]!.split(':')[1]!, 16));
    }
  }
  return ports;
}

describe('communication direction with real processes: palisade-manager start, palisade-agent start', {
  skip: process.platform !== 'linux' && 'reads /proc to see what the agent process binds',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-direction-cli-'));
  const dataDir = join(dir, 'data');
  const stateDir = join(dir, 'agent-state');
  let mgr: ManagerProcess;
  let apiKey: string;
  let apiPort: number;
  let store: Store;
  let agent: AgentProcess | undefined;
  let port: number;
  let computerId: number;

  const api = (method: string, path: string, body?: unknown) =>
    httpsJson(`https://localhost:${apiPort}${path}`, readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'), {
      method,
      body,
      headers: { 'api-secret-key': apiKey },
    });

  before(async () => {
    mgr = await startLoopbackManager(dataDir, ['--heartbeat-interval-seconds', '2']);
    ({ apiKey, apiPort } = mgr);
    // The test changes policies through the same database the manager process uses (SQLite, WAL).
    ({ store } = await openInitializedStore(dataDir));
    port = await freePort();
  });
  after(async () => {
    await agent?.stop();
    await store?.close();
    await mgr?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('activated and started Agent Initiated, the agent process binds no port at all', async () => {
    const args = activateArgsFor(mgr, stateDir);
    const r = await runCli(AGENT_BIN, [...args, '--listen-port', String(port), '--listen-address', '127.0.0.1']);
    assert.equal(r.code, 0, r.stderr);
    computerId = Number(/computer (\d+)/.exec(r.stdout)![1]);
    agent = startAgentProcess(stateDir);
    await waitFor(
      'a heartbeat from the agent process',
      async () => (await api('GET', `/api/computers/${computerId}`)).json<V['Computer']>().lastAgentCommunication,
    );
    assert.deepEqual(listeningPorts(agent.proc.pid!), [], `the agent process listens on nothing; log: ${agent!.log()}`);
    assert.equal(await accepts(port), false);
    const s = await runCli(AGENT_BIN, ['status', '--state-dir', stateDir]);
    assert.match(s.stdout, /communication: agent-initiated: heartbeats to the manager, listens on no port/);
  });

  test('switched to Manager Initiated by its policy: the running process opens its port, stops heartbeating, and the manager calls it', async () => {
    const base = (await store.policies.findByName('Base Policy'))!;
    const mi = await store.policies.create({
      parentId: base.id,
      name: 'Manager Initiated servers',
      description: '',
      now: Date.now(),
    });
    await store.policies.setSetting(mi.id, 'platformSettingAgentCommunicationsDirection', 'Manager Initiated');
    await store.computers.setPolicy(computerId, mi.id);
    await waitFor('the agent process to listen on its port', async () =>
      listeningPorts(agent!.proc.pid!).includes(port),
    );
    assert.deepEqual(listeningPorts(agent!.proc.pid!), [port], 'that port and no other');
    const called = await waitFor('a scheduled call from the manager', async () => {
      const v = (await api('GET', `/api/computers/${computerId}/communication`)).json<V['Communication']>();
      return v.lastDial.okAt && v.direction.applied === 'Manager Initiated' ? v : null;
    });
    // Counted once the manager has called (an interval after the switch): the heartbeat that
    // carried the switch has long been logged.
    const heartbeatsAtSwitch = (agent!.log().match(/"msg":"heartbeat"/g) ?? []).length;
    assert.equal(called.mode, 'scheduled');
    assert.equal(called.listener?.port, port);

    await store.policies.setSetting(mi.id, 'firewallSettingState', 'Off');
    const r = await api('POST', `/api/computers/${computerId}/actions/sendpolicy`, {});
    assert.equal(r.status, 200);
    const result = r.json<V['ActionResult']>();
    assert.equal(result.status, 'completed', result.message);
    assert.deepEqual(
      result.operations?.map((o) => o.status),
      ['succeeded'],
    );
    const applied = JSON.parse(readFileSync(join(stateDir, 'configuration.json'), 'utf8'));
    assert.equal(
      applied.fingerprint,
      result.configurationFingerprint.expected,

      "on the agent's disk when the API answered",
    );
    assert.equal(applied.configuration.firewall.state, 'Off');
    assert.equal(
      (agent!.log().match(/"msg":"heartbeat"/g) ?? []).length,
      heartbeatsAtSwitch,
      'no heartbeat since the switch',
    );
    const s = await runCli(AGENT_BIN, ['status', '--state-dir', stateDir]);
    assert.match(s.stdout, new RegExp(`communication: manager-initiated: listens on port ${port} \\(listener.json\\)`));
  });

  test('SIGTERM: the agent stops cleanly and its port is free', async () => {
    const code = await agent!.stop();
    assert.equal(code, 0, agent!.log());
    assert.equal(await accepts(port), false);
    assert.match(agent!.log(), /stop notice spooled \(Manager Initiated/);
  });
});
