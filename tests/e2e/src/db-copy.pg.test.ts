import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { activate, heartbeat, StateDir } from '@palisade/agent';
import { PostgresTestServer, postgresSkipReason } from '@palisade/manager/testing';
import { loopbackManagerArgs, MANAGER_BIN, runCli, startManagerProcess } from './cli.js';
import { httpsJson } from './harness.js';
import { freePort } from './polling.js';

/**
 * Outgrowing one node (docs/scale-out.md): a populated SQLite manager is copied into
 * PostgreSQL with `palisade-manager db copy`, and its agents heartbeat to the manager started
 * on the new store without reactivating. Under CI it must run, never skip.
 */
const skip = postgresSkipReason();
const root = mkdtempSync(join(tmpdir(), 'palisade-dbcopy-e2e-'));
let pg: PostgresTestServer | undefined;
after(async () => {
  await pg?.stop();
  rmSync(root, { recursive: true, force: true });
});

test('db copy of a populated SQLite manager into PostgreSQL: agents carry on without reactivating', {
  skip: skip ?? false,
}, async () => {
  pg = await PostgresTestServer.start();
  const dataDir = join(root, 'data');
  const port = await freePort();
  const args = (db: string[]) => [...db, ...loopbackManagerArgs(dataDir, port, ['--heartbeat-interval-seconds', '2'])];
  const old = await startManagerProcess(args([]));
  const { apiKey, token, caFingerprint: fingerprint } = old;
  const agents: StateDir[] = [];
  const ids: number[] = [];
  try {
    for (const host of ['moved-1', 'moved-2', 'moved-3']) {
      const s = new StateDir(join(root, host));
      await activate(s, { managerUrl: `dsm://localhost:${port}/`, token, caFingerprint: fingerprint, hostName: host });
      for (let i = 0; i < 5; i++) s.spool().append({ type: 'before.copy', severity: 'info', message: `e${i}` });
      ids.push((await heartbeat(s)).computerId);
      agents.push(s);
    }
  } finally {
    await old.stop();
  }

  const url = await pg.createDatabase('moved');
  const copy = await runCli(MANAGER_BIN, [
    'db',
    'copy',
    '--from',
    `sqlite:${join(dataDir, 'palisade.db')}`,
    '--to',
    url,
  ]);
  assert.equal(copy.code, 0, copy.stderr);
  assert.match(copy.stdout, /^computers\s+3$/m);
  assert.match(copy.stderr, /every table's count matches the source/);

  const moved = await startManagerProcess(args(['--db', url]));
  try {
    assert.match(moved.banner, new RegExp(`CA fingerprint: ${fingerprint}`), 'the same CA');
    for (const [i, s] of agents.entries()) {
      s.spool().append({ type: 'after.copy', severity: 'info', message: 'on PostgreSQL' });
      const out = await heartbeat(s);
      assert.equal(out.computerId, ids[i], 'the same computer, no reactivation');
      assert.equal(s.spool().size, 0);
    }
    const { apiPort } = moved;
    const ca = readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8');
    const list = await httpsJson(`https://localhost:${apiPort}/api/computers`, ca, {
      headers: { 'api-secret-key': apiKey },
    });
    assert.equal(list.status, 200, 'the old API key works on the new store');
    assert.deepEqual(
      list
        .json<{ computers: Array<{ ID: number }> }>()
        .computers.map((c) => c.ID)
        .sort(),
      [...ids].sort(),
    );
    const counts = await pg.query<{ type: string; n: number }>(
      'moved',
      "select type, count(*)::int as n from events where type in ('before.copy', 'after.copy') group by type order by type",
    );
    assert.deepEqual(counts, [
      { type: 'after.copy', n: 3 },
      { type: 'before.copy', n: 15 },
    ]);
  } finally {
    await moved.stop();
  }
});
