import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type ComputerStatusInputs, deriveComputerStatus } from './computer-status.js';

const online: ComputerStatusInputs = {
  activated: true,
  deactivated: false,
  offlineDeadline: 10_000,
  now: 5_000,
  vmStopped: false,
  expectedFingerprint: 'sha256:a',
  appliedFingerprint: 'sha256:a',
  updateInFlight: false,
};

test('online when the deadline is ahead and the fingerprints match', () => {
  assert.equal(deriveComputerStatus(online), 'Managed (Online)');
  assert.equal(deriveComputerStatus({ ...online, offlineDeadline: null }), 'Managed (Online)');
});

test('offline exactly at the deadline, not before', () => {
  assert.equal(deriveComputerStatus({ ...online, now: 9_999 }), 'Managed (Online)');
  assert.equal(deriveComputerStatus({ ...online, now: 10_000 }), 'Offline');
});

test('fingerprint mismatch is Update Pending (Heartbeat); an operation in flight is Updating', () => {
  assert.equal(deriveComputerStatus({ ...online, appliedFingerprint: 'sha256:b' }), 'Update Pending (Heartbeat)');
  assert.equal(deriveComputerStatus({ ...online, appliedFingerprint: null }), 'Update Pending (Heartbeat)');
  assert.equal(deriveComputerStatus({ ...online, appliedFingerprint: 'sha256:b', updateInFlight: true }), 'Updating');
});

test('precedence: deactivated, activation required, VM stopped, offline', () => {
  assert.equal(deriveComputerStatus({ ...online, deactivated: true, now: 20_000 }), 'Deactivated');
  assert.equal(deriveComputerStatus({ ...online, activated: false }), 'Activation Required');
  assert.equal(deriveComputerStatus({ ...online, vmStopped: true, now: 20_000 }), 'VM Stopped');
  assert.equal(deriveComputerStatus({ ...online, now: 20_000, appliedFingerprint: 'sha256:b' }), 'Offline');
});
