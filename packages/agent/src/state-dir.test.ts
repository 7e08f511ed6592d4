import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { AgentError } from './agent-error.js';
import { StateDir } from './state-dir.js';

const bootId = () => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

describe('one agent daemon per state directory', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-daemon-claim-'));
  const lock = join(dir, 'daemon.lock');
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('a live agent of this boot holds it: a second start is refused, naming its pid', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      writeFileSync(lock, `${other.pid}\n${bootId()}\n`);
      assert.throws(
        () => new StateDir(dir).claimDaemon(),
        (e: unknown) => e instanceof AgentError && e.code === 'AGENT_RUNNING' && e.message.includes(String(other.pid)),
      );
      assert.equal(readFileSync(lock, 'utf8'), `${other.pid}\n${bootId()}\n`, 'the holder keeps its claim');
    } finally {
      other.kill('SIGKILL');
      await once(other, 'exit');
    }
  });

  test('a claim left by a process that died is taken over, and released', async () => {
    const dead = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    await once(dead, 'exit');
    writeFileSync(lock, `${dead.pid}\n${bootId()}\n`);
    const release = new StateDir(dir).claimDaemon();
    assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n${bootId()}\n`);
    release();
    assert.throws(() => readFileSync(lock), /ENOENT/);
  });

  test('a claim from before a reboot is taken over even when its pid is alive now (recycled)', () => {
    // This test process's parent is alive: it stands for the process that got the old pid.
    writeFileSync(lock, `${process.ppid}\nanother-boot\n`);
    const release = new StateDir(dir).claimDaemon();
    assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n${bootId()}\n`);
    release();
  });

  test('a damaged claim file is taken over', () => {
    writeFileSync(lock, 'garbage');
    const release = new StateDir(dir).claimDaemon();
    assert.equal(readFileSync(lock, 'utf8'), `${process.pid}\n${bootId()}\n`);
    release();
  });
});
