import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentListens, agentSendsHeartbeats, managerDialMode } from './communication-direction.js';
import { buildSecurityConfiguration } from './security-configuration.js';
import { defaultSettings } from './settings-catalog.js';

const communication = (setting: string) =>
  buildSecurityConfiguration({
    settings: { ...defaultSettings(), platformSettingAgentCommunicationsDirection: setting },
    heartbeatIntervalSeconds: 600,
  }).communication;

test('the agent heartbeats in Agent Initiated and Bidirectional only', () => {
  assert.equal(agentSendsHeartbeats('agent-initiated'), true);
  assert.equal(agentSendsHeartbeats('bidirectional'), true);
  assert.equal(agentSendsHeartbeats('manager-initiated'), false);
});

test('the agent listens in Bidirectional and Manager Initiated, on 4118 by default, never on macOS', () => {
  assert.equal(agentListens(communication('Agent/Appliance Initiated'), 'linux'), false);
  assert.equal(agentListens(communication('Bidirectional'), 'linux'), true);
  assert.equal(agentListens(communication('Manager Initiated'), 'win32'), true);
  assert.equal(communication('Manager Initiated').listeningPort, 4118);
  assert.equal(agentListens(communication('Manager Initiated'), 'darwin'), false, 'macOS: agent-initiated only');
  assert.equal(agentListens(communication('Bidirectional'), 'darwin'), false);
});

test('the manager dials on schedule while either side says Manager Initiated, on demand for Bidirectional, never for Agent Initiated', () => {
  assert.equal(managerDialMode('manager-initiated', 'manager-initiated'), 'scheduled');
  assert.equal(
    managerDialMode('manager-initiated', 'agent-initiated'),
    'scheduled',
    'switching to it: the confirmation may be lost',
  );
  assert.equal(
    managerDialMode('agent-initiated', 'manager-initiated'),
    'scheduled',
    'switching away: the agent waits to be called',
  );
  assert.equal(managerDialMode('manager-initiated', null), 'scheduled');
  assert.equal(managerDialMode('bidirectional', 'bidirectional'), 'on-demand');
  assert.equal(
    managerDialMode('agent-initiated', 'bidirectional'),
    'on-demand',
    'it still listens until it applies the change',
  );
  assert.equal(
    managerDialMode('bidirectional', 'agent-initiated'),
    'none',
    'not listening yet: wait for its heartbeat',
  );
  assert.equal(managerDialMode('bidirectional', null), 'on-demand');
  assert.equal(managerDialMode('agent-initiated', null), 'none');
  assert.equal(managerDialMode('agent-initiated', 'agent-initiated'), 'none');
});
