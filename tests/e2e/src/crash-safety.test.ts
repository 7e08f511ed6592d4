import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { activate, heartbeat, StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';

import { loopbackManagerArgs, startManagerProcess } from './cli.js';
import { httpsJson } from './harness.js';
import { freePort, waitFor } from './polling.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

test('the manager process killed (SIGKILL) after committing a heartbeat, before replying: after a restart every event is stored exactly once', async () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-crash-'));
  dirs.push(root);
  const dataDir = join(root, 'data');
  // The agent stores the manager's address at activation: the restarted manager must listen on the same port.
  const port = await freePort();
  const args = loopbackManagerArgs(dataDir, port, ['--heartbeat-interval-seconds', '2']);

  // First life: every heartbeat reply is held for a minute after its commit (a documented
  // test-only hook), which is where the manager dies.
  const first = await startManagerProcess(args, 60_000, { PALISADE_TEST_HOLD_HEARTBEAT_REPLY_MS: '60000' });
  let killed = false;
  try {
    const { token, caFingerprint: fingerprint, apiKey } = first;
    assert.ok(token && fingerprint && apiKey, first.banner);

    const agent = new StateDir(join(root, 'agent'));
    await activate(agent, {
      managerUrl: `dsm://localhost:${port}/`,
      token,
      caFingerprint: fingerprint,
      hostName: 'crashy',
    });
    // More than one heartbeat carries (500): the manager dies holding the first batch's reply.
    const spool = agent.spool();
    for (let i = 0; i < 1_200; i++) spool.append({ type: 'crash.test', severity: 'info', message: `event ${i}` });
    const last = spool.pending(10_000).at(-1)!.seq;

    const inFlight = heartbeat(agent).then(
      () => null,
      (e: Error) => e,
    );
    await waitFor(
      () => `the manager to commit the heartbeat and hold its reply; stderr: ${first.stderr()}`,
      () => /heartbeat committed; holding the reply/.test(first.stderr()),
      30_000,
      10,
    );
    const exited = new Promise((r) => first.proc.once('exit', r));
    first.proc.kill('SIGKILL');
    killed = true;
    await exited;
    const failure = await inFlight;
    assert.ok(failure instanceof Error, 'the heartbeat got no reply');
    assert.equal(
      agent.spool().size,
      1_200 + 1,
      'nothing acknowledged: the agent still holds every event (and its activation event)',
    );

    // Second life, same data dir and port, no hook.
    const second = await startManagerProcess(args);
    try {
      const { apiPort } = second;
      const events = (query: string) =>
        httpsJson(`https://localhost:${apiPort}/api/events?${query}`, agent.credentials().ca, {
          headers: { 'api-secret-key': apiKey },
        });
      const before = (await events('order=asc&limit=1000')).json<V['EventPage']>();
      assert.deepEqual(
        [before.events.length, before.events.at(-1)?.seq],
        [500, 500],
        'the first batch was committed before the kill: stored, never acknowledged',
      );
      const o = await heartbeat(agent);
      assert.equal(agent.spool().size, 0, 'all acknowledged');
      assert.equal(o.eventsAcknowledgedThrough, last);
      assert.ok(o.exchanges >= 3, 'the whole spool went again, in batches');

      // Every event, once: read back through the events API.
      const seqs: number[] = [];
      let cursor: string | null = null;
      do {
        const r = await events(`computer=${o.computerId}&order=asc&limit=1000${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200, JSON.stringify(r.body));
        const page = r.json<V['EventPage']>();
        seqs.push(...page.events.map((e) => e.seq));
        cursor = page.nextCursor;
      } while (cursor);
      assert.equal(seqs.length, last, 'as many stored as the agent numbered');
      assert.deepEqual(
        seqs,
        Array.from({ length: last }, (_, i) => i + 1),
        'each seq once, none missing',
      );
    } finally {
      await second.stop();
    }
  } finally {
    if (!killed) await first.stop();
  }
});
