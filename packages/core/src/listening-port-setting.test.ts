import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveEffectiveSettings } from './effective-settings.js';
import { effectiveFirewallRules } from './firewall-hidden-rule.js';
import { compileNftables } from './nftables-compiler.js';
import { buildSecurityConfiguration, configurationFingerprint } from './security-configuration.js';
import { checkSettingWrite } from './setting-write.js';
import { defaultSettings, findSetting, settingValueProblem } from './settings-catalog.js';

const PORT = 'platformSettingAgentListeningPort';

test('the listening port is a setting: 4118 by default, sent to the agent', () => {
  const def = findSetting(PORT);
  assert.ok(def);
  assert.deepEqual([def.type, def.default, def.readOnly, def.agentUses], ['port', '4118', false, true]);
  assert.equal(defaultSettings()[PORT], '4118');
});

test('port values: 1 to 65535, digits only; anything else has a reason', () => {
  for (const ok of ['1', '4118', '4999', '65535']) assert.equal(settingValueProblem(PORT, ok), null, ok);
  for (const bad of ['0', '65536', '99999', '-1', '04118', '41 18', '4118.0', '', 'Unlimited', '0x1016']) {
    assert.equal(
      settingValueProblem(PORT, bad),
      `setting "${PORT}" takes a TCP port number from 1 to 65535, got "${bad}"`,
      bad,
    );
  }
  assert.match(settingValueProblem(PORT, 4999) ?? '', /takes a string value, got number/);
  assert.equal(
    checkSettingWrite({ target: 'computer', platform: 'linux', name: PORT, value: '70000' })?.code,
    'invalid-value',
  );
  assert.equal(checkSettingWrite({ target: 'policy', isBasePolicy: false, name: PORT, value: null }), null);
});

test('Inherited like the others: the computer, then its policies, then the Base Policy', () => {
  assert.equal(resolveEffectiveSettings([{}, {}], {})[PORT], '4118');
  assert.equal(resolveEffectiveSettings([{}, { [PORT]: '5000' }], { [PORT]: '4444' })[PORT], '5000');
  assert.equal(resolveEffectiveSettings([{ [PORT]: '6000' }, { [PORT]: '5000' }])[PORT], '6000');
  assert.equal(resolveEffectiveSettings([{}], { [PORT]: '4444' })[PORT], '4444');
});

test("the configuration's listening port, hidden rule and nftables table follow the setting", async () => {
  const settings = { ...defaultSettings(), platformSettingAgentCommunicationsDirection: 'Bidirectional' };
  const plain = buildSecurityConfiguration({ settings, heartbeatIntervalSeconds: 600 });
  const moved = buildSecurityConfiguration({
    settings: { ...settings, [PORT]: '4999' },
    heartbeatIntervalSeconds: 600,
  });
  assert.equal(plain.communication.listeningPort, 4118);
  assert.equal(moved.communication.listeningPort, 4999);
  assert.notEqual(await configurationFingerprint(plain), await configurationFingerprint(moved));
  const effective = effectiveFirewallRules({
    rules: [],
    listen: true,
    listeningPort: moved.communication.listeningPort,
  });
  assert.deepEqual(effective.rules[0]?.destinationPortMultiple, ['4999']);
  const script = compileNftables(effective, { state: 'On' });
  assert.match(script, /tcp dport 4999 counter name "?r_hidden-listening-port"? accept/);
  assert.doesNotMatch(script, /4118/);
});
