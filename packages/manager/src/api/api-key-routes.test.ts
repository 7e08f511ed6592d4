import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import type { ApiViews } from './api-views.js';

type Key = ApiViews['ApiKey'];
type Issued = ApiViews['ApiKeyWithSecret'];

describe('/api/apikeys and /api/roles', () => {
  let f: ApiFixture;
  let t = 1_700_000_000_000;
  before(async () => {
    f = await startApiFixture({ now: () => t });
  });
  after(() => f.close());
  const as = (key: string) => ({ key });

  test('create shows the secret once; it works, with its role; describe and list never show it', async () => {
    const r = await f.request('POST', '/api/apikeys', { keyName: 'ci', description: 'pipeline', roleID: 2 });
    assert.equal(r.status, 200);
    const made = r.json<Issued>();
    assert.match(made.secretKey, /^psk_/);
    assert.deepEqual(
      { ...made, secretKey: undefined, ID: undefined },
      {
        ID: undefined,
        secretKey: undefined,
        keyName: 'ci',
        description: 'pipeline',
        locale: 'en-US',
        roleID: 2,
        timeZone: 'UTC',
        active: true,
        created: t,
        lastSignIn: null,
        expiryDate: null,
      },
    );
    assert.equal((await f.request('GET', '/api/computers', undefined, as(made.secretKey))).status, 200);
    const write = await f.request('POST', '/api/policies', { name: 'x', parentID: 1 }, as(made.secretKey));
    assert.deepEqual([write.status, errorOf(write).code], [403, 'READ_ONLY_API_KEY'], 'roleID 2 is the Auditor');
    const described = await f.request('GET', `/api/apikeys/${made.ID}`);
    assert.equal((described.body as Record<string, unknown>).secretKey, undefined);
    const listed = (await f.request('GET', '/api/apikeys')).json<{ apiKeys: Key[] }>().apiKeys;
    assert.deepEqual(
      listed.map((k) => k.keyName),
      ['test admin', 'test auditor', 'ci'],
    );
    assert.ok(listed.every((k) => !('secretKey' in k)));
    const found = await f.request('POST', '/api/apikeys/search', {
      searchCriteria: [{ fieldName: 'keyName', stringValue: 'c%' }],
    });
    assert.deepEqual(
      found.json<{ apiKeys: Key[] }>().apiKeys.map((k) => k.ID),
      [made.ID],
    );
  });

  test('modify: a described key sent back changes nothing; roleID, active and expiryDate take effect', async () => {
    const made = (await f.request('POST', '/api/apikeys', { keyName: 'ops', roleID: 1 })).json<Issued>();
    const { secretKey, ...described } = made;
    const lastAudit = (await f.store.audit.list({ limit: 1 }))[0]?.id;
    assert.deepEqual((await f.request('POST', `/api/apikeys/${made.ID}`, described)).body, described);
    assert.equal((await f.store.audit.list({ limit: 1 }))[0]?.id, lastAudit, 'no change, no audit row');

    await f.request('POST', `/api/apikeys/${made.ID}`, { active: false });
    const locked = await f.request('GET', '/api/computers', undefined, as(secretKey));
    assert.deepEqual([locked.status, errorOf(locked).code], [401, 'API_KEY_INVALID']);
    await f.request('POST', `/api/apikeys/${made.ID}`, { active: true, roleID: 2 });
    assert.equal((await f.request('GET', '/api/computers', undefined, as(secretKey))).status, 200);
    assert.equal((await f.request('POST', '/api/policies', { name: 'y' }, as(secretKey))).status, 403);

    await f.request('POST', `/api/apikeys/${made.ID}`, { expiryDate: t + 1000 });
    assert.equal((await f.request('GET', '/api/computers', undefined, as(secretKey))).status, 200);
    t += 1000;
    const expired = await f.request('GET', '/api/computers', undefined, as(secretKey));
    assert.equal(expired.status, 401);
    assert.match(errorOf(expired).message, /expired/);
    await f.request('POST', `/api/apikeys/${made.ID}`, { expiryDate: null });

    const audit = (await f.store.audit.list({ limit: 4 })).map((e) => e.action);
    assert.deepEqual(audit, ['apiKey.modify', 'apiKey.modify', 'apiKey.modify', 'apiKey.modify']);
  });

  test('refusals change nothing: a role not there, a foreign ID, an unknown member, a read-only key', async () => {
    const before = (await f.request('GET', '/api/apikeys')).body;
    const role = await f.request('POST', '/api/apikeys', { keyName: 'x', roleID: 7 });
    assert.deepEqual([role.status, errorOf(role).code], [400, 'ROLE_REFERENCE_UNKNOWN']);
    assert.match(errorOf(role).message, /1 \(Full Access\), 2 \(Auditor\)/);
    const noRole = await f.request('POST', '/api/apikeys', { keyName: 'x' });
    assert.deepEqual([noRole.status, errorOf(noRole).code], [400, 'VALIDATION_FAILED']);
    const id = await f.request('POST', `/api/apikeys/${f.keys.readOnlyId}`, { ID: f.keys.fullId, keyName: 'z' });
    assert.deepEqual([id.status, errorOf(id).code], [400, 'VALIDATION_FAILED']);
    const member = await f.request('POST', `/api/apikeys/${f.keys.readOnlyId}`, { secretKey: 'psk_mine' });
    assert.deepEqual([member.status, errorOf(member).code], [400, 'VALIDATION_FAILED']);
    const ro = await f.request('POST', '/api/apikeys', { keyName: 'x', roleID: 1 }, as(f.keys.readOnly));
    assert.deepEqual([ro.status, errorOf(ro).code], [403, 'READ_ONLY_API_KEY']);
    assert.equal((await f.request('GET', '/api/apikeys/999999')).status, 404);
    assert.deepEqual((await f.request('GET', '/api/apikeys')).body, before);
  });

  test('current: describe it; a new secret for it or another key replaces the old one at once', async () => {
    const made = (await f.request('POST', '/api/apikeys', { keyName: 'rotating', roleID: 1 })).json<Issued>();
    const current = await f.request('GET', '/api/apikeys/current', undefined, as(made.secretKey));
    assert.equal(current.json<Key>().ID, made.ID);

    const rotated = (
      await f.request('POST', '/api/apikeys/current/secretkey', undefined, as(made.secretKey))
    ).json<Issued>();
    assert.equal(rotated.ID, made.ID);
    assert.notEqual(rotated.secretKey, made.secretKey);
    assert.equal((await f.request('GET', '/api/apikeys/current', undefined, as(made.secretKey))).status, 401);
    assert.equal((await f.request('GET', '/api/apikeys/current', undefined, as(rotated.secretKey))).status, 200);

    const again = (await f.request('POST', `/api/apikeys/${made.ID}/secretkey`)).json<Issued>();
    assert.equal((await f.request('GET', '/api/computers', undefined, as(rotated.secretKey))).status, 401);
    assert.equal((await f.request('GET', '/api/computers', undefined, as(again.secretKey))).status, 200);
    const audit = await f.store.audit.list({ limit: 2 });
    assert.deepEqual(
      audit.map((e) => [e.action, e.targetId, e.newValue]),
      [
        ['apiKey.secretkey', made.ID, null],
        ['apiKey.secretkey', made.ID, null],
      ],
    );
    assert.ok(!JSON.stringify(await f.store.audit.list({ limit: 50 })).includes(again.secretKey.slice(4)));
  });

  test('delete revokes: the key is refused, gone from the list, the audit log still names it', async () => {
    const made = (await f.request('POST', '/api/apikeys', { keyName: 'temporary', roleID: 1 })).json<Issued>();
    assert.equal((await f.request('DELETE', `/api/apikeys/${made.ID}`)).status, 204);
    assert.equal((await f.request('GET', '/api/computers', undefined, as(made.secretKey))).status, 401);
    assert.equal((await f.request('GET', `/api/apikeys/${made.ID}`)).status, 404);
    assert.equal((await f.request('DELETE', `/api/apikeys/${made.ID}`)).status, 404);
    assert.equal((await f.request('POST', `/api/apikeys/${made.ID}/secretkey`)).status, 404);
    const keys = (await f.request('GET', '/api/apikeys')).json<{ apiKeys: Key[] }>().apiKeys;
    assert.ok(!keys.some((k) => k.ID === made.ID));
    assert.equal((await f.store.audit.list({ limit: 1 }))[0]?.action, 'apiKey.revoke');
    assert.ok((await f.store.apiKeys.list()).some((k) => k.id === made.ID && k.revokedAt !== null));
  });

  test('roles: the two Palisade enforces, under the IDs and names of Deep Security built-in roles', async () => {
    const roles = (await f.request('GET', '/api/roles')).json<{ roles: ApiViews['Role'][] }>().roles;
    assert.deepEqual(
      roles.map((r) => [r.ID, r.name, r.readOnly]),
      [
        [1, 'Full Access', false],
        [2, 'Auditor', true],
      ],
    );
    const found = await f.request(
      'POST',
      '/api/roles/search',
      { searchCriteria: [{ fieldName: 'name', stringValue: 'Auditor' }] },
      as(f.keys.readOnly),
    );
    assert.deepEqual(
      found.json<{ roles: ApiViews['Role'][] }>().roles.map((r) => r.ID),
      [2],
    );
    assert.deepEqual((await f.request('GET', '/api/roles/2')).json<ApiViews['Role']>().name, 'Auditor');
    const none = await f.request('GET', '/api/roles/3');
    assert.deepEqual([none.status, errorOf(none).code], [404, 'ROLE_NOT_FOUND']);
  });
});
