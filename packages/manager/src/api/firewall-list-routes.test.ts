import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import type { ApiViews as V } from './api-views.js';

type Lists<K extends string> = Record<K, V['FirewallList'][]>;

describe('IP, MAC and port lists: the resources, and what a change reaches', () => {
  let f: ApiFixture;
  let web: number;
  let db: number;
  let policy: number;
  const ok = async <T>(method: string, path: string, body?: unknown, key?: string): Promise<T> => {
    const r = await f.request(method, path, body, key ? { key } : {});
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.json<T>();
  };
  const status = async (id: number) =>
    (await ok<V['Computer']>('GET', `/api/computers/${id}`)).computerStatus?.agentStatusMessages[0];
  const firewallOf = async (id: number) => {
    const c = (await f.store.computers.get(id))!;
    return (await f.configurations.forComputer(c, f.store)).configuration.firewall;
  };

  before(async () => {
    f = await startApiFixture();
    policy = (await ok<V['Policy']>('POST', '/api/policies', { name: 'Web' })).ID;
    web = (await f.addComputer({ hostName: 'web-1', policyId: policy })).id;
    db = (await f.addComputer({ hostName: 'db-1' })).id;
    for (const id of [web, db]) await f.heartbeat(id);
  });
  after(() => f.close());

  test("create, describe, list and search in Deep Security's shape; items checked, names unique per kind", async () => {
    const ip = await ok<V['FirewallList']>('POST', '/api/iplists', {
      name: 'Admins',
      description: ' jump hosts ',
      items: ['198.18.0.0/255.255.255.0', '198.18.1.7 # bastion', '2001:db8::1 - 2001:db8::9', '10.0.0.1,10.0.0.2'],
    });
    assert.deepEqual(
      { ...ip, ID: 0 },
      {
        ID: 0,
        name: 'Admins',
        description: 'jump hosts',
        items: [
          '198.18.0.0/255.255.255.0',
          '198.18.1.7 # bastion',
          '2001:db8::1 - 2001:db8::9',
          '10.0.0.1',
          '10.0.0.2',
        ],
      },
    );
    assert.deepEqual(await ok('GET', `/api/iplists/${ip.ID}`), ip);
    assert.deepEqual(await ok('GET', '/api/iplists'), { ipLists: [ip] });
    const found = await ok('POST', '/api/iplists/search', {
      searchCriteria: [{ fieldName: 'name', stringValue: 'adm%' }],
    });
    assert.deepEqual(found, { ipLists: [ip] });

    const bad = await f.request('POST', '/api/maclists', { items: ['00:11:22:33:44', 'nope'] });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'FIREWALL_LIST_INVALID');
    assert.match(errorOf(bad).message, /name: is required/);
    assert.match(errorOf(bad).message, /items\[0\]: "00:11:22:33:44" is not a MAC address/);
    assert.match(errorOf(bad).message, /items\[1\]: "nope" is not a MAC address/);
    assert.equal((await f.request('POST', '/api/portlists', { name: 'p', items: [22] })).status, 400);

    // The same name is free in another kind, taken in the same one.
    await ok('POST', '/api/maclists', { name: 'Admins', items: ['00:11:22:33:44:55'] });
    const dup = await f.request('POST', '/api/iplists', { name: 'Admins' });
    assert.deepEqual([dup.status, errorOf(dup).code], [409, 'FIREWALL_LIST_NAME_TAKEN']);
    // An IP list's ID is not a port list's.
    assert.equal(errorOf(await f.request('GET', `/api/portlists/${ip.ID}`)).code, 'FIREWALL_LIST_NOT_FOUND');
  });

  test('rules name lists by …ListID (of their kind); the items travel in the configuration', async () => {
    const ports = await ok<V['FirewallList']>('POST', '/api/portlists', { name: 'Web ports', items: ['80', '443'] });
    const ips = (await ok<Lists<'ipLists'>>('GET', '/api/iplists')).ipLists[0]!;
    const wrongKind = await f.request('POST', '/api/firewallrules', {
      name: 'x',
      action: 'allow',
      protocol: 'tcp',
      destinationPortType: 'port-list',
      destinationPortListID: ips.ID,
    });
    assert.deepEqual([wrongKind.status, errorOf(wrongKind).code], [400, 'FIREWALL_LIST_REFERENCE_UNKNOWN']);
    assert.match(errorOf(wrongKind).message, new RegExp(`destinationPortListID ${ips.ID} names no port list`));
    const rule = await ok<V['Rule']>('POST', '/api/firewallrules', {
      name: 'Web from admins',
      action: 'allow',
      protocol: 'tcp',
      sourceIPType: 'ip-list',
      sourceIPListID: ips.ID,
      destinationPortType: 'port-list',
      destinationPortListID: ports.ID,
    });
    await ok('POST', `/api/policies/${policy}/firewall`, { ruleIDs: [rule.ID] });
    assert.deepEqual((await firewallOf(web)).lists, {
      ipLists: { [ips.ID]: ips.items },
      macLists: {},
      portLists: { [ports.ID]: ['80', '443'] },
    });
    assert.equal('lists' in (await firewallOf(db)), false, 'a computer whose rules name no list carries none');
    const effective = await ok<V['Effective']>('GET', `/api/computers/${web}/firewall/effective`);
    assert.equal(effective.rules[0]?.sourceIPListID, ips.ID);
  });

  test('changing a list re-fingerprints exactly the computers whose rules name it; a rename alone does not', async () => {
    for (const id of [web, db]) await f.heartbeat(id);
    assert.deepEqual([await status(web), await status(db)], ['Managed (Online)', 'Managed (Online)']);
    const ports = (await ok<Lists<'portLists'>>('GET', '/api/portlists')).portLists.find(
      (l) => l.name === 'Web ports',
    )!;
    const before = (await f.store.computers.get(web))!.expectedFingerprint;

    const renamed = await ok<V['FirewallList']>('POST', `/api/portlists/${ports.ID}`, { name: 'HTTP ports' });
    assert.deepEqual([renamed.name, renamed.items], ['HTTP ports', ['80', '443']]);
    assert.equal((await f.store.computers.get(web))!.expectedFingerprint, before);

    const changed = await ok<V['FirewallList']>('POST', `/api/portlists/${ports.ID}`, {
      ...renamed,
      items: ['80', '443', '8443'],
    });
    assert.deepEqual([await status(web), await status(db)], ['Update Pending (Heartbeat)', 'Managed (Online)']);
    assert.notEqual((await f.store.computers.get(web))!.expectedFingerprint, before);
    assert.deepEqual((await firewallOf(web)).lists?.portLists[ports.ID], ['80', '443', '8443']);
    // Sent back unchanged: nothing changes.
    assert.deepEqual(await ok('POST', `/api/portlists/${ports.ID}`, changed), changed);
    // Two changes (rename, items), two rows; the echo wrote none.
    const audit = (await ok<V['AuditList']>('GET', '/api/auditevents?limit=20')).auditEvents.filter(
      (e) => e.targetType === 'firewallList' && e.targetID === ports.ID && e.action !== 'firewallList.create',
    );
    assert.deepEqual(
      audit.map((e) => [e.action, e.setting]),
      [
        ['firewallList.modify', 'port'],
        ['firewallList.modify', 'port'],
      ],
    );
  });

  test('a list rules name cannot be deleted; once no rule names it, it goes', async () => {
    const ips = (await ok<Lists<'ipLists'>>('GET', '/api/iplists')).ipLists[0]!;
    const refused = await f.request('DELETE', `/api/iplists/${ips.ID}`);
    assert.deepEqual([refused.status, errorOf(refused).code], [409, 'FIREWALL_LIST_IN_USE']);
    assert.match(errorOf(refused).message, /"Web from admins"/);
    const rule = (await ok<V['RuleList']>('GET', '/api/firewallrules')).firewallRules[0]!;
    await ok('POST', `/api/firewallrules/${rule.ID}`, { sourceIPType: 'any' });
    assert.equal((await f.request('DELETE', `/api/iplists/${ips.ID}`)).status, 204);
    assert.equal((await f.request('GET', `/api/iplists/${ips.ID}`)).status, 404);
  });

  test('a read-only key reads and searches lists but cannot write them', async () => {
    const ro = { key: f.keys.readOnly };
    assert.equal((await f.request('GET', '/api/maclists', undefined, ro)).status, 200);
    assert.equal((await f.request('POST', '/api/maclists/search', {}, ro)).status, 200);
    assert.equal((await f.request('POST', '/api/maclists', { name: 'x' }, ro)).status, 403);
  });
});
