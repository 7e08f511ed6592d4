import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveEffectiveSettings } from './effective-settings.js';
import { HEARTBEAT_INTERVAL_SECONDS } from './heartbeat-timing.js';
import { type PolicyNode, PolicyTree, PolicyTreeError, settingSourcePolicyId } from './policy-tree.js';
import { buildSecurityConfiguration, configurationFingerprint } from './security-configuration.js';
import { applySettingWrite } from './setting-write.js';
import { defaultSettings, type SettingOverrides } from './settings-catalog.js';

const BASE = 1;
const A = 2;
const B = 3;
const C = 4;

/** base → A → B, and C directly under base. */
function nodes(
  over: { base?: SettingOverrides; a?: SettingOverrides; b?: SettingOverrides; c?: SettingOverrides } = {},
): PolicyNode[] {
  return [
    { id: B, parentId: A, name: 'B', overrides: over.b ?? {} },
    { id: BASE, parentId: null, name: 'Base Policy', overrides: over.base ?? {} },
    { id: A, parentId: BASE, name: 'A', overrides: over.a ?? {} },
    { id: C, parentId: BASE, name: 'C', overrides: over.c ?? {} },
  ];
}

test('the Base Policy alone yields the catalog defaults, read-only ones fixed', () => {
  const tree = PolicyTree.from([{ id: BASE, parentId: null, name: 'Base Policy', overrides: {} }]);
  const r = tree.resolveForPolicy(BASE);
  assert.deepEqual(r.values, defaultSettings());
  assert.equal(r.sources.firewallSettingState, 'base');
  assert.equal(r.sources.platformSettingHeartbeatInterval, 'fixed');
  assert.equal(r.sources.platformSettingHeartbeatMissedAlertThreshold, 'fixed');
  assert.deepEqual(
    tree.chainFor(BASE).map((p) => p.id),
    [BASE],
  );
});

test('inheritance across three levels: computer → B → A → Base Policy', () => {
  const tree = PolicyTree.from(
    nodes({
      base: {
        firewallSettingState: 'Off',
        platformSettingHeartbeatLocalTimeShiftAlertThreshold: '30',
        platformSettingHeartbeatInactiveVmOfflineAlertEnabled: 'true',
      },
      a: {
        platformSettingHeartbeatLocalTimeShiftAlertThreshold: '20',
        platformSettingAgentCommunicationsDirection: 'Bidirectional',
        platformSettingAgentListeningPort: '5000',
      },
      b: { platformSettingHeartbeatLocalTimeShiftAlertThreshold: '10' },
    }),
  );
  assert.deepEqual(
    tree.chainFor(B).map((p) => p.id),
    [B, A, BASE],
  );

  const r = tree.resolveForComputer({ policyId: B, overrides: { firewallSettingState: 'On' }, platform: 'linux' });
  assert.deepEqual(r.values, {
    platformSettingAgentCommunicationsDirection: 'Bidirectional',
    platformSettingAgentListeningPort: '5000',
    platformSettingHeartbeatInterval: '10 Minutes',
    platformSettingHeartbeatMissedAlertThreshold: '2',
    platformSettingHeartbeatInactiveVmOfflineAlertEnabled: 'true',
    platformSettingHeartbeatLocalTimeShiftAlertThreshold: '10',
    firewallSettingState: 'On',
  });
  assert.deepEqual(r.sources, {
    platformSettingAgentCommunicationsDirection: `policy:${A}`,
    platformSettingAgentListeningPort: `policy:${A}`,
    platformSettingHeartbeatInterval: 'fixed',
    platformSettingHeartbeatMissedAlertThreshold: 'fixed',
    platformSettingHeartbeatInactiveVmOfflineAlertEnabled: 'base',
    platformSettingHeartbeatLocalTimeShiftAlertThreshold: `policy:${B}`,
    firewallSettingState: 'computer',
  });
  assert.equal(settingSourcePolicyId(r.sources.platformSettingAgentCommunicationsDirection), A);
  assert.equal(settingSourcePolicyId(r.sources.firewallSettingState), null);

  // A policy resolves the same way, without a computer level.
  const b = tree.resolveForPolicy(B);
  assert.equal(b.values.firewallSettingState, 'Off');
  assert.equal(b.sources.firewallSettingState, 'base');
  assert.equal(b.sources.platformSettingHeartbeatLocalTimeShiftAlertThreshold, `policy:${B}`);
});

