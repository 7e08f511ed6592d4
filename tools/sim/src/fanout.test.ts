import assert from 'node:assert/strict';
import { request } from 'node:https';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { issueActivationToken, type RunningManager } from '@palisade/manager';
import { Identities } from './identities.js';
import { listenAddress } from './listen-address.js';
import { activateArgs, simJson as sim, startTestManager, tempDirs } from './sim-testing.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const AGENTS = 6;

test('listenAddress: one loopback address per agent, none shared', () => {
  assert.equal(listenAddress(1), '127.64.0.1');
  assert.equal(listenAddress(256), '127.64.1.0');
  assert.equal(listenAddress(65_536), '127.65.0.0');
  assert.equal(new Set(Array.from({ length: 70_000 }, (_, i) => listenAddress(i + 1))).size, 70_000);
  assert.throws(() => listenAddress(0), RangeError);
});

// Small N and no timing asserted: every listening agent gets the change through its own
// listener, called by the manager's dialer, and the manager sees it applied.
describe('fan-out at small N: a policy change reaches every listening simulated agent through the dialer', () => {
  const temps = tempDirs();
  let manager: RunningManager;
  let baseId: number;
  let fleetDir: string;
  const fleet = () => join(fleetDir, 'fleet');
  const api = (method: string, path: string, body?: unknown) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        {
          host: '127.0.0.1',
          port: manager.apiPort,
          method,
          path,
          ca: manager.ca.certificatePem,
          servername: 'localhost',
          headers: {
            'api-secret-key': manager.firstRun.apiKey ?? '',
            'api-version': 'v1',
            ...(payload ? { 'content-type': 'application/json' } : {}),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const setPolicy = async (name: string, value: string) => {
    const r = await api('POST', `/api/policies/${baseId}/settings/${name}`, { value });
    assert.equal(r.status, 200, r.body);
  };

  before(async () => {
    manager = await startTestManager(temps.make('palisade-fanout-mgr-'));
    fleetDir = temps.make('palisade-fanout-fleet-');
    // The simulated agents connect from 127.0.0.1 and announce listeners on 127.64.x.y: the
    // dialer calls announced addresses only where the operator allows (docs/security.md).
    await manager.store.systemSettings.set('palisadeSettingAgentListenerAddressAllowList', '127.64.0.0/10');
    baseId = (await manager.store.policies.ensureBase(Date.now())).id;
    await setPolicy(DIRECTION, 'Bidirectional');
    const { token } = await issueActivationToken(
      manager.store,
      { policyId: baseId, maxUses: null, ttlMs: 3_600_000, description: 'fan-out test' },
      'test',
      Date.now(),
    );
    const r = await sim([...activateArgs(manager, token, AGENTS, fleet()), '--processes', '2']);
    assert.equal(r.ok, AGENTS, JSON.stringify(r.errors));
  });
  after(async () => {
    await manager?.close();
    temps.removeAll();
  });

  test('each agent listens on its own address, the change is dialled to all, applied = expected', async () => {
    let ready: () => void = () => {};
    const listening = new Promise<void>((r) => (ready = r));
    const run = sim(
      ['listen', '--dir', fleet(), '--duration', '120', '--until-applied', '1', '--processes', '2'],
      (s) => {
        if (/agents listening/.test(s)) ready();
      },
    );
    await Promise.race([listening, run.then(() => assert.fail('listen ended before its listeners were open'))]);
    // Every agent announced its listener by a heartbeat (none did at activation).
    for (const c of await manager.store.computers.list()) {
      const target = await manager.store.dialTargets.get(c.id);
      assert.match(target?.listener?.address ?? '', /^127\.64\.0\.\d+$/, `${c.hostName} announced its own address`);
    }
    await setPolicy('firewallSettingState', 'Off');
    const r = await run;
    assert.deepEqual(r.errors, {});
    assert.equal(r.listening, AGENTS);
    assert.equal(r.appliedAt?.length, AGENTS, 'every agent applied the change through its listener');
    assert.ok(r.ok >= AGENTS, 'the manager called each one');
    // The agent applied the change before it sent its results; the manager stores them (and so
    // the applied fingerprint) once they arrive and commit, which may be after the listeners
    // closed. Wait for that, bounded, rather than race it.
    const until = Date.now() + 30_000;
    const allApplied = async () =>
      (await manager.store.computers.list()).every(
        (c) => c.expectedFingerprint !== null && c.appliedFingerprint === c.expectedFingerprint,
      );
    while (!(await allApplied()) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    const identities = new Identities(fleet());
    const kept = new Map(
      identities.indices().map((i) => [identities.load(i).computerId, identities.load(i).fingerprint]),
    );
    for (const c of await manager.store.computers.list()) {
      assert.ok(c.expectedFingerprint, `${c.hostName} has an expected fingerprint`);
      assert.equal(c.appliedFingerprint, c.expectedFingerprint, `${c.hostName} applied what the manager expects`);
      // Kept for the next run, as an agent keeps its applied configuration.
      assert.equal(kept.get(c.id), c.expectedFingerprint, `${c.hostName}'s applied fingerprint is stored`);
    }
  });
});
