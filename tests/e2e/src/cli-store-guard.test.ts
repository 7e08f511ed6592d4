import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { MANAGER_BIN, REPO_ROOT, runCli, startManagerProcess } from './cli.js';

/** Runs a line as printed, in a POSIX shell from the repository (where `npx palisade-…` resolves). */
function shell(line: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', line], { cwd: REPO_ROOT, timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

describe('CLI: a mistyped --data-dir, and the banner after a restart (issue 12, item 11)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-guard-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('commands other than start refuse a data dir or store that is not there, and create nothing', async () => {
    const typo = join(dir, 'dtaa');
    for (const args of [
      ['token', 'create', '--policy', 'Base Policy'],
      ['token', 'list'],
      ['apikey', 'create', '--name', 'x'],
      ['apikey', 'list'],
      ['ca', 'fingerprint'],
      ['tls', 'set', '--policy', 'modern'],
      ['tls', 'check'],
      ['user', 'list'],
      ['deployment-script', '--platform', 'linux', '--manager-host', 'mgr.example'],
    ]) {
      const r = await runCli(MANAGER_BIN, [...args, '--data-dir', typo]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /no data dir at .*dtaa: check --data-dir/, args.join(' '));
      assert.equal(r.stdout, '', args.join(' '));
    }
    assert.equal(existsSync(typo), false);
    const r = await runCli(MANAGER_BIN, ['ca', 'fingerprint', '--data-dir', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no store at .*palisade\.db/);
  });

  test('after a restart the banner prints an activation command that works as printed', async () => {
    // Started from another folder with a relative --data-dir: the command must still find it.
    const args = ['--data-dir', 'data', '--hostname', 'localhost', '--bind', '127.0.0.1'];
    const ports = ['--api-port', '0', '--heartbeat-port', '0'];
    const first = await startManagerProcess([...args, ...ports], 60_000, {}, dir);
    assert.equal(await first.stop(), 0);
    const again = await startManagerProcess([...args, ...ports], 60_000, {}, dir);
    try {
      assert.doesNotMatch(again.banner, /pat_/, 'no first-run token after a restart');
      const line = /^ {2}(npx palisade-agent activate .*)$/m.exec(again.banner)![1]!;
      assert.ok(line.includes(`--data-dir ${join(dir, 'data')}`), line);
      const r = await shell(line.replace('./agent-state', join(dir, 'agent-state')));
      assert.equal(r.code, 0, `${line}\n${r.stderr}`);
      assert.match(r.stdout, /^Activated: computer \d+/);
    } finally {
      assert.equal(await again.stop(), 0);
    }
  });
});