test('values match resolveEffectiveSettings for the same chain', () => {
  const base = { firewallSettingState: 'Off' } as const;
  const a = { platformSettingAgentCommunicationsDirection: 'Manager Initiated' } as const;
  const b = { platformSettingHeartbeatLocalTimeShiftAlertThreshold: '5' } as const;
  const tree = PolicyTree.from(nodes({ base, a, b }));
  for (const platform of ['linux', 'win32', 'darwin', null]) {
    for (const computer of [
      {},
      { firewallSettingState: 'On' },
      { platformSettingAgentCommunicationsDirection: 'Bidirectional' },
    ] as SettingOverrides[]) {
      const got = tree.resolveForComputer({ policyId: B, overrides: computer, platform });
      assert.deepEqual(got.values, resolveEffectiveSettings([computer, b, a], base, platform));
    }
  }
});

test('stored values of read-only settings are ignored everywhere', () => {
  const tree = PolicyTree.from(
    nodes({
      base: { platformSettingHeartbeatInterval: '5 Minutes' },
      a: { platformSettingHeartbeatMissedAlertThreshold: '9' },
    }),
  );
  const r = tree.resolveForComputer({ policyId: B, overrides: { platformSettingHeartbeatInterval: '1 Minutes' } });
  assert.equal(r.values.platformSettingHeartbeatInterval, '10 Minutes');
  assert.equal(r.values.platformSettingHeartbeatMissedAlertThreshold, '2');
  assert.equal(r.sources.platformSettingHeartbeatInterval, 'fixed');
});

test('removing an override returns the setting to the nearest ancestor', () => {
  let tree = PolicyTree.from(
    nodes({
      base: { firewallSettingState: 'On' },
      a: { firewallSettingState: 'Off' },
      b: { firewallSettingState: 'On' },
    }),
  );
  let overrides: SettingOverrides = { firewallSettingState: 'Off' };
  const computer = () => tree.resolveForComputer({ policyId: B, overrides });
  assert.deepEqual(
    [computer().values.firewallSettingState, computer().sources.firewallSettingState],
    ['Off', 'computer'],
  );

  overrides = applySettingWrite(overrides, 'firewallSettingState', null);
  assert.deepEqual(overrides, {});
  assert.deepEqual(
    [computer().values.firewallSettingState, computer().sources.firewallSettingState],
    ['On', `policy:${B}`],
  );

  tree = tree.withOverrides(B, applySettingWrite(tree.get(B)!.overrides, 'firewallSettingState', null));
  assert.deepEqual(
    [computer().values.firewallSettingState, computer().sources.firewallSettingState],
    ['Off', `policy:${A}`],
  );

  tree = tree.withOverrides(A, {});
  assert.deepEqual([computer().values.firewallSettingState, computer().sources.firewallSettingState], ['On', 'base']);

  // The Base Policy with nothing stored falls back to the catalog default.
  tree = tree.withOverrides(BASE, {});
  assert.deepEqual([computer().values.firewallSettingState, computer().sources.firewallSettingState], ['On', 'base']);
});

test("moving a policy or changing a computer's policy re-resolves at once", () => {
  const tree = PolicyTree.from(
    nodes({
      a: { firewallSettingState: 'Off' },
      c: { platformSettingAgentCommunicationsDirection: 'Manager Initiated' },
    }),
  );
  const before = tree.resolveForComputer({ policyId: B });
  assert.equal(before.values.firewallSettingState, 'Off');
  assert.equal(before.values.platformSettingAgentCommunicationsDirection, 'Agent/Appliance Initiated');

  // B moves from under A to under C: it loses A's firewall override and gains C's direction.
  const moved = tree.move(B, C);
  assert.deepEqual(
    moved.chainFor(B).map((p) => p.id),
    [B, C, BASE],
  );
  const after = moved.resolveForComputer({ policyId: B });
  assert.equal(after.values.firewallSettingState, 'On');
  assert.equal(after.sources.firewallSettingState, 'base');
  assert.equal(after.values.platformSettingAgentCommunicationsDirection, 'Manager Initiated');
  assert.equal(after.sources.platformSettingAgentCommunicationsDirection, `policy:${C}`);
  // The original tree is unchanged.
  assert.equal(tree.get(B)!.parentId, A);
  assert.deepEqual(moved.childrenOf(A), []);

  // A computer reassigned from B to A picks up A's values.
  const reassigned = tree.resolveForComputer({ policyId: A });
  assert.equal(reassigned.values.firewallSettingState, 'Off');
  assert.equal(reassigned.sources.firewallSettingState, `policy:${A}`);
});

