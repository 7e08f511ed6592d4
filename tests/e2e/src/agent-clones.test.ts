import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { heartbeat, reactivateWithoutToken, StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { activateTestAgent, agentRunner, startTestManager, type TestManager } from './harness.js';
import { freePort, waitFor } from './polling.js';

const CLONED = 'platformSettingAgentInitiatedActivationReactivateClonedEnabled';
const UNKNOWN = 'platformSettingAgentInitiatedActivationReactivateUnknownEnabled';

/**
 * Cloned hosts and unknown agents (issue 14, docs/deployment.md "Cloned hosts", "Unknown
 * agents"): two real agent state directories copied from one (`cp -a`, as a VM clone copies the
 * disk) heartbeat against one real manager; the copy whose continuity token fell behind is found
 * out, the duplicate-computer alert is raised, and the "reactivate cloned Agents" setting decides
 * whether it becomes a computer of its own or goes back to Activation Required.
 */
describe('cloned hosts: continuity tokens', () => {
  let m: TestManager;
  const runner = agentRunner({ finalHeartbeatTimeoutMs: 2_000 });
  const start = (state: StateDir) => runner.start(state);
  const setting = async (name: string, value: string) =>
    assert.equal((await m.api('POST', `/api/systemsettings/${name}`, { value })).status, 200);
  const alertsOn = async (id: number) =>
    (await m.api('GET', `/api/alerts?computer=${id}&type=duplicate-computer`)).json<V['AlertList']>().alerts;
  const identityOf = (s: StateDir) => readFileSync(s.path('host-identity'), 'utf8').trim();
  /** A copy of `state`'s directory as it is now, as cloning the VM would make it. */
  const copyOf = (state: StateDir) => {
    const dir = m.tempDir('palisade-clone-');
    rmSync(dir, { recursive: true });
    cpSync(state.dir, dir, { recursive: true, preserveTimestamps: true });
    return new StateDir(dir);
  };
  /** Lets the original run until it rotated its continuity token `n` more times than the copy holds. */
  const runOriginal = async (state: StateDir, n: number) => {
    const agent = start(state);
    const from = state.counters().heartbeatsSent;
    await waitFor(`${n} heartbeats of the original`, () => state.counters().heartbeatsSent >= from + n);
    return agent;
  };

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: 1 });
  });
  after(async () => {
    await runner.stopAll();
    await m.close();
  });

  test('activation hands out a continuity token; each heartbeat a new one; a lost reply is forgiven', async () => {
    const state = await activateTestAgent(m, { hostName: 'rotating' });
    const t0 = state.continuity();
    assert.match(t0 ?? '', /^[A-Za-z0-9_-]{43}$/, 'the activation gave a first token');
    await heartbeat(state);
    const t1 = state.continuity();
    assert.ok(t1 && t1 !== t0, 'the heartbeat gave a new one');
    // The reply carrying t2 is lost: the agent still holds t1 and presents it again.
    await heartbeat(state);
    assert.notEqual(state.continuity(), t1);
    writeFileSync(state.path('continuity'), `${t1}\n`);
    const again = await heartbeat(state);
    assert.equal(again.computerId, state.activation().computerId, 'the same computer, not a clone');
    assert.deepEqual(await alertsOn(again.computerId), []);
  });

  test('a copy that fell behind becomes a computer of its own (the default), with an alert on the original', async () => {
    const a = await activateTestAgent(m, { hostName: 'vm-original' });
    const id = a.activation().computerId;
    const b = copyOf(a);
    assert.equal(identityOf(b), identityOf(a), 'the copy holds the same host identity');
    // The original rotates twice after the copy was taken: the copy's token is then neither the
    // current one nor the one before.
    const original = await runOriginal(a, 2);
    const copy = start(b);
    await waitFor('the copy to be activated as another computer', () => b.activation().computerId !== id);
    const cloneId = b.activation().computerId;
    assert.notEqual(identityOf(b), identityOf(a), 'the copy was given an identity of its own');
    const heard = b.counters().heartbeatsSent;
    await waitFor('the copy to heartbeat as its own computer', () => b.counters().heartbeatsSent > heard);
    // The original carries on as itself.
    const sent = a.counters().heartbeatsSent;
    await waitFor('the original to carry on', () => a.counters().heartbeatsSent > sent + 1);
    assert.equal(a.activation().computerId, id);
    assert.equal(original.ended, null);
    assert.equal(copy.ended, null);
    const alerts = await alertsOn(id);
    assert.equal(alerts.length, 1);
    assert.equal(alerts[0]?.name, 'Duplicate Computer Detected');
    assert.match(alerts[0]?.message ?? '', /a copy of vm-original .*: a cloned host/);
    const both = (await m.api('GET', '/api/computers')).json<V['ComputerList']>().computers;
    const clone = both.find((c) => c.ID === cloneId);
    assert.equal(clone?.hostName, 'vm-original');
    assert.equal(
      (await m.api('GET', `/api/computers/${cloneId}`)).json<V['Computer']>().computerStatus.agentStatusMessages[0],
      'Managed (Online)',
    );
    await Promise.all([original.stop('done'), copy.stop('done')]);
  });

  test('the events both copies spooled before the copy are stored once; the copy’s own go to its computer', async () => {
    const a = await activateTestAgent(m, { hostName: 'vm-spool' });
    const id = a.activation().computerId;
    a.spool().append({ type: 'test.before-copy', severity: 'info', message: 'spooled before the copy' });
    const b = copyOf(a);
    const original = await runOriginal(a, 2);
    const copy = start(b);
    await waitFor('the copy to be activated as another computer', () => b.activation().computerId !== id);
    const cloneId = b.activation().computerId;
    await waitFor('the copy to deliver its spool', () => b.spool().size === 0 && b.counters().heartbeatsSent > 0);
    const events = async (c: number) => m.manager.store.events.listForComputer(c);
    const before = [...(await events(id)), ...(await events(cloneId))].filter((e) => e.type === 'test.before-copy');
    assert.deepEqual(
      before.map((e) => e.computerId),
      [id],
      'the event spooled before the copy is stored once, under the computer that delivered it first',
    );
    assert.ok(
      (await events(cloneId)).some((e) => e.type === 'agent.activated'),
      'the copy’s own events are stored under its computer',
    );
    await Promise.all([original.stop('done'), copy.stop('done')]);
  });

  test('"reactivate cloned Agents" false: the copy is refused (AGENT_CLONED) and resets to Activation Required', async () => {
    await setting(CLONED, 'false');
    try {
      const a = await activateTestAgent(m, { hostName: 'vm-refused' });
      const id = a.activation().computerId;
      const b = copyOf(a);
      const before = (await m.manager.store.computers.list()).length;
      const original = await runOriginal(a, 2);
      const copy = start(b);
      await copy.stopped;
      assert.equal(copy.ended, 'deactivated');
      assert.equal(b.isActivated(), false, 'the copy forgot the activation');
      assert.notEqual(identityOf(b), identityOf(a), 'and no longer passes for the original');
      assert.equal((await m.manager.store.computers.list()).length, before, 'no computer was made');
      assert.equal((await alertsOn(id)).length, 1);
      const sent = a.counters().heartbeatsSent;
      await waitFor('the original to carry on', () => a.counters().heartbeatsSent > sent);
      assert.equal(original.ended, null);
      await original.stop('done');
    } finally {
      await setting(CLONED, 'true');
    }
  });
});

