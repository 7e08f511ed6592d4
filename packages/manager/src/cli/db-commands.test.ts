import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openInitializedStore } from '../manager.js';
import { main } from './cli.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-dbcopy-'));
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

test('db copy: a manager store into an empty one, counts printed; a second copy into it refused', async () => {
  const from = `sqlite:${join(dir, 'old.db')}`;
  // A store as a first start leaves it: schema, Base Policy, CA, plus a token. Only `start`
  // creates a store, so it is made here the way start makes it.
  await (await openInitializedStore(dir, from)).store.close();
  assert.equal((await run('token', 'create', '--policy', 'Base Policy', '--db', from, '--data-dir', dir)).code, 0);
  const to = `sqlite:${join(dir, 'new.db')}`;
  const r = await run('db', 'copy', '--from', from, '--to', to);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^certificate_authority\s+1$/m);
  assert.match(r.stdout, /^activation_tokens\s+1$/m);
  assert.match(r.stderr, /every table's count matches the source/);
  const fingerprint = async (db: string) => (await run('ca', 'fingerprint', '--db', db, '--data-dir', dir)).stdout;
  assert.equal(await fingerprint(to), await fingerprint(from), 'the same CA');
  const again = await run('db', 'copy', '--from', from, '--to', to);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /the target is not empty/);
});

test('db copy: what it needs, said in one line', async () => {
  assert.match((await run('db', 'copy', '--from', 'sqlite:x.db')).stderr, /--from sqlite:PATH and --to postgres:/);
  const same = await run('db', 'copy', '--from', 'sqlite:x.db', '--to', 'sqlite:x.db');
  assert.match(same.stderr, /the same store/);
  const none = await run(
    'db',
    'copy',
    '--from',
    `sqlite:${join(dir, 'absent.db')}`,
    '--to',
    `sqlite:${join(dir, 'n.db')}`,
  );
  assert.equal(none.code, 1);
  assert.match(none.stderr, /absent\.db: no such file/);
  assert.match((await run('db', 'copy', '--from', 'mysql://x/y', '--to', 'sqlite:y.db')).stderr, /not a store URL/);
});
