import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { nftTableNameFor, parseNftCounters } from '@palisade/core';
import type { ApiViews as V } from '@palisade/manager';
import { AGENT_BIN } from './cli.js';
import { type LabManager, startLabManager } from './netns/lab-manager.js';
import { type LabHost, NetnsLab, netnsLabUnavailable } from './netns/netns-lab.js';
import { waitFor } from './polling.js';

/**
 * The host firewall for real (issue 6): a manager, an agent and another host, each in a network
 * namespace on one bridged segment (198.18.0.0/15 only), the agent's nftables table applied in
 * its own namespace by the agent itself (`palisade-agent activate`/`heartbeat`/`start`, real
 * processes), its TLS listener on 4118 probed from the manager's namespace and the other host's.
 * Runs in `npm run test:all` as root; under CI it must run, never skip.
 */
const unavailable = netnsLabUnavailable();
if (unavailable && process.env.CI === 'true')
  throw new Error(`the netns firewall suite must run under CI, but cannot: ${unavailable}`);

const MANAGER_NAME = 'manager.palisade.test';
const PROBE = fileURLToPath(new URL('./netns/tls-probe.js', import.meta.url));
const PORT = 4118;
const HIDDEN = 'hidden-listening-port';

describe('firewall enforcement in network namespaces (nftables, hidden rule, listener guard)', {
  skip: unavailable ? `skipped: ${unavailable}` : false,
}, () => {
  let lab: NetnsLab;
  let mgr: LabManager;
  let agent: ChildProcess;
  let agentLog = '';
  const dataDir = mkdtempSync(join(tmpdir(), 'palisade-fw-mgr-'));
  const stateDir = mkdtempSync(join(tmpdir(), 'palisade-fw-agent-'));
  let computerId = 0;
  /** This agent's table: one per state directory (inet palisade is the installed agent's). */
  const TABLE = nftTableNameFor(stateDir);
  /** Agents here enforce for real: the test runner turns the firewall off for every other suite. */
  const agentEnv = { ...process.env, PALISADE_AGENT_FIREWALL: 'on', PALISADE_LOG_LEVEL: 'warn' };

  const ok = <T>(method: string, path: string, body?: unknown) => mgr.ok<T>(method, path, body);
  const computer = () => ok<V['Computer']>('GET', `/api/computers/${computerId}`);
  const firewallDriver = async () => (await computer()).drivers.find((d) => d.name === 'firewall');

  async function agentCli(args: string[], env: NodeJS.ProcessEnv = agentEnv) {
    const r = await lab.run('agent', [process.execPath, AGENT_BIN, ...args, '--state-dir', stateDir], { env });
    assert.equal(r.code, 0, `palisade-agent ${args.join(' ')}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** One heartbeat now, then until the agent runs what the manager expects (a dialer push may get there first). */
  async function converge(): Promise<V['Computer']> {
    let last: V['Computer'] | undefined;
    return waitFor(
      () => `the configuration applied: ${JSON.stringify(last?.configurationFingerprint)}`,
      async () => {
        await agentCli(['heartbeat']);
        last = await computer();
        return last.configurationFingerprint.applied === last.configurationFingerprint.expected && last;
      },
      60_000,
      1_000,
    );
  }

  async function probe(from: LabHost, port = PORT): Promise<{ tcp: boolean; tls: boolean; error: string | null }> {
    const r = await lab.run(from, [process.execPath, PROBE, lab.ip('agent'), String(port), '3000']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split('\n').pop()!);
  }

  /** The agent's table as nft lists it there: counters by rule id, or null when there is no table. */
  async function table(): Promise<{
    counters: Record<string, { packets: number; bytes: number }>;
    text: string;
  } | null> {
    const json = await lab.run('agent', ['nft', '-j', 'list', 'table', 'inet', TABLE]);
    if (json.code !== 0) {
      assert.match(json.stderr, /No such file or directory/, json.stderr);
      return null;
    }
    const text = await lab.run('agent', ['nft', 'list', 'table', 'inet', TABLE]);
    return { counters: parseNftCounters(json.stdout, TABLE), text: text.stdout };
  }

  const effective = () => ok<V['Effective']>(`GET`, `/api/computers/${computerId}/firewall/effective`);

  before(async () => {
    const stale = NetnsLab.sweepStale();
    if (stale.length > 0) console.log(`# removed namespaces of an earlier run that died: ${stale.join(', ')}`);
    lab = new NetnsLab();
    lab.up({ [MANAGER_NAME]: 'manager' });

    mgr = await startLabManager(lab, { name: MANAGER_NAME, dataDir });
    const banner = mgr.banner;
    const activation = /npx palisade-agent activate (dsm:\/\/\S+) --token (\S+) --ca-fingerprint (\S+)/.exec(banner)!;

    // The agent listens (and the hidden rule exists) in Bidirectional and Manager Initiated.
    const base = (await ok<V['PolicyList']>('GET', '/api/policies')).policies.find((p) => p.parentID === null)!.ID;
    await ok('POST', `/api/policies/${base}/settings/platformSettingAgentCommunicationsDirection`, {
      value: 'Bidirectional',
    });

    await agentCli(['activate', activation[1]!, '--token', activation[2]!, '--ca-fingerprint', activation[3]!]);
    computerId = (await ok<V['ComputerList']>('GET', '/api/computers')).computers[0]!.ID;
    agent = lab.spawn('agent', [process.execPath, AGENT_BIN, 'start', '--state-dir', stateDir], agentEnv);
    agent.stderr!.on('data', (d: Buffer) => (agentLog += d.toString()));
    // Listening once the manager's host gets a TLS answer on 4118.
    await waitFor(
      () => `the agent to listen on ${PORT}: ${agentLog}`,
      async () => (await probe('manager')).tls,
      60_000,
      500,
    );
  });

  after(async () => {
    try {
      await lab?.down();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
      rmSync(stateDir, { recursive: true, force: true });
      if (process.env.PALISADE_TEST_LOG) console.log(`# manager log:\n${mgr?.log()}\n# agent log:\n${agentLog}`);
    }
  });

  test('with the hidden rule, the manager and a second host both reach the listening port', async () => {
    const c = await converge();
    assert.deepEqual(
      c.drivers.find((d) => d.name === 'firewall'),
      { name: 'firewall', status: 'online' },
    );
    const e = await effective();
    assert.deepEqual([e.hiddenRule, e.listeningPort, e.rules[0]?.agentRuleID], ['present', PORT, HIDDEN]);
    const t = await table();
    assert.ok(t, `the agent applied table inet ${TABLE} in its namespace`);
    const all = await lab.run('agent', ['nft', 'list', 'tables']);
    assert.deepEqual(all.stdout.trim().split('\n'), [`table inet ${TABLE}`], 'its own table, and no other');
    assert.ok(HIDDEN in t.counters);
    assert.match(t.text, /tcp dport 4118 counter name "?r_hidden-listening-port"? accept/);
    assert.deepEqual(await probe('manager'), { tcp: true, tls: true, error: null });
    assert.deepEqual(await probe('other'), { tcp: true, tls: true, error: null });
  });

  test('counters move as packets pass, and reach the manager in the next heartbeat', async () => {
    const before = (await table())!.counters[HIDDEN]!.packets;
    await probe('other');
    await probe('other');
    const after = (await table())!.counters[HIDDEN]!;
    // Only a connection's first packet meets the rule; the rest are "established".
    assert.ok(after.packets >= before + 2, `hidden rule counter ${before} → ${after.packets}`);
    await agentCli(['heartbeat']);
    const reported = (await effective()).rules.find((r) => r.hidden)?.counters;
    assert.ok(
      reported && (reported.packets ?? 0) >= after.packets && (reported.bytes ?? 0) >= after.bytes,
      JSON.stringify(reported),
    );
  });

  const rules: Record<string, number> = {};

  test("a replacing rule that allows only the manager's IP, with a deny for the port: the other host is dropped, the manager still connects", async () => {
    rules.managerOnly = (
      await ok<V['Rule']>('POST', '/api/firewallrules', {
        name: 'Manager to agent port',
        action: 'force-allow',
        priority: 4,
        direction: 'incoming',
        frameType: 'ip',
        protocol: 'tcp',
        sourceIPType: 'single',
        sourceIPValue: lab.ip('manager'),
        destinationPortType: 'multiple',
        destinationPortMultiple: [String(PORT)],
      })
    ).ID;
    rules.deny = (
      await ok<V['Rule']>('POST', '/api/firewallrules', {
        name: 'Nobody else to agent port',
        action: 'deny',
        priority: 4,
        direction: 'incoming',
        protocol: 'tcp',
        destinationPortType: 'multiple',
        destinationPortMultiple: [String(PORT)],
      })
    ).ID;
    await ok('POST', `/api/computers/${computerId}/firewall`, { ruleIDs: [rules.managerOnly, rules.deny] });
    assert.equal((await computer()).computerStatus.agentStatusMessages[0], 'Update Pending (Heartbeat)');
    await converge();
    const e = await effective();
    assert.deepEqual([e.hiddenRule, e.hiddenRuleReplacedBy], ['replaced', rules.managerOnly]);
    const t = (await table())!;
    assert.ok(!(HIDDEN in t.counters), 'the hidden rule is gone from the table');
    assert.match(
      t.text,
      new RegExp(
        `ip saddr ${lab.ip('manager').replace(/\./g, '\\.')} tcp dport 4118 counter name "?r_${rules.managerOnly}"? accept`,
      ),
    );

    assert.deepEqual(await probe('manager'), { tcp: true, tls: true, error: null });
    const other = await probe('other');
    assert.deepEqual([other.tcp, other.tls], [false, false], `dropped: ${JSON.stringify(other)}`);
    const counters = (await table())!.counters;
    assert.ok(counters[String(rules.deny)]!.packets >= 1, 'the deny rule counted the dropped SYNs');
    assert.ok(counters[String(rules.managerOnly)]!.packets >= 1, 'the replacing rule counted the manager');
  });

  test("the same restriction by MAC: the manager's card gets in, the other host does not", async () => {
    await ok('POST', `/api/firewallrules/${rules.managerOnly}`, {
      sourceIPType: 'any',
      sourceMACType: 'single',
      sourceMACValue: lab.mac('manager'),
    });
    await converge();
    assert.match(
      (await table())!.text,
      new RegExp(`ether saddr ${lab.mac('manager')} .*counter name "?r_${rules.managerOnly}"? accept`),
    );
    assert.deepEqual(await probe('manager'), { tcp: true, tls: true, error: null });
    assert.equal((await probe('other')).tcp, false);
  });

  test('the same restriction by an IP list: a change to the list reaches the kernel, nothing else changed', async () => {
    const list = await ok<V['FirewallList']>('POST', '/api/iplists', {
      name: 'Managers',
      items: [`${lab.ip('manager')} # the manager`],
    });
    await ok('POST', `/api/firewallrules/${rules.managerOnly}`, {
      sourceMACType: 'any',
      sourceIPType: 'ip-list',
      sourceIPListID: list.ID,
    });
    await converge();
    assert.deepEqual(await probe('manager'), { tcp: true, tls: true, error: null });
    assert.equal((await probe('other')).tcp, false);
    // The other host joins the list: only the list changed, and the kernel now lets it in.
    await ok('POST', `/api/iplists/${list.ID}`, { items: [lab.ip('manager'), lab.ip('other')] });
    await converge();
    assert.match(
      (await table())!.text,
      new RegExp(
        `ip saddr \\{ [^}]*${lab.ip('other').replace(/\./g, '\\.')}[^}]*\\} tcp dport 4118 counter name "?r_${rules.managerOnly}"? accept`,
      ),
    );
    assert.deepEqual(await probe('other'), { tcp: true, tls: true, error: null });
    await ok('POST', `/api/firewallrules/${rules.managerOnly}`, {
      sourceIPType: 'single',
      sourceIPValue: lab.ip('manager'),
    });
    await ok('DELETE', `/api/iplists/${list.ID}`);
    await converge();
    assert.equal((await probe('other')).tcp, false);
  });

  test('where nftables is absent the listener guard keeps the restriction; the driver says why; the table comes back', async () => {
    // The table gone (as on a host without nftables): the kernel lets the other host's SYN in,
    // and the listener itself drops it before TLS; the manager is still served.
    const del = await lab.run('agent', ['nft', 'delete', 'table', 'inet', TABLE]);
    assert.equal(del.code, 0, del.stderr);
    const other = await probe('other');
    assert.deepEqual([other.tcp, other.tls], [true, false], `guard: ${JSON.stringify(other)}`);
    assert.deepEqual(await probe('manager'), { tcp: true, tls: true, error: null });

    // nft missing from PATH (it lives in /usr/sbin): the heartbeat reports the driver offline.
    await agentCli(['heartbeat'], { ...agentEnv, PATH: '/usr/bin:/bin' });
    const down = await firewallDriver();
    assert.equal(down?.status, 'offline');
    assert.match(down.reason ?? '', /nftables is not installed: "nft" was not found/);
    assert.equal(await table(), null, 'nothing could restore it');
    assert.equal((await probe('other')).tls, false, 'the guard still holds');

    // With nft back, the next heartbeat restores the table and the driver is online again.
    await agentCli(['heartbeat']);
    assert.deepEqual(await firewallDriver(), { name: 'firewall', status: 'online' });
    assert.ok((await table()) !== null);
    assert.equal((await probe('other')).tcp, false, 'dropped by nftables again');
  });

  test('removing the replacing rule restores the hidden one: both hosts connect again', async () => {
    await ok('POST', `/api/computers/${computerId}/firewall`, { ruleIDs: [] });
    await converge();
    assert.equal((await effective()).hiddenRule, 'present');
    assert.ok(HIDDEN in (await table())!.counters);
    assert.deepEqual(await probe('manager'), { tcp: true, tls: true, error: null });
    assert.deepEqual(await probe('other'), { tcp: true, tls: true, error: null });
  });

  test('the listening port setting moves the listener, the hidden rule and the table; 4118 closes', async () => {
    const MOVED = 4999;
    const setting = `/api/computers/${computerId}/settings/platformSettingAgentListeningPort`;
    const refused = await mgr.api('POST', setting, { value: '70000' });
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(JSON.stringify(refused.body), /TCP port number from 1 to 65535/);
    await ok('POST', setting, { value: String(MOVED) });
    // Bidirectional: the manager pushes the change to the listener it knows (4118); the agent
    // applies it there and moves. No one-shot heartbeat here: the daemon must move by itself.
    await waitFor(
      () => `the agent to listen on ${MOVED}: ${agentLog}`,
      async () => (await probe('manager', MOVED)).tls,
      60_000,
      500,
    );
    const c = await computer();
    assert.equal(c.configurationFingerprint.applied, c.configurationFingerprint.expected);
    const e = await effective();
    assert.deepEqual([e.hiddenRule, e.listeningPort], ['present', MOVED]);
    const t = (await table())!;
    assert.match(t.text, /tcp dport 4999 counter name "?r_hidden-listening-port"? accept/);
    assert.doesNotMatch(t.text, /4118/);
    assert.deepEqual(await probe('other', MOVED), { tcp: true, tls: true, error: null });
    assert.equal((await probe('manager', PORT)).tcp, false, '4118 is closed');
    const reach = await ok<{ listener: { port: number } | null; listeningPort: number }>(
      'GET',
      `/api/computers/${computerId}/communication`,
    );
    assert.deepEqual([reach.listener?.port, reach.listeningPort], [MOVED, MOVED]);
    // The manager dials the new port: Check Status reaches the agent there.
    const check = await ok<{ status: string; address: string | null }>(
      'POST',
      `/api/computers/${computerId}/actions/checkstatus`,
      {},
    );
    assert.deepEqual([check.status, check.address], ['completed', `${lab.ip('agent')}:${MOVED}`]);

    // Inherited again: back on 4118, and 4999 closes.
    await ok('DELETE', setting);
    await waitFor(
      () => `the agent back on ${PORT}: ${agentLog}`,
      async () => (await probe('manager', PORT)).tls,
      60_000,
      500,
    );
    assert.equal((await probe('manager', MOVED)).tcp, false, `${MOVED} is closed again`);
  });

  test('firewall Off removes the table', async () => {
    await ok('POST', `/api/computers/${computerId}/firewall`, { ruleIDs: [rules.managerOnly, rules.deny] });
    await converge();
    assert.equal((await probe('other')).tcp, false);
    await ok('POST', `/api/computers/${computerId}/settings/firewallSettingState`, { value: 'Off' });
    await converge();
    assert.equal(await table(), null);
    // A report tells what ran when it was built: the one after the change says no firewall runs.
    await agentCli(['heartbeat']);
    assert.equal(await firewallDriver(), undefined, 'Off: no firewall driver is expected to run');
    // Off means off for the listener guard too.
    assert.deepEqual(await probe('other'), { tcp: true, tls: true, error: null });
  });
});
