import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  busyRetryDelayMs,
  HEARTBEAT_INTERVAL_SECONDS,
  HEARTBEAT_MISSED_THRESHOLD,
  jitteredDelayMs,
  offlineDeadline,
} from './heartbeat-timing.js';

test('spec values: 10-minute interval, two may be missed', () => {
  assert.equal(HEARTBEAT_INTERVAL_SECONDS, 600);
  assert.equal(HEARTBEAT_MISSED_THRESHOLD, 2);
});

test('offline deadline is (threshold + 1) x interval after the last heartbeat: 30 minutes by default', () => {
  assert.equal(offlineDeadline(1_000), 1_000 + 30 * 60_000);
  assert.equal(offlineDeadline(0, 2), 6_000);
  assert.equal(offlineDeadline(0, 10, 4), 50_000);
});

test('jitter stays within the spread and covers both sides of the interval', () => {
  assert.equal(
    jitteredDelayMs(600, 0.1, () => 0),
    540_000,
  );
  assert.equal(
    jitteredDelayMs(600, 0.1, () => 0.5),
    600_000,
  );
  assert.ok(jitteredDelayMs(600, 0.1, () => 0.999999) <= 660_000);
  for (let i = 0; i < 1000; i++) {
    const d = jitteredDelayMs(10);
    assert.ok(d >= 9_000 && d <= 11_000, String(d));
  }
});

test('busy retries: at least the hint and the backoff, stretched by up to half, capped', () => {
  assert.equal(
    busyRetryDelayMs(null, 1, 300, () => 0),
    1_000,
  );
  assert.equal(
    busyRetryDelayMs(null, 4, 300, () => 0),
    8_000,
    'doubling',
  );
  assert.equal(
    busyRetryDelayMs(30, 1, 300, () => 0),
    30_000,
    'the manager hint wins when longer',
  );
  assert.equal(
    busyRetryDelayMs(2, 6, 300, () => 0),
    32_000,
    'the backoff wins when longer',
  );
  assert.equal(
    busyRetryDelayMs(10_000, 30, 300, () => 0),
    300_000,
    'capped',
  );
  assert.equal(
    busyRetryDelayMs(10, 1, 300, () => 0.999_999),
    15_000,
    'at most half again',
  );
  const spread = new Set(Array.from({ length: 50 }, () => busyRetryDelayMs(10, 1)));
  assert.ok(spread.size > 10, 'agents refused together come back apart');
});