/**
 * An agent whose certificate the manager has no record of — the manager's database restored
 * from a backup taken before the agent activated — activates again without a token when
 * "reactivate unknown Agents" is true, and is refused with the reason when it is false.
 */
describe('unknown agents: a database restored from before the activation', () => {
  let m: TestManager;
  let port: number;
  let backup: string;
  /** The first start's API key: a restarted manager prints none (it is no first run). */
  let apiKey: string;
  const runner = agentRunner({ finalHeartbeatTimeoutMs: 2_000 });
  /**
   * The managers replaced by a restart: closed at the end, each removing the temporary dirs it
   * made (the first one also the data dir the others reused).
   */
  const replaced: TestManager[] = [];
  /** Starts the manager again on the same data dir and port. */
  const restart = async () => {
    await m.stop();
    replaced.push(m);
    m = await startTestManager({ dataDir: m.dataDir, heartbeatIntervalSeconds: 1, heartbeatPort: port });
  };

  /** Copies the SQLite files of the stopped manager's data dir into `to` (or back). */
  const copyDb = (from: string, to: string) => {
    for (const f of readdirSync(to)) if (f.startsWith('palisade.db')) rmSync(join(to, f));
    for (const f of readdirSync(from)) if (f.startsWith('palisade.db')) cpSync(join(from, f), join(to, f));
  };

  before(async () => {
    port = await freePort();
    m = await startTestManager({ heartbeatIntervalSeconds: 1, heartbeatPort: port });
    apiKey = m.apiKey;
  });
  after(async () => {
    await runner.stopAll();
    await m.close();
    for (const r of replaced.reverse()) await r.close();
  });

  /** Activates an agent, then brings the manager back on the database as it was before. */
  const forgetAfterActivation = async (hostName: string, settings: Record<string, string>) => {
    for (const [name, value] of Object.entries(settings))
      assert.equal(
        (await m.api('POST', `/api/systemsettings/${name}`, { value }, { 'api-secret-key': apiKey })).status,
        200,
      );
    await m.stop();
    backup = m.tempDir('palisade-backup-');
    copyDb(m.dataDir, backup);
    await restart();
    const state = await activateTestAgent(m, { hostName });
    await heartbeat(state);
    await m.stop();
    copyDb(backup, m.dataDir);
    await restart();
    return state;
  };

  test('allowed (the default): the agent activates again by itself as a new computer', async () => {
    const state = await forgetAfterActivation('restored-away', {});
    const oldId = state.activation().computerId;
    assert.equal(await m.manager.store.computers.get(oldId), null, 'the restored manager has no such computer');
    const agent = runner.start(state);
    const c = await waitFor('a computer for the agent', async () =>
      (await m.manager.store.computers.list()).find((x) => x.hostName === 'restored-away'),
    );
    await waitFor('the agent to hold it', () => state.activation().computerId === c.id);
    const sent = state.counters().heartbeatsSent;
    await waitFor('heartbeats with the new certificate', () => state.counters().heartbeatsSent > sent);
    assert.equal(agent.ended, null);
    await agent.stop('done');
  });

  test('"reactivate unknown Agents" false: refused with the reason; the agent keeps its state and waits', async () => {
    const state = await forgetAfterActivation('restored-refused', { [UNKNOWN]: 'false' });
    await assert.rejects(
      reactivateWithoutToken(state, 'unknown'),
      (e: Error & { managerCode?: string }) =>
        e.managerCode === 'ACTIVATION_NOT_ALLOWED' && /reactivating unknown agents is off/.test(e.message),
    );
    assert.equal(state.isActivated(), true, 'nothing on the host changed');
    assert.ok(!(await m.manager.store.computers.list()).some((c) => c.hostName === 'restored-refused'));
  });
});
