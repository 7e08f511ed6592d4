import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { currentVersionDir, installPackage, installRootOf, switchCurrent, upgradeConfirmSeconds } from './upgrade.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-upgrade-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A tar.gz of `entries` (path → content) made with tar(1), as a package is. */
function tarball(name: string, entries: Record<string, string>): string {
  const stage = join(dir, `stage-${name}`);
  for (const [path, body] of Object.entries(entries)) {
    mkdirSync(join(stage, path, '..'), { recursive: true });
    writeFileSync(join(stage, path), body, { mode: 0o755 });
  }
  const file = join(dir, `${name}.tar.gz`);
  execFileSync('tar', ['-czf', file, '-C', stage, ...readdirSync(stage)]);
  return file;
}

test('a package is unpacked beside the others; current switches by one rename', () => {
  const root = join(dir, 'opt');
  mkdirSync(join(root, 'versions'), { recursive: true });
  installPackage(root, tarball('a', { 'palisade-agent-1.0.0/palisade-agent': '#!/bin/sh\n' }), '1.0.0');
  switchCurrent(root, '1.0.0');
  installPackage(root, tarball('b', { 'palisade-agent-1.1.0/palisade-agent': '#!/bin/sh\n' }), '1.1.0');
  assert.equal(currentVersionDir(root), '1.0.0', 'installing does not switch');
  switchCurrent(root, '1.1.0');
  assert.equal(readlinkSync(join(root, 'current')), join('versions', '1.1.0'));
  assert.deepEqual(readdirSync(join(root, 'versions')).sort(), ['1.0.0', '1.1.0'], 'no partial folder left');
  assert.deepEqual(
    readdirSync(root).filter((n) => n.startsWith('.current')),
    [],
    'no temporary link left',
  );
  assert.equal(installRootOf(join(root, 'versions', '1.1.0', 'palisade-agent')), root);
  assert.equal(installRootOf(join(dir, 'node')), null, 'not run from an install folder');
});

test('a package with anything outside its folder, or without an executable, is refused and leaves nothing', () => {
  const root = join(dir, 'opt2');
  mkdirSync(join(root, 'versions'), { recursive: true });
  assert.throws(
    () =>
      installPackage(
        root,
        tarball('c', { 'palisade-agent-2.0.0/palisade-agent': 'x', 'elsewhere/evil': 'x' }),
        '2.0.0',
      ),
    /holds "elsewhere\/.*", outside its folder palisade-agent-2\.0\.0\//,
  );
  assert.throws(
    () => installPackage(root, tarball('d', { 'palisade-agent-2.0.0/README.md': 'x' }), '2.0.0'),
    /could not unpack the package/,
  );
  assert.deepEqual(readdirSync(join(root, 'versions')), []);
});

test('the confirmation bound: default 120 s, the environment within 5..3600', () => {
  assert.equal(upgradeConfirmSeconds({}), 120);
  assert.equal(upgradeConfirmSeconds({ PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS: '30' }), 30);
  assert.equal(upgradeConfirmSeconds({ PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS: '1' }), 120);
  assert.equal(upgradeConfirmSeconds({ PALISADE_AGENT_UPGRADE_CONFIRM_SECONDS: 'soon' }), 120);
});
