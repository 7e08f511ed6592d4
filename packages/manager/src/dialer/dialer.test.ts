import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import { HeartbeatIngest } from '../ingest.js';
import { openInitializedStore } from '../manager.js';
import type { CertificateAuthority } from '../pki/certificate-authority.js';
import { ConfigurationService } from '../services/configuration-service.js';
import type { Store } from '../store/store.js';
import { enrolTestComputer } from '../testing/enrol-test-computer.js';
import { recordTestHeartbeat } from '../testing/record-test-heartbeat.js';
import { Dialer } from './dialer.js';

describe('dialer: a bounded pool over due work in the store', () => {
  const INTERVAL_S = 60;
  const COMPUTERS = 20;
  const CONCURRENCY = 4;
  let dir: string;
  let store: Store;
  let ca: CertificateAuthority;
  let targets: Store['dialTargets'];
  let server: Server;
  let port: number;
  let open = 0;
  let peak = 0;
  let accepted = 0;
  const ids: number[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-dialer-pool-'));
    ({ store, ca } = await openInitializedStore(dir));
    targets = store.dialTargets;
    // A "listener" that accepts and then says nothing for a while: each call occupies a worker.
    server = createServer((s: Socket) => {
      accepted += 1;
      open += 1;
      peak = Math.max(peak, open);
      s.on('error', () => {});
      s.on('close', () => (open -= 1));
      setTimeout(() => s.destroy(), 300);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
    for (let i = 0; i < COMPUTERS; i++) {
      const { id } = await enrolTestComputer(store, { hostName: `h${i}`, certSerial: `SERIAL${i}` });
      await recordTestHeartbeat(store, id, { now: 0, offlineDeadline: 123_456, lastIp: '127.0.0.1' });
      ids.push(id);
      await targets.noteContact({
        computerId: id,
        expectedDirection: 'manager-initiated',
        defaultPort: 4118,
        communication: { direction: 'manager-initiated', listener: { port } },
        now: 0,
        nextScheduledAt: 1,
      });
    }
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test(`${COMPUTERS} due computers are called at most ${CONCURRENCY} at a time, each once; a failed call is a missed heartbeat, due again one interval later`, async () => {
    const logger = pino({ level: 'silent' });
    const configurations = new ConfigurationService(INTERVAL_S);
    const ingest = new HeartbeatIngest({
      store,
      configurations,
      heartbeatIntervalSeconds: INTERVAL_S,
      logger,
    });
    const issued = await ca.issueManagerClientCertificate('test-node');
    const dialer = new Dialer({
      store,
      ingest,
      identity: { key: issued.privateKey, cert: issued.certificate, ca: ca.certificatePem },
      heartbeatIntervalSeconds: INTERVAL_S,
      logger,
      options: { concurrency: CONCURRENCY, pollIntervalMs: 50, requestTimeoutMs: 5_000 },
    });
    const started = Date.now();
    dialer.start();
    try {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const rows = await Promise.all(ids.map((id) => targets.get(id)));
        if (rows.every((t) => t!.lastDialAt !== null && t!.claimedUntil === null)) break;
        assert.ok(Date.now() < deadline, 'every computer called within a minute');
        assert.ok(dialer.active <= CONCURRENCY, `at most ${CONCURRENCY} exchanges running (${dialer.active})`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await dialer.close();
    }
    assert.ok(peak <= CONCURRENCY, `at most ${CONCURRENCY} connections open at once (saw ${peak})`);
    assert.ok(peak >= 2, `the pool did run calls side by side (saw ${peak})`);
    assert.equal(accepted, COMPUTERS, 'each computer called once: a claimed row is not claimed again');
    for (const id of ids) {
      const t = (await targets.get(id))!;
      assert.equal(t.dialFailures, 1);
      assert.ok(t.lastDialError, 'the reason is kept');
      assert.ok(
        t.nextDialAt! >= started + 0.9 * INTERVAL_S * 1000,
        'tried again about one interval later, not at once',
      );
      assert.equal((await store.computers.get(id))!.offlineDeadline, 123_456, 'its offline deadline is not extended');
    }
  });
});
