import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ipcReporter, type WorkerMessage } from './worker.js';

const CHILD = '--ipc-reporter-child';

if (process.argv.includes(CHILD)) {
  // Forked below: a few small messages, then one far larger than the channel's socket buffer,
  // then leave at once — what a worker does at the end of a long run.
  const parent = ipcReporter();
  process.once('message', (n: number) => {
    for (let i = 0; i < 5; i++) parent.send({ type: 'tally', i } as unknown as WorkerMessage);
    parent.send({ type: 'done', latencies: Array.from({ length: n }, (_, i) => i + 0.5) } as unknown as WorkerMessage);
    void parent.leave();
  });
} else {
  test('a worker’s last report, larger than the channel’s buffer, reaches the parent before the worker leaves', async () => {
    const n = 250_000; // about 2.5 MB of JSON: the latencies of a long, fast run
    for (let round = 0; round < 3; round++) {
      const child = fork(fileURLToPath(import.meta.url), [CHILD], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      const seen: string[] = [];
      let latencies = 0;
      child.on('message', (m: { type: string; latencies?: number[] }) => {
        seen.push(m.type);
        if (m.type === 'done') latencies = m.latencies?.length ?? 0;
      });
      const code = await new Promise<number | null>((resolve) => {
        child.once('close', (c) => resolve(c));
        child.send(n);
      });
      assert.equal(code, 0);
      assert.deepEqual(seen, ['tally', 'tally', 'tally', 'tally', 'tally', 'done']);
      assert.equal(latencies, n);
    }
  });
}
