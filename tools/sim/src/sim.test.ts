import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { RunningManager } from '@palisade/manager';
import { main } from './cli.js';
import { Identities } from './identities.js';
import { activateArgs, simJson, startTestManager, tempDirs } from './sim-testing.js';
import { isAllowedTarget } from './target-guard.js';

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

describe('palisade-sim against a real manager (loopback, real TLS, worker processes)', () => {
  let manager: RunningManager;
  const temps = tempDirs();
  const temp = (p: string) => temps.make(p);
  let fleet: string;

  before(async () => {
    manager = await startTestManager(temp('palisade-sim-mgr-'));
    fleet = join(temp('palisade-sim-fleet-'), 'fleet');
  });
  after(async () => {
    await manager?.close();
    temps.removeAll();
  });

  /** `palisade-sim run` on the fleet, bounded by a heartbeat count (and 60 s). */
  const runFleet = (heartbeats: number, processes: number, concurrency: number, ...extra: string[]) =>
    simJson([
      'run',
      '--dir',
      fleet,
      '--duration',
      '60',
      '--max-heartbeats',
      String(heartbeats),
      '--processes',
      String(processes),
      '--concurrency',
      String(concurrency),
      ...extra,
    ]);

  test('activate: N agents, each its own key and certificate, kept 0600 for reuse', async () => {
    const result = await simJson([
      ...activateArgs(manager, manager.firstRun.activationToken!, 4, fleet),
      '--processes',
      '2',
      '--concurrency',
      '2',
    ]);
    assert.equal(result.ok, 4);
    assert.deepEqual(result.errors, {});
    const ids = new Identities(fleet);
    assert.deepEqual(ids.indices(), [1, 2, 3, 4]);
    const computers = await manager.store.computers.list();
    assert.equal(computers.length, 4);
    assert.equal(new Set(computers.map((c) => c.certSerial)).size, 4, 'one certificate each');
    assert.equal(statSync(join(fleet, 'agents', '0000001.json')).mode & 0o777, 0o600);
  });

  test('run: a bounded number of heartbeats, all stored, sessions resumed after the first', async () => {
    const result = await runFleet(12, 2, 2);
    assert.equal(result.ok, 12);
    assert.deepEqual(result.errors, {});
    assert.equal(result.handshakes.full + result.handshakes.resumed, 12);
    assert.ok(result.handshakes.resumed > 0, `resumed: ${JSON.stringify(result.handshakes)}`);
    assert.ok(result.latencyMs.p50 !== null && result.latencyMs.p99 !== null);
    for (const c of await manager.store.computers.list()) assert.ok(c.lastCommunication !== null, c.hostName);
  });

  test('each agent holds a host identity and the continuity token the manager rotates at every exchange', async () => {
    const ids = new Identities(fleet);
    const tokens = async () =>
      Promise.all(
        ids.indices().map(async (i) => {
          const held = ids.continuity(i);
          const id = await manager.store.computers.identityOf(ids.load(i).computerId);
          assert.ok(ids.load(i).hostIdentity, `agent ${i} has a host identity`);
          assert.ok(held.current, `agent ${i} holds a token`);
          // The manager keeps hashes only (SHA-256): the agent's token is the one it holds as current.
          assert.equal(id?.continuityCurrent, createHash('sha256').update(held.current).digest('hex'));
          return held.current;
        }),
      );
    const before = await tokens();
    // A second run presents the tokens the first left: every exchange accepted (a stale token
    // would be refused as a copy of the host), every token rotated again.
    const again = await runFleet(4, 1, 1, '--agents', '4');
    assert.equal(again.ok, 4);
    assert.deepEqual(again.errors, {});
    const after = await tokens();
    assert.equal(after.filter((t, i) => t !== before[i]).length, 4, 'each agent got a new token');
  });

  test('usage errors exit 2 with the reason; an activated fleet is needed to run', async () => {
    const tooMany = await run([
      'activate',
      'dsm://localhost:1/',
      '--token',
      't',
      '--ca-fingerprint',
      manager.caFingerprint,
      '--count',
      '1000000',
      '--dir',
      fleet,
    ]);
    assert.equal(tooMany.code, 2);
    assert.match(tooMany.stderr, /--count takes a whole number from 1 to 100000/);
    const noDuration = await run(['run', '--dir', fleet]);
    assert.equal(noDuration.code, 2);
    assert.match(noDuration.stderr, /--duration is required/);
    const empty = await run(['run', '--dir', temp('palisade-sim-empty-'), '--duration', '1']);
    assert.equal(empty.code, 1);
    assert.match(empty.stderr, /holds no fleet/);
  });

  test('refuses targets outside loopback and the test range', async () => {
    const r = await run([
      'activate',
      'dsm://192.0.2.10:4120/',
      '--token',
      't',
      '--ca-fingerprint',
      manager.caFingerprint,
      '--count',
      '1',
      '--dir',
      temp('palisade-sim-x-'),
    ]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /only loads managers on loopback/);
  });
});

test('allowed targets: 127.0.0.0/8, ::1, 198.18.0.0/15 only', () => {
  for (const a of ['127.0.0.1', '127.200.3.4', '::1', '::ffff:127.0.0.1', '198.18.0.1', '198.19.255.254'])
    assert.ok(isAllowedTarget(a), a);
  for (const a of ['10.0.0.1', '192.168.1.1', '198.20.0.1', '8.8.8.8', '::2', 'localhost'])
    assert.equal(isAllowedTarget(a), false, a);
});
