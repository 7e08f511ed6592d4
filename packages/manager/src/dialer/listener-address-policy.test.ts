import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseDestinationAllowList } from '@palisade/core';
import pino from 'pino';
import { HeartbeatIngest } from '../ingest.js';
import { openInitializedStore } from '../manager.js';
import type { CertificateAuthority } from '../pki/certificate-authority.js';
import { ConfigurationService } from '../services/configuration-service.js';
import type { Store } from '../store/store.js';
import { enrolTestComputer } from '../testing/enrol-test-computer.js';
import { recordTestHeartbeat } from '../testing/record-test-heartbeat.js';
import { Dialer } from './dialer.js';
import { AGENT_LISTENER_ALLOW_LIST_SETTING, listenerDialAddress } from './listener-address-policy.js';

test('the announced address is dialled when it is the agent’s own or listed; a name is judged by what it resolves to', async () => {
  const none = parseDestinationAllowList('');
  assert.deepEqual(await listenerDialAddress(none, { announced: null, lastIp: '::ffff:127.0.0.1', port: 4118 }), {
    address: '127.0.0.1',
  });
  assert.deepEqual(await listenerDialAddress(none, { announced: '127.0.0.1', lastIp: '127.0.0.1', port: 4118 }), {
    address: '127.0.0.1',
  });
  const refused = await listenerDialAddress(none, { announced: '127.0.0.2', lastIp: '127.0.0.1', port: 4118 });
  assert.ok('refusal' in refused);
  assert.match(
    refused.refusal,
    /announced listener address 127\.0\.0\.2 port 4118, which is neither .*\(127\.0\.0\.1\)/,
  );
  const listed = parseDestinationAllowList('127.0.0.0/24:4118');
  assert.deepEqual(await listenerDialAddress(listed, { announced: '127.0.0.2', lastIp: '127.0.0.1', port: 4118 }), {
    address: '127.0.0.2',
  });
  assert.ok('refusal' in (await listenerDialAddress(listed, { announced: '127.0.0.2', lastIp: null, port: 22 })));
  const byName = await listenerDialAddress(none, { announced: 'localhost', lastIp: '10.9.9.9', port: 4118 });
  assert.ok(
    'refusal' in byName && /localhost \(/.test(byName.refusal),
    'resolved, and its addresses are not the agent’s',
  );
});

describe('the dialer calls an announced listener address only where the operator allows', () => {
  let dir: string;
  let store: Store;
  let ca: CertificateAuthority;
  let server: Server;
  let port: number;
  let accepted = 0;
  let dialer: Dialer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-listener-address-'));
    ({ store, ca } = await openInitializedStore(dir));
    // Something on 127.0.0.2 (another host, as far as the agent on 127.0.0.1 goes) that counts who calls.
    server = createServer((s) => {
      accepted += 1;
      s.on('error', () => {});
      s.destroy();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.2', r));
    port = (server.address() as { port: number }).port;
    const logger = pino({ level: 'silent' });
    const configurations = new ConfigurationService(60);
    const issued = await ca.issueManagerClientCertificate('test-node');
    dialer = new Dialer({
      store,
      ingest: new HeartbeatIngest({ store, configurations, heartbeatIntervalSeconds: 60, logger }),
      identity: { key: issued.privateKey, cert: issued.certificate, ca: ca.certificatePem },
      heartbeatIntervalSeconds: 60,
      logger,
      options: { concurrency: 2, pollIntervalMs: 60_000, requestTimeoutMs: 5_000 },
    });
  });
  after(async () => {
    await dialer.close();
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('an agent on 127.0.0.1 announcing 127.0.0.2 is not dialled, and its computer says why; listed, it is', async () => {
    const { id } = await enrolTestComputer(store, { hostName: 'announcer', certSerial: 'ANNOUNCER' });
    await recordTestHeartbeat(store, id, { now: 0, offlineDeadline: 123_456, lastIp: '127.0.0.1' });
    await store.dialTargets.noteContact({
      computerId: id,
      expectedDirection: 'manager-initiated',
      defaultPort: 4118,
      communication: { direction: 'manager-initiated', listener: { address: '127.0.0.2', port } },
      now: 0,
      nextScheduledAt: 1,
    });
    const refused = await dialer.dialNow(id, 'test');
    assert.equal(refused.failure, 'address-refused');
    assert.match(
      refused.error ?? '',
      new RegExp(`127\\.0\\.0\\.2 port ${port}, which is neither.*${AGENT_LISTENER_ALLOW_LIST_SETTING}`),
    );
    assert.equal(accepted, 0, 'nothing connected to 127.0.0.2');
    assert.match((await store.dialTargets.get(id))?.lastDialError ?? '', /not dialled: the agent announced/);

    await store.systemSettings.set(AGENT_LISTENER_ALLOW_LIST_SETTING, `127.0.0.2:${port}`);
    const listed = await dialer.dialNow(id, 'test');
    assert.notEqual(listed.failure, 'address-refused');
    assert.equal(accepted, 1, 'dialled once listed (it hangs up: no agent there)');
  });
});
