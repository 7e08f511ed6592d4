import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

const moduleUrl = new URL('./gc-tuning.js', import.meta.url).href;

/**
 * Runs `scavengeOnMainThread()` in a node started with `flags`, then makes it scavenge a few
 * hundred times over a live set; returns what it returned and what node wrote to stderr (V8
 * writes "unrecognized flag" there for an option this node does not have).
 */
function inChild(flags: string[]): { applied: boolean; stderr: string } {
  const script = `
    const { scavengeOnMainThread } = await import(${JSON.stringify(moduleUrl)});
    const applied = scavengeOnMainThread();
    const keep = [];
    for (let i = 0; i < 1e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 50000) keep.splice(0, 25000); }
    process.stdout.write(JSON.stringify({ applied, kept: keep.length }));`;
  const r = spawnSync(process.execPath, [...flags, '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return { applied: (JSON.parse(r.stdout) as { applied: boolean }).applied, stderr: r.stderr };
}

test('a manager scavenges on its main thread: the option exists in this node and the process runs on', () => {
  const r = inChild([]);
  assert.equal(r.applied, true);
  assert.equal(r.stderr, '');
});

test('an operator who chose how V8 scavenges on the node command line keeps the choice', () => {
  for (const flag of ['--parallel-scavenge', '--no-parallel-scavenge', '--single-threaded-gc', '--single_threaded']) {
    const r = inChild([flag]);
    assert.equal(r.applied, false, flag);
    assert.equal(r.stderr, '', flag);
  }
});
