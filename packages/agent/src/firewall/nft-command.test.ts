import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runNft } from './nft-command.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-nft-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Timers this process holds now (what keeps a one-shot command from exiting). */
const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

test('nft missing from PATH: "missing" at once, no timer left behind, and the reason does not print the PATH', async () => {
  const path = join(dir, 'a-long-private-path-entry');
  const before = timers();
  const r = await runNft(['list', 'tables'], null, { env: { PATH: path }, timeoutMs: 60_000 });
  assert.equal(r.ok, false);
  assert.equal((r as { failure: string }).failure, 'missing');
  // spawn's own `timeout` option left a 60 s timer here: the process could not exit until it fired.
  assert.equal(timers(), before, 'a timer outlived the nft call');
  assert.doesNotMatch((r as { reason: string }).reason, /a-long-private-path-entry|PATH=/);
});

test('an nft that hangs is killed at the timeout and reported as failed, its timer gone', async () => {
  const nft = join(dir, 'hanging-nft');
  writeFileSync(nft, '#!/bin/sh\nexec sleep 30\n');
  chmodSync(nft, 0o755);
  const before = timers();
  const r = await runNft(['list', 'tables'], null, { command: nft, env: { PATH: '/usr/bin:/bin' }, timeoutMs: 300 });
  assert.equal(r.ok, false);
  assert.match((r as { reason: string }).reason, /killed by SIG/);
  assert.equal(timers(), before);
});
