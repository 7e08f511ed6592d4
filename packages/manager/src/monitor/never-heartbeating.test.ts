import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { offlineDeadline } from '@palisade/core';
import pino from 'pino';
import { HeartbeatIngest } from '../ingest.js';
import { openInitializedStore } from '../manager.js';
import { hashSecret, newSecret } from '../secrets.js';
import { ConfigurationService } from '../services/configuration-service.js';
import type { Store } from '../store/store.js';
import { sweepOffline } from './offline-sweep.js';

describe('a computer activated that never heartbeats (issue 12, item 10)', () => {
  const INTERVAL = 60;
  let dir: string;
  let store: Store;
  const configurations = new ConfigurationService(INTERVAL);
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-never-'));
    ({ store } = await openInitializedStore(dir));
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('goes Offline, with its alert, (threshold + 1) intervals after activation', async () => {
    const activatedAt = Date.now();
    const ingest = new HeartbeatIngest({
      store,
      configurations,
      heartbeatIntervalSeconds: INTERVAL,
      logger: pino({ level: 'silent' }),
      now: () => activatedAt,
    });
    const base = await store.policies.ensureBase(activatedAt);
    const tokenId = await store.activationTokens.create({
      tokenHash: hashSecret(newSecret('token')),
      policyId: base.id,
      maxUses: 1,
      expiresAt: null,
      now: activatedAt,
    });
    const effective = await configurations.forNewComputer(base.id, 'linux', store);
    const created = await ingest.activate(
      tokenId,
      {
        hostName: 'silent-1',
        platform: 'linux',
        agentVersion: '0.1.0',
        policyId: base.id,
        certSerial: 'silent-1',
        expectedFingerprint: effective.fingerprint,
        now: activatedAt,
      },
      effective,
      '127.0.0.1',
      undefined,
    );
    assert.notEqual(created, 'token-used-up');
    const id = (created as { id: number }).id;
    const deadline = offlineDeadline(activatedAt, INTERVAL);
    assert.equal(deadline, activatedAt + 3 * INTERVAL * 1000);

    const early = await sweepOffline(store, configurations, deadline - 1);
    assert.deepEqual(early.transitions, [], 'not before the deadline');
    const due = await sweepOffline(store, configurations, deadline);
    assert.deepEqual(
      due.transitions.map((t) => [t.computerId, t.lastCommunication]),
      [[id, null]],
    );
    const alerts = (await store.alerts.list({ computerId: id, limit: 10, offset: 0 })).alerts;
    assert.deepEqual(
      alerts.map((a) => a.type),
      ['computer-offline'],
    );
    assert.match(alerts[0]!.message, /no heartbeat since never/);
    const groups = await store.computers.statusCounts(deadline);
    assert.ok(
      groups.some((g) => g.offline && !g.deactivated),
      JSON.stringify(groups),
    );
    assert.ok(!(await store.computers.statusCounts(deadline - 1)).some((g) => g.offline));
  });
});
