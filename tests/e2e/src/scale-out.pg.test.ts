import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { activate, heartbeat, type RunningAgent, runAgent, StateDir } from '@palisade/agent';
import { PostgresTestServer, postgresSkipReason } from '@palisade/manager/testing';
import pino from 'pino';
import { loopbackManagerArgs, MANAGER_BIN, runCli, startManagerProcess } from './cli.js';
import { httpsJson } from './harness.js';
import { acceptsTcp, freePort, sleep, waitFor } from './polling.js';

/**
 * Several manager nodes on one real PostgreSQL (docs/scale-out.md), with HAProxy (Debian's
 * package) in front as a TCP load balancer and real agents behind it. Runs in
 * `npm run test:all`; under CI it must run, never skip.
 */
const HAPROXY = '/usr/sbin/haproxy';
const pgSkip = postgresSkipReason();
const haproxyMissing = existsSync(HAPROXY) ? null : `${HAPROXY} is missing (apt-get install haproxy)`;
if (haproxyMissing && process.env.CI === 'true')
  throw new Error(`the scale-out suite must run under CI, but cannot: ${haproxyMissing}`);
const skip = pgSkip ?? (haproxyMissing ? `skipped: ${haproxyMissing}` : null);

/**
 * The HAProxy configuration docs/scale-out.md shows (TCP mode: TLS goes through untouched, so
 * agents keep mutual TLS with the node). `balance first`: every agent on the first node that is
 * up, so the test knows which node an agent talks to; `roundrobin` spreads them in production.
 */
export function haproxyConfig(o: { listen: string; nodes: Array<{ name: string; address: string }>; balance: string }) {
  return `global
    maxconn 4096

defaults
    mode tcp
    timeout connect 2s
    timeout client 90s
    timeout server 90s
    # A connection refused by a node that just died is retried on another one.
    retries 2
    option redispatch

frontend palisade_agents
    bind ${o.listen}
    default_backend palisade_nodes

backend palisade_nodes
    balance ${o.balance}
${o.nodes.map((n) => `    server ${n.name} ${n.address} check inter 500ms fall 2 rise 2`).join('\n')}
`;
}

const INTERVAL = 2;

