import assert from 'node:assert/strict';
import { test } from 'node:test';
import { registerAgentActivationSettings } from './agent-activation-settings.js';
import { checkValue, SystemSettingsRegistry } from './system-settings-registry.js';

test('the activation settings register under Deep Security names, their values checked', () => {
  const registry = new SystemSettingsRegistry();
  registerAgentActivationSettings(registry);
  assert.deepEqual(
    registry.list().map((d) => [d.name, d.default]),
    [
      ['platformSettingAgentInitiatedActivationEnabled', 'For any computers'],
      ['platformSettingAgentInitiatedActivationReactivateClonedEnabled', 'true'],
      ['platformSettingAgentInitiatedActivationReactivateUnknownEnabled', 'true'],
    ],
  );
  const allow = registry.get('platformSettingAgentInitiatedActivationEnabled')!;
  assert.equal(checkValue(allow, 'Off'), null);
  assert.match(checkValue(allow, 'For computers on the following IP list') ?? '', /is not one of/);
  assert.match(
    checkValue(registry.get('platformSettingAgentInitiatedActivationReactivateClonedEnabled')!, 'yes') ?? '',
    /is not one of "true", "false"/,
  );
  assert.throws(() => registerAgentActivationSettings(registry), /registered twice/);
});
