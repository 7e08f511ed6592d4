import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  buildSecurityConfiguration,
  type FirewallListContents,
  type FirewallRule,
  type SecurityConfiguration,
  validateFirewallRule,
} from '@palisade/core';
import { StateDir } from '../state-dir.js';
import { firewallPeerDecision, firewallPermitsPeer, listenerGuard, neighbourMac } from './listener-guard.js';

const MANAGER = '198.18.0.1';
const OTHER = '198.18.0.3';
const MANAGER_MAC = '02:00:c6:12:00:01';
const OTHER_MAC = '02:00:c6:12:00:03';

function rule(input: Record<string, unknown>) {
  const r = validateFirewallRule({ priority: 4, direction: 'incoming', ...input });
  if (!r.ok) assert.fail(r.problems.join('; '));
  return r.rule;
}

/** Replaces the hidden rule: force-allow, priority 4, incoming, IP, TCP, port 4118. */
const replacing = (match: Record<string, unknown>) =>
  rule({
    id: 'mgr',
    name: 'manager only',
    action: 'force-allow',
    frameType: 'ip',
    protocol: 'tcp',
    destinationPortType: 'multiple',
    destinationPortMultiple: ['4118'],
    ...match,
  });
const from = (ip: string) => ({ sourceIPType: 'single', sourceIPValue: ip });
/** Force-allow beats deny at one priority, so this drops everyone else and spares the manager. */
const denyPort = rule({
  id: 'deny-4118',
  name: 'nobody else',
  action: 'deny',
  protocol: 'tcp',
  destinationPortType: 'multiple',
  destinationPortMultiple: ['4118'],
});

function config(
  rules: FirewallRule[],
  o: { direction?: string; firewall?: 'On' | 'Off'; lists?: FirewallListContents } = {},
): SecurityConfiguration {
  return buildSecurityConfiguration({
    settings: {
      platformSettingAgentCommunicationsDirection: o.direction ?? 'Manager Initiated',
      firewallSettingState: o.firewall ?? 'On',
    } as never,
    heartbeatIntervalSeconds: 600,
    firewallRules: rules,
    ...(o.lists ? { firewallLists: o.lists } : {}),
  });
}

const peer = (ip: string, mac: string | null = null) => ({ ip, port: 4118, sourcePort: 40000, mac });

test('the hidden rule lets every peer reach the listening port', () => {
  const c = config([]);
  for (const ip of [MANAGER, OTHER, '2001:db8::5', `::ffff:${OTHER}`]) {
    assert.deepEqual(firewallPeerDecision(c, peer(ip)), {
      permitted: true,
      reason: 'allowed by bypass rule hidden-listening-port',
      ruleId: 'hidden-listening-port',
    });
  }
});

test('replacing alone removes the any-source bypass but keeps nobody out; with a deny for the port only the manager gets in', () => {
  const alone = config([replacing(from(MANAGER))]);
  assert.deepEqual(firewallPeerDecision(alone, peer(MANAGER)), {
    permitted: true,
    reason: 'allowed by force-allow rule mgr',
    ruleId: 'mgr',
  });
  // No rule decides for the other host and there is no allow rule: allowed (the documented trap).
  assert.deepEqual(firewallPeerDecision(alone, peer(OTHER)), {
    permitted: true,
    reason: 'allowed by no match',
    ruleId: null,
  });

  const restricted = config([replacing(from(MANAGER)), denyPort]);
  assert.equal(firewallPermitsPeer(restricted, peer(MANAGER)), true);
  assert.deepEqual(firewallPeerDecision(restricted, peer(OTHER)), {
    permitted: false,
    reason: 'denied by deny rule deny-4118',
    ruleId: 'deny-4118',
  });
  // A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6: still the manager.
  assert.equal(firewallPermitsPeer(restricted, peer(`::ffff:${MANAGER}`)), true);
});

test('an allow rule closes the rest by implicit deny ("out of allowed policy")', () => {
  const c = config([
    replacing(from(MANAGER)),
    rule({
      id: 'ssh',
      name: 'ssh',
      action: 'allow',
      priority: 0,
      protocol: 'tcp',
      destinationPortType: 'multiple',
      destinationPortMultiple: ['22'],
    }),
  ]);
  assert.equal(firewallPermitsPeer(c, peer(MANAGER)), true);
  assert.deepEqual(firewallPeerDecision(c, peer(OTHER)), {
    permitted: false,
    reason: 'denied by out of allowed policy',
    ruleId: null,
  });
});

test("by MAC: the manager's card gets in, another card does not, an unknown one does not match the rule", () => {
  const c = config([replacing({ sourceMACType: 'single', sourceMACValue: MANAGER_MAC }), denyPort]);
  assert.equal(firewallPermitsPeer(c, peer(MANAGER, MANAGER_MAC)), true);
  assert.equal(firewallPermitsPeer(c, peer(MANAGER, OTHER_MAC)), false, 'the address alone is not what the rule names');
  assert.equal(firewallPermitsPeer(c, peer(OTHER, OTHER_MAC)), false);
  assert.equal(
    firewallPermitsPeer(c, peer(MANAGER, null)),
    false,
    'a MAC the kernel does not know cannot satisfy a MAC rule',
  );
});

