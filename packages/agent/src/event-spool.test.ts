import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { EventSpool } from './event-spool.js';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(join(tmpdir(), 'spool-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const ev = (message: string) => ({ type: 't', severity: 'info' as const, message });

test('numbers events from 1, keeps them across restarts, drops only what was acknowledged', () => {
  const dir = fresh();
  const s = new EventSpool(dir);
  assert.equal(s.append(ev('a')), 1);
  assert.equal(s.append(ev('b')), 2);
  assert.equal(s.append(ev('c')), 3);
  s.acknowledge(2);
  const again = new EventSpool(dir);
  assert.deepEqual(
    again.pending(10).map((e) => [e.seq, e.message]),
    [[3, 'c']],
  );
  assert.equal(again.append(ev('d')), 4);
});

test('sequence numbers are never reused, even when everything was acknowledged', () => {
  const dir = fresh();
  const s = new EventSpool(dir);
  s.append(ev('a'));
  s.append(ev('b'));
  s.acknowledge(2);
  assert.equal(new EventSpool(dir).append(ev('c')), 3);
});

test('a stale or repeated acknowledgement changes nothing', () => {
  const dir = fresh();
  const s = new EventSpool(dir);
  s.append(ev('a'));
  s.append(ev('b'));
  s.acknowledge(1);
  s.acknowledge(1);
  s.acknowledge(0);
  assert.deepEqual(
    s.pending(10).map((e) => e.seq),
    [2],
  );
});

test('a crash between writing the ack and compacting the log sends nothing twice', () => {
  const dir = fresh();
  const s = new EventSpool(dir);
  s.append(ev('a'));
  s.append(ev('b'));
  // The ack file is written first; simulate dying before the log was rewritten.
  writeFileSync(join(dir, 'acked'), '1\n');
  const after = new EventSpool(dir);
  assert.deepEqual(
    after.pending(10).map((e) => e.seq),
    [2],
  );
  assert.equal(after.append(ev('c')), 3);
});

test('a torn last line from a crash mid-append is skipped, the rest survives', () => {
  const dir = fresh();
  const s = new EventSpool(dir);
  s.append(ev('a'));
  appendFileSync(join(dir, 'events.jsonl'), '{"seq":2,"time":1,"ty');
  const after = new EventSpool(dir);
  assert.deepEqual(
    after.pending(10).map((e) => e.seq),
    [1],
  );
  assert.equal(after.append(ev('b')), 2);
  assert.match(readFileSync(join(dir, 'events.jsonl'), 'utf8'), /"seq":1/);
  // The event appended after the fragment is on a line of its own: still there after a restart
  // (it used to be glued to the fragment, unparseable, and never sent).
  assert.deepEqual(
    new EventSpool(dir).pending(10).map((e) => [e.seq, e.message]),
    [
      [1, 'a'],
      [2, 'b'],
    ],
  );
  // The next compaction drops the fragment.
  after.acknowledge(1);
  assert.equal(readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).length, 1);
});

test('every event carries the epoch it was numbered in; a new epoch applies to later events only', () => {
  const dir = fresh();
  const s = new EventSpool(dir);
  s.append(ev('a'));
  const first = s.epoch;
  assert.match(first, /^[0-9a-f-]{36}$/);
  assert.equal(new EventSpool(dir).epoch, first, 'kept across restarts');
  const second = new EventSpool(dir).beginEpoch();
  assert.notEqual(second, first);
  s.append(ev('b'));
  assert.deepEqual(
    new EventSpool(dir).pending(10).map((e) => [e.seq, e.epoch]),
    [
      [1, first],
      [2, second],
    ],
    'seq keeps counting; the spooled event keeps its epoch',
  );
});

test('pending returns the oldest first, at most the limit', () => {
  const s = new EventSpool(fresh());
  for (let i = 0; i < 5; i++) s.append(ev(String(i)));
  assert.deepEqual(
    s.pending(2).map((e) => e.seq),
    [1, 2],
  );
  assert.equal(s.size, 5);
});

test('an acknowledgement through one instance keeps events another instance appended since it loaded', () => {
  const dir = fresh();
  const a = new EventSpool(dir);
  a.append(ev('sent'));
  const b = new EventSpool(dir);
  b.append(ev('appended meanwhile (an operation outcome, the listener)'));
  a.acknowledge(1);
  const again = new EventSpool(dir);
  assert.deepEqual(
    again.pending(10).map((e) => [e.seq, e.message]),
    [[2, 'appended meanwhile (an operation outcome, the listener)']],
  );
  assert.equal(a.size, 1, 'the acknowledging instance sees it too');
});
