import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type EventBucket, takeEvents } from './event-budget.js';

const rate = { perMinute: 60, burst: 100 };

test('a computer not seen yet may send a full burst, then no more until the bucket refills', () => {
  const first = takeEvents(undefined, 0, 150, rate);
  assert.equal(first.granted, 100);
  assert.equal(takeEvents(first.bucket, 0, 10, rate).granted, 0);
  assert.equal(takeEvents(first.bucket, 10_000, 50, rate).granted, 10, '60 a minute is one a second');
});

test('the bucket never holds more than the burst, and a clock going back refills nothing', () => {
  const quiet: EventBucket = { tokens: 0, at: 0 };
  assert.equal(takeEvents(quiet, 3_600_000, 1_000, rate).granted, 100);
  assert.equal(takeEvents({ tokens: 5, at: 10_000 }, 0, 50, rate).granted, 5);
});

test('fractions accumulate: half an event now and half later make one', () => {
  const a = takeEvents({ tokens: 0, at: 0 }, 500, 1, rate);
  assert.equal(a.granted, 0);
  assert.equal(takeEvents(a.bucket, 1_000, 1, rate).granted, 1);
});

test('a flood stores at most the burst plus the rate', () => {
  let bucket: EventBucket | undefined;
  let stored = 0;
  for (let t = 0; t <= 60_000; t += 1_000) {
    const r = takeEvents(bucket, t, 500, rate);
    stored += r.granted;
    bucket = r.bucket;
  }
  assert.equal(stored, 100 + 60);
});