test('an IP list names who may reach the port; the list items travel with the configuration', () => {
  const c = config([replacing({ sourceIPType: 'ip-list', sourceIPListID: 5 }), denyPort], {
    lists: { ipLists: { '5': [`${MANAGER} # manager`, '198.18.0.200-198.18.0.210'] }, macLists: {}, portLists: {} },
  });
  assert.equal(firewallPermitsPeer(c, peer(MANAGER)), true);
  assert.equal(firewallPermitsPeer(c, peer('198.18.0.205')), true);
  assert.equal(firewallPermitsPeer(c, peer(OTHER)), false);
});

test('loopback, firewall Off and no configuration are let through; rules that cannot compile shut the listener', () => {
  const restricted = config([replacing(from(MANAGER)), denyPort]);
  assert.deepEqual(firewallPeerDecision(restricted, peer('127.0.0.1')), {
    permitted: true,
    reason: 'allowed by loopback',
    ruleId: null,
  });
  assert.equal(firewallPermitsPeer(restricted, peer('::1')), true);
  assert.deepEqual(firewallPeerDecision(config([denyPort], { firewall: 'Off' }), peer(OTHER)), {
    permitted: true,
    reason: 'firewall is Off',
    ruleId: null,
  });
  assert.equal(firewallPeerDecision(null, peer(OTHER)).permitted, true);
  const broken = {
    ...restricted,
    firewall: {
      state: 'On' as const,
      rules: [{ id: 'x', name: 'x', action: 'deny', priority: 9, direction: 'incoming' }],
    },
  };
  const d = firewallPeerDecision(broken, peer(MANAGER));
  assert.equal(d.permitted, false);
  assert.match(d.reason, /firewall rules are not valid: \[0\]\.priority: 9 is not a priority/);
  // A socket closed before the check reports no address: refused, never an exception in the listener.
  assert.deepEqual(firewallPeerDecision(restricted, peer('')), {
    permitted: false,
    reason: 'packet sourceIp "" is not an IP address',
    ruleId: null,
  });
});

test('Agent Initiated: no hidden rule, so a deny for the port is the last word for everyone', () => {
  const c = config([denyPort], { direction: 'Agent/Appliance Initiated' });
  assert.equal(firewallPermitsPeer(c, peer(MANAGER)), false);
});

test('neighbourMac reads complete IPv4 entries of the kernel neighbour table only', () => {
  assert.equal(neighbourMac('2001:db8::1'), null);
  assert.equal(neighbourMac('not an address'), null);
  // 192.0.2.0/24 (TEST-NET-1) is never a neighbour here.
  assert.equal(neighbourMac('192.0.2.77'), null);
});

test('listenerGuard reads the applied configuration per connection; an unreadable one refuses instead of throwing', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-guard-'));
  try {
    const state = new StateDir(dir);
    const guard = listenerGuard(state);
    const socket = (ip: string) =>
      ({ remoteAddress: ip, remotePort: 40000, localAddress: '198.18.0.2', localPort: 4118 }) as unknown as Socket;
    assert.equal(guard(socket(OTHER)).permitted, true, 'nothing applied yet');
    state.saveAppliedConfiguration({
      fingerprint: 'sha256:x',
      configuration: config([replacing(from(MANAGER)), denyPort]),
      appliedAt: 0,
    });
    assert.deepEqual(guard(socket(OTHER)), {
      permitted: false,
      reason: 'denied by deny rule deny-4118',
      ruleId: 'deny-4118',
    });
    assert.equal(guard(socket(MANAGER)).permitted, true);
    writeFileSync(join(dir, 'configuration.json'), '{ torn');
    const v = guard(socket(MANAGER));
    assert.equal(v.permitted, false);
    assert.match(v.reason, /^applied configuration unreadable: /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the guard judges the port the listener is on: the hidden rule follows it (a setting or a local --listen-port)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-guard-port-'));
  try {
    const state = new StateDir(dir);
    const guard = listenerGuard(state);
    const onPort = (port: number) =>
      ({ remoteAddress: OTHER, remotePort: 40000, localAddress: '198.18.0.2', localPort: port }) as unknown as Socket;
    // A deny for every incoming TCP: only the hidden rule lets a peer reach the listener.
    const denyAll = rule({ id: 'deny-tcp', name: 'no tcp', action: 'deny', protocol: 'tcp' });
    state.saveAppliedConfiguration({ fingerprint: 'sha256:x', configuration: config([denyAll]), appliedAt: 0 });
    for (const port of [4118, 4999, 40123]) {
      assert.deepEqual(guard(onPort(port)), {
        permitted: true,
        reason: 'allowed by bypass rule hidden-listening-port',
        ruleId: 'hidden-listening-port',
      });
    }
    // Judged as the configuration alone says (port 4118), 4999 would be denied.
    assert.equal(firewallPeerDecision(config([denyAll]), { ...peer(OTHER), port: 4999 }).permitted, false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
