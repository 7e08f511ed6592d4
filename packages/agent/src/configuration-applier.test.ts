import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import {
  buildSecurityConfiguration,
  configurationFingerprint,
  defaultSettings,
  type SecurityConfiguration,
} from '@palisade/core';
import { applyConfiguration } from './configuration-applier.js';
import { StateDir } from './state-dir.js';
import { RecordingEngine } from './testing/recording-engine.js';

const dirs: string[] = [];
const freshState = () => {
  const d = mkdtempSync(join(tmpdir(), 'palisade-apply-'));
  dirs.push(d);
  return new StateDir(d);
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const configuration = (intervalSeconds = 600) =>
  buildSecurityConfiguration({ settings: defaultSettings(), heartbeatIntervalSeconds: intervalSeconds });

describe('applyConfiguration', () => {
  test('a configuration whose fingerprint matches is enforced by the engine, then recorded with its heartbeat interval', async () => {
    const state = freshState();
    const engine = new RecordingEngine();
    const c = configuration(120);
    const fingerprint = await configurationFingerprint(c);
    assert.deepEqual(await applyConfiguration(state, c, fingerprint, engine), { ok: true, fingerprint });
    assert.deepEqual(engine.applied, [c]);
    assert.equal(state.appliedConfiguration()?.fingerprint, fingerprint);
    assert.deepEqual(state.appliedConfiguration()?.configuration, c);
    assert.equal(state.heartbeatIntervalSeconds(), 120);
  });

  test('a fingerprint other than its own is refused, naming both, before the engine is asked', async () => {
    const state = freshState();
    const engine = new RecordingEngine();
    const c = configuration();
    const theirs = `sha256:${'0'.repeat(64)}`;
    const r = await applyConfiguration(state, c, theirs, engine);
    assert.equal(r.ok, false);
    const reason = (r as { reason: string }).reason;
    assert.ok(reason.includes(await configurationFingerprint(c)), reason);
    assert.ok(reason.includes(theirs), reason);
    assert.deepEqual(engine.applied, []);
    assert.equal(state.appliedConfiguration(), null);
  });

  test('what is not a schema-1 configuration is refused and nothing is enforced or recorded', async () => {
    const good = configuration();
    const bad: Array<[string, unknown]> = [
      ['null', null],
      ['a string', 'configuration'],
      ['schema 2', { ...good, schema: 2 }],
      ['no heartbeat', { ...good, heartbeat: undefined }],
      ['an interval of 0', { ...good, heartbeat: { ...good.heartbeat, intervalSeconds: 0 } }],
      ['an interval as text', { ...good, heartbeat: { ...good.heartbeat, intervalSeconds: '600' } }],
      ['no direction', { ...good, communication: { ...good.communication, direction: undefined } }],
      ['firewall state "on"', { ...good, firewall: { ...good.firewall, state: 'on' } }],
      ['no firewall', { ...good, firewall: undefined }],
    ];
    for (const [what, c] of bad) {
      const state = freshState();
      const engine = new RecordingEngine();
      // The fingerprint of the very value sent: only the shape can be wrong.
      const fingerprint =
        c === null || typeof c !== 'object' ? 'sha256:x' : await configurationFingerprint(c as SecurityConfiguration);
      const r = await applyConfiguration(state, c, fingerprint, engine);
      assert.deepEqual(
        r,
        { ok: false, reason: 'configuration is not a schema-1 security configuration this agent understands' },
        what,
      );
      assert.deepEqual(engine.applied, [], what);
      assert.equal(state.appliedConfiguration(), null, what);
      assert.equal(state.heartbeatIntervalSeconds(), null, what);
    }
  });

  test('an engine that refuses it fails the apply with its reason, and the previous configuration stays recorded', async () => {
    const state = freshState();
    const engine = new RecordingEngine();
    const first = configuration(300);
    const firstFingerprint = await configurationFingerprint(first);
    assert.equal((await applyConfiguration(state, first, firstFingerprint, engine)).ok, true);

    engine.outcome = { outcome: 'failed', reason: 'the kernel said no' };
    const second = configuration(60);
    const r = await applyConfiguration(state, second, await configurationFingerprint(second), engine);
    assert.deepEqual(r, { ok: false, reason: 'the kernel said no' });
    assert.deepEqual(engine.applied, [first, second]);
    assert.equal(state.appliedConfiguration()?.fingerprint, firstFingerprint);
    assert.equal(state.heartbeatIntervalSeconds(), 300);
  });

  test('an engine that cannot run on this host, or is turned off, does not stop the configuration being applied', async () => {
    for (const outcome of [{ outcome: 'unavailable', reason: 'nft missing' }, { outcome: 'disabled' }] as const) {
      const state = freshState();
      const engine = new RecordingEngine();
      engine.outcome = outcome;
      const c = configuration();
      const fingerprint = await configurationFingerprint(c);
      assert.deepEqual(
        await applyConfiguration(state, c, fingerprint, engine),
        { ok: true, fingerprint },
        outcome.outcome,
      );
      assert.equal(state.appliedConfiguration()?.fingerprint, fingerprint, outcome.outcome);
    }
  });
});
