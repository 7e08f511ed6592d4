import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { currentVersionDir, type RunningAgent, runAgent, StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import pino from 'pino';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';
import { freePort, waitFor } from './polling.js';
import { buildSeaVersions, type SeaHost, startSeaHost, upgradeOutcome } from './sea-builds.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const CLONED = 'platformSettingAgentInitiatedActivationReactivateClonedEnabled';
const logger = pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' });

/**
 * One POST to an agent's listener as the manager (its dialer identity from the data dir), on a
 * connection of its own: the status and the error code, if any.
 */
function postAsManager(
  m: TestManager,
  port: number,
  path: string,
  body: unknown,
): Promise<{ status: number; code?: string }> {
  const tls = (f: string) => readFileSync(join(m.dataDir, 'tls', f), 'utf8');
  const payload = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path,
        agent: false,
        key: tls('dialer.key'),
        cert: tls('dialer.crt'),
        // Who the listener is is not under test here, only what it does with this request.
        rejectUnauthorized: false,
        headers: { 'content-type': 'application/json', 'content-length': payload.length },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: { code?: string } };
          resolve({ status: res.statusCode ?? 0, ...(parsed.error?.code ? { code: parsed.error.code } : {}) });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A policy whose agents only listen: the manager's calls are their only contact. */
async function managerInitiatedPolicy(m: TestManager, name: string): Promise<void> {
  const store = m.manager.store;
  const base = await store.policies.ensureBase(Date.now());
  const p = await store.policies.create({ parentId: base.id, name, description: '', now: Date.now() });
  await store.policies.setSetting(p.id, DIRECTION, 'Manager Initiated');
}

const V1 = '0.9.0-mi.1';
const V2 = '0.9.0-mi.2';

/**
 * A Manager Initiated agent gets its upgrade through the dialer (issue 14): the order rides the
 * reply of the manager's call with its SHA-256, the agent installs the single executable
 * `npm run package:agent` built beside the running one, and the new version confirms when the
 * manager next calls it. The agent never heartbeats by itself throughout.
 */
describe('Manager Initiated: an upgrade through the manager’s calls', () => {
  let m: TestManager;
  let host: SeaHost | undefined;
  let root: string;
  let state: StateDir;
  let computerId: number;
  const agentVersion = async () => (await m.manager.store.computers.get(computerId))?.agentVersion;

  before(async () => {
    process.env.PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS = '15';
    const [p1, p2] = await buildSeaVersions(V1, V2);
    m = await startTestManager({ heartbeatIntervalSeconds: 1 });
    await managerInitiatedPolicy(m, 'Listening');
    const listen = ['--listen-address', '127.0.0.1', '--listen-port', String(await freePort())];
    host = await startSeaHost(m, { installed: p1, served: p2, activateArgs: ['--policy', 'Listening', ...listen] });
    ({ root, state, computerId } = host);
  });
  after(async () => {
    await host?.stop();
    await m.close();
    delete process.env.PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS;
  });

  test('the dial hands out continuity tokens and the upgrade order; the new version confirms on the next call', async () => {
    const activationToken = state.continuity();
    await waitFor(
      'the manager to call the agent and rotate its continuity token',
      async () => (await agentVersion()) === V1 && state.continuity() !== activationToken,
      60_000,
    );
    const r = await m.api('POST', `/api/computers/${computerId}/actions/upgradeagent`, { version: V2 });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    const id = r.json<V['ComputerUpgradeResult']>().agentUpgrade!.ID;
    const u = await upgradeOutcome(m, computerId, id);
    assert.equal(u.status, 'succeeded', u.reason ?? '');
    assert.equal(currentVersionDir(root), V2);
    assert.equal(await agentVersion(), V2);
    // The watcher saw the new version confirm (through the manager's call) and cleared the record.
    await waitFor('the upgrade record to be cleared', () => state.upgrade() === null, 30_000);
    assert.equal(state.counters().heartbeatsSent, 0, 'the agent never heartbeated by itself');
  });
});

/**
 * A copy of a Manager Initiated agent's state directory (a VM clone, a snapshot restored) that
 * answers the manager's call with a continuity token two rotations behind is refused and raises
 * the duplicate-computer alert. The manager tells it so on the call; with "reactivate cloned
 * Agents" on it asks to become a computer of its own (its one call to the manager) and serves its
 * new certificate, which the manager's next call reaches; off, it stays refused. Either way the
 * original, back on its address, is taken as itself. The copy answers at the original's address
 * (the original is stopped first): a copy at another address is never called (docs/deployment.md).
 */
describe('Manager Initiated: a cloned state directory is detected at the manager’s call', () => {
  let m: TestManager;
  const agents: RunningAgent[] = [];
  const start = (s: StateDir) => {
    const a = runAgent(s, logger, { finalHeartbeatTimeoutMs: 1_000 });
    agents.push(a);
    return a;
  };
  const lastCommunication = async (id: number) => (await m.manager.store.computers.get(id))!.lastCommunication ?? 0;
  const setting = async (value: string) =>
    assert.equal((await m.api('POST', `/api/systemsettings/${CLONED}`, { value })).status, 200);
  const duplicateAlerts = async (id: number) => {
    const list = (await m.api('GET', `/api/alerts?computer=${id}&type=duplicate-computer`)).json<V['AlertList']>()
      .alerts;
    return list.length > 0 ? list : null;
  };

  /**
   * Activates `hostName` listening on a port of its own, copies its state directory, lets the
   * original answer two calls (the copy's token is then neither the current one nor the one
   * before), stops it and starts the copy in its place.
   */
  const copyTakesOver = async (hostName: string) => {
    const port = await freePort();
    const a = await activateTestAgent(m, {
      policy: 'Listening',
      hostName,
      listener: { bindAddress: '127.0.0.1', port },
    });
    const id = a.activation().computerId;
    const copyDir = m.tempDir('palisade-clone-');
    rmSync(copyDir, { recursive: true });
    cpSync(a.dir, copyDir, { recursive: true, preserveTimestamps: true });
    const b = new StateDir(copyDir);
    const original = start(a);
    const seen: string[] = [];
    await waitFor('two rotations through the manager’s calls', () => {
      const t = a.continuity();
      if (t && t !== seen.at(-1)) seen.push(t);
      return seen.length >= 3;
    });
    await original.stop('the copy takes its place');
    const last = await lastCommunication(id);
    const computers = (await m.manager.store.computers.list()).length;
    return { a, b, id, port, last, computers, copy: start(b) };
  };

  /** The original, back on its address, is called and taken as itself. */
  const originalCarriesOn = async (a: StateDir, id: number, since: number) => {
    const again = start(a);
    await waitFor('the original to be called again', async () => (await lastCommunication(id)) > since);
    assert.equal(again.ended, null);
    assert.equal(a.activation().computerId, id);
    await again.stop('done');
  };

  before(async () => {
    m = await startTestManager({ heartbeatIntervalSeconds: 1 });
    await managerInitiatedPolicy(m, 'Listening');
  });
  after(async () => {
    await Promise.allSettled(agents.map((a) => a.stop('test over')));
    await m.close();
  });

  test('"reactivate cloned Agents" false: the copy is refused (AGENT_CLONED) with the alert and stays so', async () => {
    await setting('false');
    try {
      const { a, b, id, port, last, computers, copy } = await copyTakesOver('mi-refused');
      const alerts = await waitFor('the duplicate-computer alert', () => duplicateAlerts(id));
      assert.equal(alerts[0]?.name, 'Duplicate Computer Detected');
      // Refused at the next call as well: the copy did not ask, nothing of it was stored.
      const refusals = async () => (await m.manager.store.dialTargets.get(id))?.lastDialError ?? '';
      await waitFor('a refusal the copy was told of', async () =>
        /AGENT_CLONED: .*told the agent: .*reactivating cloned agents is off/.test(await refusals()),
      );
      // A refusal counts only on the connection whose report it refuses: one on its own is turned away.
      const forged = await postAsManager(m, port, '/agent-listener/v1/refused', {
        protocolVersion: 1,
        exchangeId: 'not-on-this-connection',
        code: 'AGENT_CLONED',
        message: 'forged',
        reactivate: true,
      });
      assert.deepEqual(forged, { status: 409, code: 'EXCHANGE_NOT_ON_THIS_CONNECTION' });
      const dialled = (await m.manager.store.dialTargets.get(id))?.lastDialAt ?? 0;
      await waitFor(
        'another call, refused',
        async () => ((await m.manager.store.dialTargets.get(id))?.lastDialAt ?? 0) > dialled,
      );
      assert.equal(await lastCommunication(id), last, 'nothing of the copy stored');
      assert.equal((await m.manager.store.computers.list()).length, computers, 'no computer was made');
      assert.equal(b.counters().heartbeatsSent, 0);
      assert.equal(b.activation().computerId, id, 'the copy keeps what it had');
      assert.equal(copy.ended, null);
      await copy.stop('done');
      await originalCarriesOn(a, id, last);
    } finally {
      await setting('true');
    }
  });

  test('"reactivate cloned Agents" true: the copy becomes a computer of its own, called at its listener', async () => {
    const { a, b, id, last, computers, copy } = await copyTakesOver('mi-copy');
    await waitFor('the copy to be activated as another computer', () => b.activation().computerId !== id);
    const cloneId = b.activation().computerId;
    assert.notEqual(b.hostIdentity(), a.hostIdentity(), 'the copy was given an identity of its own');
    assert.notEqual(b.credentials().cert, a.credentials().cert);
    // Its listener serves the new certificate: the manager's next call reaches it as the new computer.
    const activatedAt = await lastCommunication(cloneId);
    await waitFor('the manager to call the copy as its own computer', async () => {
      const c = await m.manager.store.computers.get(cloneId);
      return (c?.lastCommunication ?? 0) > activatedAt && c?.agentVersion !== null;
    });
    assert.equal(
      (await m.api('GET', `/api/computers/${cloneId}`)).json<V['Computer']>().computerStatus.agentStatusMessages[0],
      'Managed (Online)',
    );
    assert.equal(b.counters().heartbeatsSent, 0, 'the copy never heartbeated: it made the one reactivation call');
    assert.equal(copy.ended, null);
    assert.equal((await m.manager.store.computers.list()).length, computers + 1);
    assert.equal((await duplicateAlerts(id))?.[0]?.name, 'Duplicate Computer Detected');
    // The original keeps its record (id, identity) and is taken as itself once back.
    assert.equal(await lastCommunication(id), last, 'nothing of the copy stored on the original');
    assert.equal((await m.manager.store.computers.get(id))?.state, 'active');
    await copy.stop('done');
    await originalCarriesOn(a, id, last);
  });
});