test('deep trees resolve through every level', () => {
  const deep: PolicyNode[] = [
    {
      id: 0,
      parentId: null,
      name: 'Base Policy',
      overrides: { platformSettingHeartbeatLocalTimeShiftAlertThreshold: '1' },
    },
  ];
  for (let i = 1; i <= 50; i++)
    deep.push({ id: i, parentId: i - 1, name: `P${i}`, overrides: i === 7 ? { firewallSettingState: 'Off' } : {} });
  const tree = PolicyTree.from(deep.reverse());
  assert.equal(tree.chainFor(50).length, 51);
  const r = tree.resolveForComputer({ policyId: 50 });
  assert.deepEqual([r.values.firewallSettingState, r.sources.firewallSettingState], ['Off', 'policy:7']);
  assert.deepEqual(
    [
      r.values.platformSettingHeartbeatLocalTimeShiftAlertThreshold,
      r.sources.platformSettingHeartbeatLocalTimeShiftAlertThreshold,
    ],
    ['1', 'base'],
  );
  assert.equal(tree.descendantsOf(40).length, 10);
  assert.equal(tree.validateMove(3, 49)?.code, 'cycle');
});

test('macOS computers are always agent-initiated; the policy still applies to Linux and Windows', () => {
  const tree = PolicyTree.from(nodes({ a: { platformSettingAgentCommunicationsDirection: 'Bidirectional' } }));
  for (const platform of ['linux', 'win32']) {
    const r = tree.resolveForComputer({ policyId: B, platform });
    assert.equal(r.values.platformSettingAgentCommunicationsDirection, 'Bidirectional');
    assert.equal(r.sources.platformSettingAgentCommunicationsDirection, `policy:${A}`);
  }
  const mac = tree.resolveForComputer({ policyId: B, platform: 'darwin' });
  assert.equal(mac.values.platformSettingAgentCommunicationsDirection, 'Agent/Appliance Initiated');
  assert.equal(mac.sources.platformSettingAgentCommunicationsDirection, 'platform');

  // Even a stored computer override (e.g. written before the platform was known) is overruled.
  const stored = tree.resolveForComputer({
    policyId: B,
    platform: 'darwin',
    overrides: { platformSettingAgentCommunicationsDirection: 'Manager Initiated' },
  });
  assert.equal(stored.values.platformSettingAgentCommunicationsDirection, 'Agent/Appliance Initiated');
  assert.equal(stored.sources.platformSettingAgentCommunicationsDirection, 'platform');

  // When the chain already says agent-initiated, the chain is the source.
  const plain = PolicyTree.from(nodes()).resolveForComputer({ policyId: B, platform: 'darwin' });
  assert.equal(plain.sources.platformSettingAgentCommunicationsDirection, 'base');
});

test('moves that would make a cycle, move the Base Policy or add a root are rejected', () => {
  const tree = PolicyTree.from(nodes());
  assert.equal(tree.validateMove(A, A)?.code, 'cycle');
  assert.match(tree.validateMove(A, A)!.message, /under itself/);
  const desc = tree.validateMove(A, B);
  assert.equal(desc?.code, 'cycle');
  assert.match(
    desc!.message,
    /policy 2 \("A"\) cannot be moved under policy 3 \("B"\), which is one of its descendants/,
  );
  assert.equal(tree.validateMove(BASE, A)?.code, 'move-base-policy');
  assert.equal(tree.validateMove(A, null)?.code, 'multiple-base-policies');
  assert.equal(tree.validateMove(99, A)?.code, 'unknown-policy');
  assert.equal(tree.validateMove(A, 99)?.code, 'unknown-parent');
  // Allowed: a no-op (also for the Base Policy), a sibling, up a level.
  assert.equal(tree.validateMove(BASE, null), null);
  assert.equal(tree.validateMove(B, A), null);
  assert.equal(tree.validateMove(B, C), null);
  assert.equal(tree.validateMove(B, BASE), null);
  assert.equal(tree.validateMove(C, B), null);

  assert.throws(
    () => tree.move(A, B),
    (e: unknown) => e instanceof PolicyTreeError && e.code === 'cycle' && e.problem.policyId === A,
  );
});

