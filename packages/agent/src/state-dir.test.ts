import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

describe('reading the upgrade record', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-state-upgrade-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('absent or cleared: none; unreadable: the state directory is damaged (STATE_INVALID)', () => {
    const state = new StateDir(dir);
    assert.equal(state.upgrade(), null);
    const record = { id: 7 } as unknown as Parameters<StateDir['saveUpgrade']>[0];
    state.saveUpgrade(record);
    assert.deepEqual(state.upgrade(), record);
    state.clearUpgrade();
    assert.equal(state.upgrade(), null, 'cleared while a reader looks: none, not damaged');
    // A reader racing the service's clear used to find the file, then fail to open it: ENOENT
    // is now "none" wherever it happens. Other read errors still say the directory is damaged.
    mkdirSync(join(dir, 'upgrade.json'));
    assert.throws(
      () => state.upgrade(),
      (e) => e instanceof AgentError && e.code === 'STATE_INVALID',
    );
    rmSync(join(dir, 'upgrade.json'), { recursive: true });
    writeFileSync(join(dir, 'upgrade.json'), '{not json');
    assert.throws(
      () => state.upgrade(),
      (e) => e instanceof AgentError && e.code === 'STATE_INVALID',
    );
  });
});
