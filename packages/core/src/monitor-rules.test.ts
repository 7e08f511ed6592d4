import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALERT_TYPES,
  clockDecision,
  clockOffsetMs,
  clockShiftThresholdMs,
  driverAlertChanges,
  isAlertType,
  offlineAlertWanted,
  offlineSweepIntervalMs,
} from './monitor-rules.js';

test('alert types carry a label and a severity; unknown names are not types', () => {
  assert.equal(ALERT_TYPES['computer-offline'].severity, 'critical');
  assert.equal(ALERT_TYPES['clock-change'].severity, 'warning');
  assert.ok(isAlertType('driver-offline'));
  assert.ok(!isAlertType('toString'));
  assert.ok(!isAlertType('offline'));
});

test('a stopped VM gets the offline alert only when the inactive-VM setting is true', () => {
  assert.equal(offlineAlertWanted(false, 'false'), true);
  assert.equal(offlineAlertWanted(false, 'true'), true);
  assert.equal(offlineAlertWanted(true, 'false'), false);
  assert.equal(offlineAlertWanted(true, 'true'), true);
});

test('clock threshold: minutes to ms, Unlimited and junk mean no alerts', () => {
  assert.equal(clockShiftThresholdMs('5'), 300_000);
  assert.equal(clockShiftThresholdMs('Unlimited'), null);
  assert.equal(clockShiftThresholdMs('0'), null);
  assert.equal(clockShiftThresholdMs('-3'), null);
  assert.equal(clockShiftThresholdMs('2.5'), null);
});

test('clock offset is corrected by half the round trip', () => {
  // The agent stamped 10_000 on its clock; the report arrived at 10_100 on the manager's, after
  // half of a 200 ms round trip: the clocks agree.
  assert.equal(clockOffsetMs(10_000, 10_100, 200), 0);
  assert.equal(clockOffsetMs(70_000, 10_100, 200), 60_000);
  assert.equal(clockOffsetMs(10_000, 10_100, null), -100);
});

test('clock change: raised only beyond the threshold, not at it', () => {
  const t = 5 * 60_000;
  assert.deepEqual(
    clockDecision({ previousOffsetMs: 0, offsetMs: t, thresholdMs: t, openBaselineOffsetMs: undefined }),
    { action: 'none' },
  );
  assert.deepEqual(
    clockDecision({ previousOffsetMs: 0, offsetMs: t + 1, thresholdMs: t, openBaselineOffsetMs: undefined }),
    { action: 'raise', changeMs: t + 1, baselineOffsetMs: 0 },
  );
  assert.deepEqual(
    clockDecision({ previousOffsetMs: 100, offsetMs: -t, thresholdMs: t, openBaselineOffsetMs: undefined }),
    { action: 'raise', changeMs: -t - 100, baselineOffsetMs: 100 },
  );
  assert.deepEqual(
    clockDecision({ previousOffsetMs: 0, offsetMs: 10 * t, thresholdMs: null, openBaselineOffsetMs: undefined }),
    { action: 'none' },
    'Unlimited',
  );
  assert.deepEqual(
    clockDecision({ previousOffsetMs: null, offsetMs: 10 * t, thresholdMs: t, openBaselineOffsetMs: undefined }),
    { action: 'none' },
    'first heartbeat: nothing to compare with',
  );
});

test('clock change: an open alert clears when the clock is back near its baseline, not while it stays shifted', () => {
  const t = 60_000;
  assert.deepEqual(
    clockDecision({ previousOffsetMs: 3_600_000, offsetMs: 3_600_000, thresholdMs: t, openBaselineOffsetMs: 0 }),
    { action: 'none' },
  );
  assert.deepEqual(
    clockDecision({ previousOffsetMs: 3_600_000, offsetMs: 500, thresholdMs: t, openBaselineOffsetMs: 0 }),
    { action: 'clear' },
  );
  assert.deepEqual(
    clockDecision({ previousOffsetMs: 3_600_000, offsetMs: 3_600_000, thresholdMs: null, openBaselineOffsetMs: 0 }),
    { action: 'clear' },
    'turned off',
  );
});

test('drivers: offline ones raise once, back online or no longer reported clears', () => {
  assert.deepEqual(
    driverAlertChanges(
      [
        { name: 'firewall', status: 'offline', reason: 'nftables missing' },
        { name: 'firewall', status: 'offline', reason: 'again' },
        { name: 'listener', status: 'online' },
        { name: 'ips', status: 'offline' },
      ],
      ['ips', 'listener', 'gone'],
    ),
    { raise: [{ name: 'firewall', reason: 'nftables missing' }], clear: ['listener', 'gone'] },
  );
  assert.deepEqual(driverAlertChanges([], []), { raise: [], clear: [] });
});

test('sweep period is a fraction of the interval, bounded', () => {
  assert.equal(offlineSweepIntervalMs(600), 30_000);
  assert.equal(offlineSweepIntervalMs(2), 100);
  assert.equal(offlineSweepIntervalMs(1), 50);
});
