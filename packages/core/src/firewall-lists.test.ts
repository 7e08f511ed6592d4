import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  firewallListItemProblems,
  firewallRuleListReferences,
  listContentsFor,
  validateFirewallListContents,
} from './firewall-lists.js';
import { type FirewallRule, validateFirewallRule } from './firewall-rule.js';
import {
  buildSecurityConfiguration,
  configurationFingerprint,
  validateFirewallConfiguration,
} from './security-configuration.js';
import { defaultSettings } from './settings-catalog.js';

function rule(input: Record<string, unknown>): FirewallRule {
  const r = validateFirewallRule({ id: 'r1', name: 'n', action: 'deny', ...input });
  if (!r.ok) assert.fail(r.problems.join('\n'));
  return r.rule;
}

const USES_LISTS = rule({
  protocol: 'tcp',
  sourceIPType: 'ip-list',
  sourceIPListID: 1,
  destinationMACType: 'mac-list',
  destinationMACListID: 2,
  destinationPortType: 'port-list',
  destinationPortListID: 3,
});

test("list items in Deep Security's forms, comments allowed; problems name the item", () => {
  assert.deepEqual(
    firewallListItemProblems('ip', [
      '192.168.2.0/24',
      '192.168.2.0/255.255.255.0',
      '2001:0DB8::CD30:0:0:0:0/60',
      '192.168.0.2 - 192.168.0.125 # printers',
      'FF01::101 - FF01::102',
      '# a comment line',
      '',
    ]),
    [],
  );
  assert.deepEqual(firewallListItemProblems('ip', ['10.0.0.1', '10.0.0.300', 7]), [
    'items[1]: "10.0.0.300" is not an IP address, masked IP or range',
    'items[2]: 7 is not text',
  ]);
  assert.deepEqual(firewallListItemProblems('mac', ['00:11:22:33:44:55', '00-11-22-33-44-55 # nic', '00:11']), [
    'items[2]: "00:11" is not a MAC address (six hex pairs separated by : or -)',
  ]);
  assert.deepEqual(firewallListItemProblems('port', ['22', '8000-8080', '9-1']), [
    'items[2]: "9-1": range starts after it ends',
  ]);
});

test('a rule names its lists by member; a configuration carries exactly those lists', () => {
  assert.deepEqual(firewallRuleListReferences(USES_LISTS), [
    { member: 'sourceIPListID', kind: 'ip', id: 1 },
    { member: 'destinationMACListID', kind: 'mac', id: 2 },
    { member: 'destinationPortListID', kind: 'port', id: 3 },
  ]);
  const all = {
    ipLists: { '1': ['10.0.0.0/8'], '9': ['192.0.2.0/24'] },
    macLists: { '2': ['00:11:22:33:44:55'] },
    portLists: { '3': ['22'] },
  };
  assert.deepEqual(listContentsFor([USES_LISTS], all), {
    ipLists: { '1': ['10.0.0.0/8'] },
    macLists: { '2': ['00:11:22:33:44:55'] },
    portLists: { '3': ['22'] },
  });
  assert.throws(
    () => listContentsFor([USES_LISTS], { ...all, portLists: {} }),
    /rule r1: destinationPortListID 3 names no port list/,
  );
});

test('list contents change the configuration and its fingerprint; rules without lists keep their shape', async () => {
  const settings = defaultSettings();
  const build = (portItems: string[]) =>
    buildSecurityConfiguration({
      settings,
      heartbeatIntervalSeconds: 600,
      firewallRules: [USES_LISTS],
      firewallLists: {
        ipLists: { '1': ['10.0.0.0/8'] },
        macLists: { '2': ['00:11:22:33:44:55'] },
        portLists: { '3': portItems },
      },
    });
  const a = build(['22']);
  const b = build(['22', '2222']);
  assert.deepEqual(a.firewall.lists?.portLists, { '3': ['22'] });
  assert.notEqual(await configurationFingerprint(a), await configurationFingerprint(b));
  const plain = buildSecurityConfiguration({ settings, heartbeatIntervalSeconds: 600, firewallRules: [rule({})] });
  assert.equal('lists' in plain.firewall, false);
  // The agent's check of what it received.
  const v = validateFirewallConfiguration(JSON.parse(JSON.stringify(b.firewall)));
  assert.ok(v.ok);
  assert.deepEqual(v.lists.portLists, { '3': ['22', '2222'] });
  assert.deepEqual(validateFirewallConfiguration({ ...b.firewall, lists: { ...b.firewall.lists!, portLists: {} } }), {
    ok: false,
    problems: ['rule r1: destinationPortListID 3 names no port list'],
  });
  assert.deepEqual(validateFirewallListContents({ ipLists: { x: [] }, macLists: { '2': ['zz'] }, colors: {} }), {
    ok: false,
    problems: [
      'colors: is not a list kind',
      'ipLists.x: is not a list ID',
      'macLists.2.items[0]: "zz" is not a MAC address (six hex pairs separated by : or -)',
    ],
  });
});