test('stored nodes that are not one tree are rejected with a typed error', () => {
  const base: PolicyNode = { id: BASE, parentId: null, name: 'Base Policy', overrides: {} };
  const cases: [PolicyNode[], string][] = [
    [[], 'no-base-policy'],
    [[base, { id: A, parentId: null, name: 'A', overrides: {} }], 'multiple-base-policies'],
    [[base, { id: A, parentId: 42, name: 'A', overrides: {} }], 'unknown-parent'],
    [
      [base, { id: A, parentId: BASE, name: 'A', overrides: {} }, { id: A, parentId: BASE, name: 'A2', overrides: {} }],
      'duplicate-policy-id',
    ],
    [
      [base, { id: A, parentId: B, name: 'A', overrides: {} }, { id: B, parentId: A, name: 'B', overrides: {} }],
      'cycle',
    ],
    [[base, { id: A, parentId: A, name: 'A', overrides: {} }], 'cycle'],
  ];
  for (const [input, code] of cases) {
    assert.equal(PolicyTree.check(input)?.code, code);
    assert.throws(
      () => PolicyTree.from(input),
      (e: unknown) => e instanceof PolicyTreeError && e.code === code,
    );
  }
  assert.equal(PolicyTree.check(nodes()), null);
  // withPolicy goes through the same checks.
  assert.throws(
    () => PolicyTree.from(nodes()).withPolicy({ id: A, parentId: B, name: 'A', overrides: {} }),
    /own ancestor/,
  );
});

test('unknown policy IDs throw a typed error', () => {
  const tree = PolicyTree.from(nodes());
  assert.throws(
    () => tree.chainFor(99),
    (e: unknown) => e instanceof PolicyTreeError && e.code === 'unknown-policy' && /unknown policy 99/.test(e.message),
  );
  assert.throws(() => tree.resolveForComputer({ policyId: 99 }), PolicyTreeError);
  assert.throws(() => tree.withOverrides(99, {}), PolicyTreeError);
});

test('removal: not the Base Policy, not a policy with children', () => {
  const tree = PolicyTree.from(nodes());
  assert.equal(tree.validateRemove(BASE)?.code, 'remove-base-policy');
  assert.equal(tree.validateRemove(A)?.code, 'policy-has-children');
  assert.match(tree.validateRemove(A)!.message, /1 child policy \(3\)/);
  assert.equal(tree.validateRemove(99)?.code, 'unknown-policy');
  const smaller = tree.remove(B);
  assert.equal(smaller.has(B), false);
  assert.equal(smaller.validateRemove(A), null);
});

test('nodes are copied and frozen: later changes to the input do not leak in', () => {
  const input = nodes({ a: { firewallSettingState: 'Off' } });
  const tree = PolicyTree.from(input);
  (input[2]!.overrides as SettingOverrides).firewallSettingState = 'On';
  assert.equal(tree.resolveForPolicy(A).values.firewallSettingState, 'Off');
  assert.ok(Object.isFrozen(tree.get(A)!.overrides));
});

test('the fingerprint changes exactly when an agent-used effective value changes', async () => {
  const fingerprint = (tree: PolicyTree, platform = 'linux') =>
    configurationFingerprint(
      buildSecurityConfiguration({
        settings: tree.resolveForComputer({ policyId: B, overrides: {}, platform }).values,
        heartbeatIntervalSeconds: HEARTBEAT_INTERVAL_SECONDS,
      }),
    );
  const tree = PolicyTree.from(nodes());
  const start = await fingerprint(tree);

  // Manager-only settings: the agent's configuration is unchanged, on any level.
  const managerOnly = tree
    .withOverrides(BASE, { platformSettingHeartbeatInactiveVmOfflineAlertEnabled: 'true' })
    .withOverrides(A, { platformSettingHeartbeatLocalTimeShiftAlertThreshold: '15' });
  assert.equal(await fingerprint(managerOnly), start);
  assert.equal(
    await fingerprint(tree.withOverrides(B, { platformSettingHeartbeatLocalTimeShiftAlertThreshold: 'Unlimited' })),
    start,
  );

  // Agent-used settings: firewall state and direction, inherited from any level.
  const firewallOff = tree.withOverrides(A, { firewallSettingState: 'Off' });
  assert.notEqual(await fingerprint(firewallOff), start);
  const bidirectional = tree.withOverrides(BASE, { platformSettingAgentCommunicationsDirection: 'Bidirectional' });
  assert.notEqual(await fingerprint(bidirectional), start);
  assert.notEqual(await fingerprint(bidirectional), await fingerprint(firewallOff));

  // An override equal to the inherited value changes no effective value, so no fingerprint.
  assert.equal(await fingerprint(tree.withOverrides(B, { firewallSettingState: 'On' })), start);
  // Moving B under C (no overrides) changes nothing effective; moving it out from under A
  // (firewall Off) brings the firewall back On, and the fingerprint back to the start.
  assert.equal(await fingerprint(tree.move(B, C)), start);
  assert.equal(await fingerprint(firewallOff.move(B, C)), start);

  // On macOS the direction is pinned, so a Bidirectional policy does not change its fingerprint.
  assert.equal(await fingerprint(bidirectional, 'darwin'), await fingerprint(tree, 'darwin'));
});
