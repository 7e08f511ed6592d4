import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { loadMasterKeyFile } from './master-key-file.js';

describe('master key file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-mkey-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('created 0600 with one key when allowed; the same key on the next load', () => {
    const path = join(dir, 'master.key');
    const first = loadMasterKeyFile(path, { mayCreate: true, owned: true });
    assert.equal(first.created, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const again = loadMasterKeyFile(path, { mayCreate: true, owned: true });
    assert.equal(again.created, false);
    assert.equal(again.box.keyId, first.box.keyId);
    const sealed = first.box.seal('x', 'p');
    assert.equal(again.box.openText(sealed, 'p'), 'x');
  });

  test('missing when secrets depend on it: an error saying to restore it, and no new key', () => {
    const path = join(dir, 'absent.key');
    assert.throws(() => loadMasterKeyFile(path, { mayCreate: false, owned: true }), /is missing.*restore/);
    assert.throws(() => statSync(path), /ENOENT/);
  });

  test('a loose mode is tightened on the manager’s own file, refused on one the operator placed', () => {
    const path = join(dir, 'loose.key');
    loadMasterKeyFile(path, { mayCreate: true, owned: true });
    chmodSync(path, 0o644);
    assert.throws(() => loadMasterKeyFile(path, { mayCreate: false, owned: false }), /readable by group or others/);
    const fixed = loadMasterKeyFile(path, { mayCreate: false, owned: true });
    assert.equal(fixed.modeFixed, true);
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });

  test('a line that is not a key is named', () => {
    const path = join(dir, 'bad.key');
    writeFileSync(path, '# comment\nnot-a-key\n', { mode: 0o600 });
    assert.throws(() => loadMasterKeyFile(path, { mayCreate: false, owned: true }), /line 2: not a key/);
    const good = join(dir, 'master.key');
    const rotated = join(dir, 'rotated.key');
    const old = readFileSync(good, 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))[0]!;
    writeFileSync(rotated, `${Buffer.alloc(32, 7).toString('base64')}\n${old}\n`, { mode: 0o600 });
    const box = loadMasterKeyFile(rotated, { mayCreate: false, owned: false }).box;
    assert.equal(box.keyIds.length, 2);
    assert.equal(box.keyIds[1], loadMasterKeyFile(good, { mayCreate: false, owned: true }).box.keyId);
  });
});
