import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PolicyTree } from './policy-tree.js';
import { applySettingWrite, checkSettingWrite } from './setting-write.js';
import { SETTINGS_CATALOG } from './settings-catalog.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';

test('valid writes and removals are accepted', () => {
  assert.equal(
    checkSettingWrite({ target: 'policy', isBasePolicy: true, name: 'firewallSettingState', value: 'Off' }),
    null,
  );
  assert.equal(
    checkSettingWrite({ target: 'policy', isBasePolicy: false, name: 'firewallSettingState', value: null }),
    null,
  );
  assert.equal(
    checkSettingWrite({
      target: 'computer',
      platform: 'linux',
      name: 'platformSettingHeartbeatLocalTimeShiftAlertThreshold',
      value: '45',
    }),
    null,
  );
  assert.equal(checkSettingWrite({ target: 'computer', platform: 'win32', name: DIRECTION, value: null }), null);
});

test('unknown names are rejected', () => {
  const p = checkSettingWrite({ target: 'policy', isBasePolicy: false, name: 'firewallSettingStat', value: 'On' });
  assert.equal(p?.code, 'unknown-setting');
  assert.equal(p?.message, 'unknown setting "firewallSettingStat"');
  assert.equal(checkSettingWrite({ target: 'computer', name: '__proto__', value: null })?.code, 'unknown-setting');
});

test('read-only settings reject every write, even their own value and a removal', () => {
  for (const def of SETTINGS_CATALOG.filter((s) => s.readOnly)) {
    for (const target of ['policy', 'computer'] as const) {
      for (const value of [def.default, 'something else', null]) {
        const p = checkSettingWrite({ target, isBasePolicy: target === 'policy', name: def.name, value });
        assert.equal(p?.code, 'read-only', `${target} ${def.name} = ${String(value)}`);
      }
    }
  }
  assert.equal(
    checkSettingWrite({
      target: 'policy',
      isBasePolicy: true,
      name: 'platformSettingHeartbeatInterval',
      value: '10 Minutes',
    })?.message,
    'setting "platformSettingHeartbeatInterval" is read-only: it is fixed at "10 Minutes" and cannot be changed or overridden',
  );
  assert.match(
    checkSettingWrite({ target: 'computer', name: 'platformSettingHeartbeatMissedAlertThreshold', value: '3' })!
      .message,
    /fixed at "2"/,
  );
});

test("invalid values and wrong types are rejected with settingValueProblem's reason", () => {
  const bad: [string, unknown][] = [
    ['firewallSettingState', 'off'],
    ['firewallSettingState', true],
    [DIRECTION, 'Agent Initiated'],
    ['platformSettingHeartbeatInactiveVmOfflineAlertEnabled', 'yes'],
    ['platformSettingHeartbeatLocalTimeShiftAlertThreshold', '0'],
    ['platformSettingHeartbeatLocalTimeShiftAlertThreshold', 10],
    ['firewallSettingState', undefined],
  ];
  for (const [name, value] of bad) {
    const p = checkSettingWrite({ target: 'policy', isBasePolicy: false, name, value });
    assert.equal(p?.code, 'invalid-value', `${name} = ${String(value)}`);
    assert.equal(p?.name, name);
  }
  assert.equal(
    checkSettingWrite({ target: 'policy', isBasePolicy: false, name: 'firewallSettingState', value: 'off' })?.message,
    'setting "firewallSettingState" takes one of "On", "Off", got "off"',
  );
});

test('the Base Policy cannot return a setting to Inherited', () => {
  const p = checkSettingWrite({ target: 'policy', isBasePolicy: true, name: 'firewallSettingState', value: null });
  assert.equal(p?.code, 'base-policy-inherit');
  assert.match(p!.message, /cannot be Inherited on the Base Policy: it has no parent/);
});

test('a macOS computer rejects any direction but Agent/Appliance Initiated', () => {
  for (const value of ['Bidirectional', 'Manager Initiated']) {
    const p = checkSettingWrite({ target: 'computer', platform: 'darwin', name: DIRECTION, value });
    assert.equal(p?.code, 'macos-direction');
    assert.match(p!.message, /macOS agents support only agent-initiated communication/);
  }
  assert.equal(
    checkSettingWrite({ target: 'computer', platform: 'darwin', name: DIRECTION, value: 'Agent/Appliance Initiated' }),
    null,
  );
  assert.equal(checkSettingWrite({ target: 'computer', platform: 'darwin', name: DIRECTION, value: null }), null);
  // An invalid value is reported as such, not as a macOS problem.
  assert.equal(
    checkSettingWrite({ target: 'computer', platform: 'darwin', name: DIRECTION, value: 'Sideways' })?.code,
    'invalid-value',
  );
  // Other platforms, or a platform not yet known, accept every direction.
  for (const platform of ['linux', 'win32', null, undefined]) {
    assert.equal(checkSettingWrite({ target: 'computer', platform, name: DIRECTION, value: 'Bidirectional' }), null);
  }
});

test('a policy may be Bidirectional: it applies to Linux/Windows computers, macOS stays agent-initiated', () => {
  const write = { target: 'policy', isBasePolicy: false, name: DIRECTION, value: 'Bidirectional' } as const;
  assert.equal(checkSettingWrite(write), null);

  let tree = PolicyTree.from([
    { id: 1, parentId: null, name: 'Base Policy', overrides: {} },
    { id: 2, parentId: 1, name: 'Servers', overrides: {} },
  ]);
  tree = tree.withOverrides(2, applySettingWrite(tree.get(2)!.overrides, DIRECTION, write.value));
  assert.equal(tree.resolveForComputer({ policyId: 2, platform: 'linux' }).values[DIRECTION], 'Bidirectional');
  assert.equal(tree.resolveForComputer({ policyId: 2, platform: 'win32' }).values[DIRECTION], 'Bidirectional');
  assert.equal(
    tree.resolveForComputer({ policyId: 2, platform: 'darwin' }).values[DIRECTION],
    'Agent/Appliance Initiated',
  );
});

test('applySettingWrite stores or removes without touching its input', () => {
  const before = { firewallSettingState: 'Off' } as const;
  assert.deepEqual(applySettingWrite(before, DIRECTION, 'Bidirectional'), {
    firewallSettingState: 'Off',
    [DIRECTION]: 'Bidirectional',
  });
  assert.deepEqual(applySettingWrite(before, 'firewallSettingState', null), {});
  assert.deepEqual(before, { firewallSettingState: 'Off' });
});
