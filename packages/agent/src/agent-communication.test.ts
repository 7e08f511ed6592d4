import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { buildSecurityConfiguration, defaultSettings } from '@palisade/core';
import pino from 'pino';
import {
  AgentCommunication,
  announcedListener,
  loadListenerSettings,
  saveListenerSettings,
} from './agent-communication.js';
import { StateDir } from './state-dir.js';

const dirs: string[] = [];
const state = () => {
  const d = mkdtempSync(join(tmpdir(), 'agent-comm-'));
  dirs.push(d);
  return new StateDir(d);
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const logger = pino({ level: 'silent' });
const config = (direction: string) =>
  buildSecurityConfiguration({
    settings: { ...defaultSettings(), platformSettingAgentCommunicationsDirection: direction },
    heartbeatIntervalSeconds: 600,
  });

test('macOS never listens and keeps heartbeating, whatever the configuration says', async () => {
  for (const direction of ['Manager Initiated', 'Bidirectional']) {
    // No credentials in this state dir: opening a listener would throw, so none is opened.
    const c = new AgentCommunication(state(), { logger, platform: 'darwin', listener: { port: 0 } });
    await c.apply(config(direction));
    assert.equal(c.listening(), null, direction);
    assert.equal(c.heartbeats(), true, `${direction}: heartbeats, as Agent Initiated`);
    const s = c.currentState();
    assert.equal(s.direction, 'agent-initiated');
    assert.equal(s.listener, null);
    assert.match(s.listenerError ?? '', /macOS/);
    await c.close();
  }
});

test('Agent Initiated opens nothing; Manager Initiated stops the heartbeats and says so once', async () => {
  let changes = 0;
  const s = state();
  const c = new AgentCommunication(s, { logger, platform: 'linux', onChange: () => changes++ });
  await c.apply(config('Agent/Appliance Initiated'));
  assert.equal(c.listening(), null);
  assert.equal(c.heartbeats(), true);
  assert.equal(changes, 0);
  // Linux wants a listener here; this state dir has no credentials, so opening fails and the
  // failure is reported (to the manager too), rather than thrown at the exchange.
  await c.apply(config('Manager Initiated'));
  assert.equal(c.heartbeats(), false);
  assert.equal(changes, 1);
  assert.equal(c.listening(), null);
  assert.match(c.currentState().listenerError ?? '', /cannot listen on port 4118/);
  assert.ok(
    s
      .spool()
      .pending(10)
      .some((e) => e.type === 'listener.failed'),
  );
  await c.apply(config('Manager Initiated'));
  assert.equal(changes, 1, 'no change, no wake-up');
  await c.close();
});

test('listener settings: merged and kept in listener.json; announced at activation only when set', () => {
  const s = state();
  assert.deepEqual(loadListenerSettings(s), {});
  assert.equal(announcedListener({}), undefined);
  saveListenerSettings(s, { port: 4999 });
  saveListenerSettings(s, { announceAddress: 'agent.lab.test' });
  assert.deepEqual(loadListenerSettings(s), { port: 4999, announceAddress: 'agent.lab.test' });
  assert.deepEqual(announcedListener(loadListenerSettings(s)), { port: 4999, address: 'agent.lab.test' });
  assert.deepEqual(announcedListener({ announceAddress: '10.0.0.9' }), { port: 4118, address: '10.0.0.9' });
});
