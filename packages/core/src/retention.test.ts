import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRetentionValue, parseRetentionDuration, RETENTION_SETTINGS, retentionSettings } from './retention.js';

test("Deep Security's duration strings are read, anything else is refused", () => {
  assert.equal(parseRetentionDuration('7 Days'), 7 * 86_400_000);
  assert.equal(parseRetentionDuration('53 Weeks'), 53 * 7 * 86_400_000);
  assert.equal(parseRetentionDuration('1 Hour'), 3_600_000);
  assert.equal(parseRetentionDuration('1 Month'), 30 * 86_400_000);
  for (const bad of ['', '7', '0 Days', '-1 Days', '7 days ago', '7 Fortnights', '1.5 Days', '99999 Weeks'])
    assert.equal(parseRetentionDuration(bad), null, bad);
});

test('row caps are whole numbers, 0 meaning no cap', () => {
  const max = { bound: 'max' } as const;
  assert.equal(checkRetentionValue(max, '0'), null);
  assert.equal(checkRetentionValue(max, '5000'), null);
  for (const bad of ['', '-1', '1e6', '01', '5000000000', 'all'])
    assert.notEqual(checkRetentionValue(max, bad), null, bad);
});

test('every default is a value its setting takes, and stored nonsense falls back to it', () => {
  for (const d of RETENTION_SETTINGS) assert.equal(checkRetentionValue(d, d.default), null, d.name);
  const s = retentionSettings({ firewallSettingRetainEventDuration: 'soon', palisadeSettingRetainAlertMax: '0' });
  assert.equal(s.events.maxAgeMs, 7 * 86_400_000);
  assert.equal(s.events.maxRows, 1_000_000);
  assert.equal(s.alerts.maxRows, null);
  assert.equal(s.audit.maxAgeMs, 53 * 7 * 86_400_000);
});
