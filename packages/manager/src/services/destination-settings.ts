import { checkDestinationAllowList } from '@palisade/core';
import { AGENT_LISTENER_ALLOW_LIST_SETTING } from '../dialer/listener-address-policy.js';
import { NOTIFIER_ALLOW_LIST_SETTING, NOTIFIER_PUBLIC_SETTING } from '../notifiers/destination-guard.js';
import type { SystemSettingsRegistry } from './system-settings-registry.js';

/**
 * Adds the settings that bound where the manager connects on someone else's word (Deep
 * Security has none of them: Palisade's names): notifier destinations, read by the notifier
 * dispatcher at each pass, and the agent listener addresses the dialer may call, read at each
 * dial (docs/security.md "Notifier destinations", "Agent listener addresses").
 */
export function registerDestinationSettings(registry: SystemSettingsRegistry): void {
  registry.register({
    name: NOTIFIER_ALLOW_LIST_SETTING,
    description:
      'Notifier destinations allowed beyond public addresses: addresses, masked addresses (10.0.0.0/8), ranges or host names, each with an optional :port ([fd00::/8]:514 for IPv6), separated by commas or spaces. Empty: loopback, private, link-local and other special-use addresses are refused.',
    default: '',
    check: checkDestinationAllowList,
  });
  registry.register({
    name: NOTIFIER_PUBLIC_SETTING,
    description:
      'true: notifiers may send to any public address without it being listed; false: only to what the allow-list lists.',
    default: 'true',
    values: ['true', 'false'],
  });
  registry.register({
    name: AGENT_LISTENER_ALLOW_LIST_SETTING,
    description:
      'Listener addresses agents may announce beyond the address their own connections come from, for the manager to dial (Manager Initiated, Bidirectional): addresses, masked addresses (10.0.0.0/8), ranges or host names, each with an optional :port. Empty: an agent is dialled only at the address its heartbeats come from.',
    default: '',
    check: checkDestinationAllowList,
  });
}