describe('two manager nodes on one PostgreSQL behind HAProxy', { skip: skip ?? false }, () => {
  let pg: PostgresTestServer;
  let url: string;
  const root = mkdtempSync(join(tmpdir(), 'palisade-scaleout-'));
  const nodes: Record<
    'a' | 'b',
    Awaited<ReturnType<typeof startManagerProcess>> & { heartbeatPort: number; apiPort: number }
  > = {} as never;
  let haproxy: ChildProcess | undefined;
  let haproxyLog = '';
  let lbPort = 0;
  let apiKey = '';
  let token = '';
  let fingerprint = '';
  let ca = '';

  const api = async <T = unknown>(node: 'a' | 'b', method: string, path: string, body?: unknown) => {
    const r = await httpsJson(`https://localhost:${nodes[node].apiPort}${path}`, ca, {
      method,
      body,
      headers: { 'api-secret-key': apiKey },
    });
    return { status: r.status, body: r.json<T>() };
  };

  const startNode = async (name: 'a' | 'b', heartbeatPort: number) => {
    const args = [
      '--db',
      url,
      ...loopbackManagerArgs(join(root, `node-${name}`), heartbeatPort, [
        // Every node is given the same key-encryption key: the CA key and other secrets in the
        // shared database are sealed with it (docs/scale-out.md). Node A makes it on first start,
        // in its data dir, where the CLI below finds it too.
        '--master-key-file',
        join(root, 'node-a', 'master.key'),
        '--heartbeat-interval-seconds',
        String(INTERVAL),
        '--node-name',
        `node-${name}`,
        '--agent-address',
        `dsm://localhost:${lbPort}/`,
      ]),
    ];
    const p = await startManagerProcess(args);
    nodes[name] = Object.assign(p, { heartbeatPort });
    return p;
  };

  const agents: StateDir[] = [];
  const running: RunningAgent[] = [];
  const logger = pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' });
  const newAgent = async (host: string) => {
    const s = new StateDir(join(root, `agent-${host}`));
    await activate(s, { managerUrl: `dsm://localhost:${lbPort}/`, token, caFingerprint: fingerprint, hostName: host });
    agents.push(s);
    return s;
  };
  /** A heartbeat as the agent service does it: on failure, again after a pause, until it lands. */
  const heartbeatUntilDone = async (s: StateDir) => {
    let last: unknown;
    for (let i = 0; i < 60; i++) {
      try {
        const r = await heartbeat(s);
        if (s.spool().size === 0) return r;
      } catch (e) {
        last = e;
        await sleep(250);
      }
    }
    throw new Error(`the agent never got its report through: ${(last as Error)?.message}`);
  };

  before(async () => {
    pg = await PostgresTestServer.start();
    url = await pg.createDatabase('fleet');
    lbPort = await freePort();
    const [pa, pb] = [await freePort(), await freePort()];
    const first = await startNode('a', pa);
    await startNode('b', pb);
    ({ apiKey, caFingerprint: fingerprint } = first);
    // The first-run token has a few uses; the fleet here needs more.
    const made = await runCli(MANAGER_BIN, [
      'token',
      'create',
      '--policy',
      'Base Policy',
      '--uses',
      'unlimited',
      '--db',
      url,
      '--data-dir',
      join(root, 'node-a'),
    ]);
    token = made.stdout.trim();
    assert.ok(apiKey && token && fingerprint, first.banner);
    assert.match(nodes.b.banner, new RegExp(`CA fingerprint: ${fingerprint}`), 'one CA for both nodes');
    ca = readFileSync(join(root, 'node-a', 'tls', 'ca.crt'), 'utf8');
    const cfg = join(root, 'haproxy.cfg');
    writeFileSync(
      cfg,
      haproxyConfig({
        listen: `127.0.0.1:${lbPort}`,
        balance: 'first',
        nodes: [
          { name: 'node-b', address: `127.0.0.1:${pb}` },
          { name: 'node-a', address: `127.0.0.1:${pa}` },
        ],
      }),
    );
    haproxy = spawn(HAPROXY, ['-db', '-f', cfg], { stdio: ['ignore', 'pipe', 'pipe'] });
    haproxy.stdout!.on('data', (d: Buffer) => (haproxyLog += d));
    haproxy.stderr!.on('data', (d: Buffer) => (haproxyLog += d));
    await waitFor(`HAProxy on ${lbPort}`, () => acceptsTcp(lbPort));
  });

  after(async () => {
    await Promise.allSettled(running.map((a) => a.stop('test over')));
    if (haproxy && haproxy.exitCode === null) {
      const gone = new Promise((r) => haproxy!.once('exit', r));
      haproxy.kill('SIGTERM');
      await gone;
    }
    for (const n of Object.values(nodes)) if (n.proc.exitCode === null && n.proc.signalCode === null) await n.stop();
    await pg?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  test('both nodes are listed online; agents learn the balancer’s address with their configuration', async () => {
    const r = await api<{ managerNodes: Array<{ hostname: string; status: string; agentAddresses: string[] }> }>(
      'a',
      'GET',
      '/api/managernodes',
    );
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.managerNodes.map((n) => [n.hostname, n.status]),
      [
        ['node-a', 'online'],
        ['node-b', 'online'],
      ],
    );
    const s = await newAgent('learner');
    await heartbeatUntilDone(s);
    assert.deepEqual((s.appliedConfiguration()!.configuration as { managers?: string[] }).managers, [
      `dsm://localhost:${lbPort}/`,
    ]);
  });

  test('a policy changed through node A is applied by an agent that talks to node B', async () => {
    const s = await newAgent('policy-01');
    const first = await heartbeatUntilDone(s);
    const computer = await api('b', 'GET', `/api/computers/${first.computerId}`);
    assert.equal(computer.status, 200);
    // The Base Policy, through node A's API; the balancer sends agents to B (balance first)
    // while it is up, and B serves the change at the agent's next heartbeat.
    const state = () => (s.appliedConfiguration()!.configuration as { firewall: { state: string } }).firewall.state;
    const wanted = state() === 'On' ? 'Off' : 'On';
    const r = await api('a', 'POST', '/api/policies/1/settings/firewallSettingState', { value: wanted });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Until the spool is empty: applying the configuration logs an event the next report carries.
    await heartbeatUntilDone(s);
    assert.equal(state(), wanted);
  });

  test('dial work done once: every Manager Initiated computer is called on schedule, by one node per due time', async () => {
    // Running agents that listen; a policy that has the manager call them.
    const policy = await api<{ ID: number }>('a', 'POST', '/api/policies', {
      name: 'Dialled',
      parentID: 1,
      policySettings: { platformSettingAgentCommunicationsDirection: { value: 'Manager Initiated' } },
    });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    const ids: number[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await newAgent(`dialled-${i}`);
      ids.push((await heartbeatUntilDone(s)).computerId);
      const moved = await api('a', 'POST', `/api/computers/${ids[i]}`, { policyID: policy.body.ID });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      running.push(
        runAgent(s, logger, { listener: { bindAddress: '127.0.0.1', port: 0 }, finalHeartbeatTimeoutMs: 2_000 }),
      );
    }
    type Communication = { mode: string; lastDial: { okAt: number | null } };
    // Each has applied Manager Initiated and been called by a node since.
    await waitFor(
      'every computer called on its schedule',
      async () => {
        for (const id of ids) {
          const c = (await api<Communication>('b', 'GET', `/api/computers/${id}/communication`)).body;
          if (c.mode !== 'scheduled' || c.lastDial.okAt === null) return false;
        }
        return true;
      },
      60_000,
    );
    // Calls each node made (palisade_dials_total, every reason and outcome), over a window.
    const dials = async (node: 'a' | 'b') => {
      const text = (await api<string>(node, 'GET', '/metrics')).body;
      return [...text.matchAll(/^palisade_dials_total\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    };
    const before = { a: await dials('a'), b: await dials('b') };
    const started = Date.now();
    // Until four calls per computer were made, whichever node made them.
    const ROUNDS = 4;
    const after = await waitFor(
      `${ROUNDS} calls per computer`,
      async () => {
        const now = { a: await dials('a'), b: await dials('b') };
        return now.a - before.a + now.b - before.b >= ROUNDS * ids.length ? now : false;
      },
      60_000,
    );
    const tookS = (Date.now() - started) / 1000;
    const made = { a: after.a - before.a, b: after.b - before.b };
    // One call per computer per interval (2 s, ±10 % jitter, counted from the end of the last
    // one): in tookS at most tookS / 1.8 + 1 each. Two nodes both calling a due computer would
    // make the calls twice as fast and fail this.
    const most = ids.length * (Math.floor(tookS / (INTERVAL * 0.9)) + 1);
    assert.ok(
      made.a + made.b <= most,
      `${made.a + made.b} calls to ${ids.length} computers in ${tookS.toFixed(1)} s: more than one per due time (${JSON.stringify(made)}; at most ${most})`,
    );
    assert.ok(made.a > 0 && made.b > 0, `both nodes take dial work: ${JSON.stringify(made)}`);
    await Promise.allSettled(running.splice(0).map((a) => a.stop('test over')));
  });

  test('one offline alert for a computer both nodes sweep', async () => {
    const s = await newAgent('goes-quiet');
    const { computerId } = await heartbeatUntilDone(s);
    // Silent now: its deadline passes ((2 + 1) × 2 s) and both nodes' sweeps race for it.
    const alerts = await waitFor(
      'the computer-offline alert',
      async () => {
        const r = await api<{ alerts: Array<{ computerID: number; type: string }> }>(
          'a',
          'GET',
          `/api/alerts?computer=${computerId}&type=computer-offline`,
        );
        return r.body.alerts.length > 0 ? r.body.alerts : null;
      },
      30_000,
    );
    await sleep(1_000); // several more sweeps by each node
    const again = await api<{ alerts: unknown[] }>(
      'b',
      'GET',
      `/api/alerts?computer=${computerId}&type=computer-offline`,
    );
    assert.equal(alerts.length, 1);
    assert.equal(again.body.alerts.length, 1, 'raised once, whichever node swept');
  });

  test('node B killed (SIGKILL) mid-burst: agents carry on through node A, no event lost or doubled; B shows offline with one alert', async () => {
    const fleet = await Promise.all(['burst-1', 'burst-2', 'burst-3'].map((h) => newAgent(h)));
    const ids = await Promise.all(fleet.map(async (s) => (await heartbeatUntilDone(s)).computerId));
    const ROUNDS = 8;
    const PER_ROUND = 40;
    let rounds = 0;
    const burst = async (s: StateDir) => {
      for (let r = 0; r < ROUNDS; r++) {
        for (let i = 0; i < PER_ROUND; i++)
          s.spool().append({ type: 'burst', severity: 'info', message: `round ${r} event ${i}` });
        await heartbeatUntilDone(s);
        rounds += 1;
      }
    };
    const running = Promise.all(fleet.map(burst));
    await waitFor('a few rounds through node B', () => rounds >= 6, 60_000);
    nodes.b.proc.kill('SIGKILL');
    await running;
    for (const id of ids) {
      const rows = await pg.query<{ n: number; distinct_seq: number }>(
        'fleet',
        "select count(*)::int as n, count(distinct seq)::int as distinct_seq from events where computer_id = $1 and type = 'burst'",
        [id],
      );
      assert.deepEqual(rows[0], { n: ROUNDS * PER_ROUND, distinct_seq: ROUNDS * PER_ROUND }, `computer ${id}`);
    }
    const offline = await waitFor(
      'node B shown offline',
      async () => {
        const r = await api<{ managerNodes: Array<{ hostname: string; status: string }> }>(
          'a',
          'GET',
          '/api/managernodes',
        );
        return r.body.managerNodes.find((n) => n.hostname === 'node-b' && n.status === 'offline');
      },
      30_000,
    );
    assert.ok(offline);
    const alerts = await api<{ alerts: Array<{ subject: string | null; computerID: number | null }> }>(
      'a',
      'GET',
      '/api/alerts?type=manager-offline',
    );
    assert.deepEqual(
      alerts.body.alerts.map((a) => [a.subject, a.computerID]),
      [['node-b', null]],
    );
  });
});
