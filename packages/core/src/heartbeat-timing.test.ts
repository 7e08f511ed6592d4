import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
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
