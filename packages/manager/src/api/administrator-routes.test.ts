import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { LOCKOUT_THRESHOLD } from '../services/console-auth-service.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import type { ApiViews } from './api-views.js';
import { CSRF_HEADER } from './auth.js';

const PASSWORD = 'correct horse battery staple';
type Admin = ApiViews['Administrator'];

/** Console sign-in, and requests made with the session's cookie and CSRF token, on fixture `f()`. */
function consoleClient(f: () => ApiFixture) {
  const signIn = async (userName: string, password = PASSWORD) => {
    const res = await f().app.inject({ method: 'POST', url: '/api/session', payload: { userName, password } });
    assert.equal(res.statusCode, 200, res.body);
    const set = res.headers['set-cookie'];
    const cookie = /^([^;]+)/.exec((Array.isArray(set) ? set[0] : set) ?? '')?.[1] ?? '';
    return { cookie, csrf: res.json<{ csrfToken: string }>().csrfToken };
  };
  const asUser = async (s: { cookie: string; csrf: string }, method: string, url: string, body?: unknown) => {
    const res = await f().app.inject({
      method: method as 'GET',
      url,
      headers: { cookie: s.cookie, [CSRF_HEADER]: s.csrf },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
    return { status: res.statusCode, json: <T>() => res.json<T>(), body: res.body };
  };
  return { signIn, asUser };
}

describe('console users through the API (/api/administrators, /api/session/password)', () => {
  let f: ApiFixture;
  let t = 1_800_000_000_000;

  const { signIn, asUser } = consoleClient(() => f);
  const list = async () => (await f.request('GET', '/api/administrators')).json<{ administrators: Admin[] }>();
  const audit = async (n: number) =>
    (await f.store.audit.list({ limit: n })).map((e) => [e.action, e.actor, e.targetId, e.newValue]);

  before(async () => {
    f = await startApiFixture({ now: () => t });
  });
  after(() => f.close());

  test('create (Full Access, Auditor), list and describe, never a password or its hash', async () => {
    const a = await f.request('POST', '/api/administrators', { username: 'alice', password: PASSWORD, roleID: 1 });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    const alice = a.json<Admin>();
    assert.deepEqual(
      { ...alice, ID: 0 },
      {
        ID: 0,
        username: 'alice',
        roleID: 1,
        active: true,
        created: t,
        lastSignIn: null,
        unsuccessfulSignInAttempts: 0,
        unlockTime: null,
      },
    );
    const r = await f.request('POST', '/api/administrators', { username: 'rob', password: PASSWORD, roleID: 2 });
    assert.equal(r.json<Admin>().roleID, 2);
    const all = await list();
    assert.deepEqual(
      all.administrators.map((u) => [u.username, u.roleID]),
      [
        ['alice', 1],
        ['rob', 2],
      ],
    );
    assert.ok(!JSON.stringify(all).includes('scrypt'), 'no hash in the list');
    assert.deepEqual((await f.request('GET', `/api/administrators/${alice.ID}`)).json(), alice);
    assert.deepEqual(
      [
        (await f.request('POST', '/api/administrators', { username: 'x', password: 'short', roleID: 1 })).json<
          ApiViews['Error']
        >().error.code,
        (await f.request('POST', '/api/administrators', { username: 'alice', password: PASSWORD, roleID: 1 })).json<
          ApiViews['Error']
        >().error.code,
        (await f.request('POST', '/api/administrators', { username: 'y', password: PASSWORD, roleID: 9 })).json<
          ApiViews['Error']
        >().error.code,
        (await f.request('POST', '/api/administrators', { username: 'bad name', password: PASSWORD, roleID: 1 })).json<
          ApiViews['Error']
        >().error.code,
        (await f.request('GET', '/api/administrators/999')).json<ApiViews['Error']>().error.code,
      ],
      ['PASSWORD_TOO_WEAK', 'USER_NAME_TAKEN', 'ROLE_REFERENCE_UNKNOWN', 'USER_INVALID', 'USER_NOT_FOUND'],
    );
    assert.equal((await list()).administrators.length, 2, 'nothing stored by the refusals');
    assert.deepEqual((await audit(1))[0]?.slice(0, 2), ['user.create', `apikey:${f.keys.fullId}`]);
  });

  test('read-only users and keys read the list and are refused every write (403)', async () => {
    const rob = await signIn('rob');
    assert.equal((await asUser(rob, 'GET', '/api/administrators')).status, 200);
    const tries = [
      await asUser(rob, 'POST', '/api/administrators', { username: 'eve', password: PASSWORD, roleID: 1 }),
      await asUser(rob, 'POST', '/api/administrators/1', { active: false }),
      await asUser(rob, 'POST', '/api/administrators/1', { password: 'a new long passphrase' }),
    ];
    for (const r of tries) {
      assert.equal(r.status, 403);
      assert.equal(r.json<ApiViews['Error']>().error.code, 'READ_ONLY_USER');
    }
    const key = await f.request('POST', '/api/administrators/1', { active: false }, { key: f.keys.readOnly });
    assert.equal(key.json<ApiViews['Error']>().error.code, 'READ_ONLY_API_KEY');
    assert.deepEqual(
      (await list()).administrators.map((u) => u.active),
      [true, true],
    );
  });

  test('disable ends the sessions and enable restores; the last enabled full-access user cannot be disabled', async () => {
    const alice = await signIn('alice');
    const last = await asUser(alice, 'POST', '/api/administrators/1', { active: false });
    assert.equal(last.status, 409, last.body);
    assert.equal(last.json<ApiViews['Error']>().error.code, 'LAST_FULL_ACCESS_USER');
    // Nor with a password in the same request: nothing of it is stored.
    const both = await asUser(alice, 'POST', '/api/administrators/1', { active: false, password: 'x' });
    assert.equal(both.json<ApiViews['Error']>().error.code, 'PASSWORD_TOO_WEAK');
    assert.equal((await asUser(alice, 'GET', '/api/administrators/1')).status, 200, 'still signed in');

    const rob = await signIn('rob');
    const off = await asUser(alice, 'POST', '/api/administrators/2', { active: false });
    assert.equal(off.json<Admin>().active, false);
    assert.equal((await asUser(rob, 'GET', '/api/computers')).status, 401, "rob's session ended");
    const on = await asUser(alice, 'POST', '/api/administrators/2', { active: true });
    assert.equal(on.json<Admin>().active, true);
    // With a second full-access user, the first may be disabled (by the other).
    await f.request('POST', '/api/administrators', { username: 'carol', password: PASSWORD, roleID: 1 });
    const carol = await signIn('carol');
    assert.equal((await asUser(carol, 'POST', '/api/administrators/1', { active: false })).status, 200);
    assert.equal((await asUser(carol, 'POST', '/api/administrators/3', { active: false })).status, 409);
    assert.equal((await asUser(carol, 'POST', '/api/administrators/1', { active: true })).status, 200);
    assert.deepEqual(
      (await audit(6))
        .filter((r) => !String(r[0]).startsWith('user.sign'))
        .slice(0, 3)
        .map((r) => r.slice(0, 3)),
      [
        ['user.enable', 'user:3', 1],
        ['user.disable', 'user:3', 1],
        ['user.create', `apikey:${f.keys.fullId}`, 3],
      ],
    );
  });

  test('an administrator resets a password: the old one is refused and the user signed out', async () => {
    const rob = await signIn('rob');
    const r = await f.request('POST', '/api/administrators/2', { password: 'a brand new passphrase' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await asUser(rob, 'GET', '/api/computers')).status, 401);
    const old = await f.app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { userName: 'rob', password: PASSWORD },
    });
    assert.equal(old.statusCode, 401);
    await signIn('rob', 'a brand new passphrase');
    const changes = (await audit(4)).filter((e) => e[0] === 'user.password');
    assert.deepEqual(changes[0]?.slice(0, 3), ['user.password', `apikey:${f.keys.fullId}`, 2]);
  });

  test('own password: a wrong current one is 403 (not 401) and audited; the right one keeps this session only', async () => {
    const here = await signIn('rob', 'a brand new passphrase');
    const elsewhere = await signIn('rob', 'a brand new passphrase');
    const wrong = await asUser(here, 'POST', '/api/session/password', {
      currentPassword: 'not it at all',
      newPassword: 'the third passphrase',
    });
    assert.equal(wrong.status, 403);
    assert.equal(wrong.json<ApiViews['Error']>().error.code, 'CURRENT_PASSWORD_WRONG');
    assert.deepEqual((await audit(1))[0], ['user.password.failed', 'user:2', 2, 'wrong current password']);
    const weak = await asUser(here, 'POST', '/api/session/password', {
      currentPassword: 'a brand new passphrase',
      newPassword: 'short',
    });
    assert.equal(weak.json<ApiViews['Error']>().error.code, 'PASSWORD_TOO_WEAK');
    // A read-only user changes its own password (204); its other session ends, this one stays.
    const ok = await asUser(here, 'POST', '/api/session/password', {
      currentPassword: 'a brand new passphrase',
      newPassword: 'the third passphrase',
    });
    assert.equal(ok.status, 204, ok.body);
    assert.equal((await asUser(here, 'GET', '/api/computers')).status, 200);
    assert.equal((await asUser(elsewhere, 'GET', '/api/computers')).status, 401);
    assert.deepEqual((await audit(1))[0]?.slice(0, 3), ['user.password', 'user:2', 2]);
    await signIn('rob', 'the third passphrase');
    const key = await f.request('POST', '/api/session/password', {
      currentPassword: 'a',
      newPassword: 'the fourth passphrase',
    });
    assert.equal(key.json<ApiViews['Error']>().error.code, 'CONSOLE_SESSION_REQUIRED');
  });

  test('wrong current passwords count toward the sign-in lock-out', async () => {
    const s = await signIn('carol');
    for (let i = 1; i < LOCKOUT_THRESHOLD; i++) {
      const r = await asUser(s, 'POST', '/api/session/password', {
        currentPassword: 'nope',
        newPassword: 'whatever it is now',
      });
      assert.equal(r.status, 403);
    }
    const r = await asUser(s, 'POST', '/api/session/password', {
      currentPassword: 'nope',
      newPassword: 'whatever it is now',
    });
    assert.equal(r.status, 403);
    const locked = await f.app.inject({
      method: 'POST',
      url: '/api/session',
      payload: { userName: 'carol', password: PASSWORD },
    });
    assert.equal(locked.statusCode, 429);
    assert.ok((await f.request('GET', '/api/administrators/3')).json<Admin>().unlockTime);
    t += 60 * 60_000;
  });
});

describe('console users renamed, given another role, deleted (/api/administrators)', () => {
  let f: ApiFixture;
  const t = 1_800_000_000_000;
  const client = consoleClient(() => f);
  const session = (userName: string) => client.signIn(userName);
  const signIn = (userName: string) =>
    f.app.inject({ method: 'POST', url: '/api/session', payload: { userName, password: PASSWORD } });
  const asUser = async (s: { cookie: string; csrf: string }, method: string, url: string, body?: unknown) => {
    const r = await client.asUser(s, method, url, body);
    return { status: r.status, code: r.status >= 400 ? errorCode(r.json()) : null };
  };
  const users = async () =>
    (await f.request('GET', '/api/administrators'))
      .json<{ administrators: Admin[] }>()
      .administrators.map((u) => `${u.ID} ${u.username} ${u.roleID} ${u.active}`);
  const create = async (username: string, roleID: number) =>
    (await f.request('POST', '/api/administrators', { username, password: PASSWORD, roleID })).json<Admin>().ID;
  const audit = async (n: number) =>
    (await f.store.audit.list({ limit: n })).map((e) => [e.action, e.targetId, e.oldValue, e.newValue]);

  before(async () => {
    f = await startApiFixture({ now: () => t });
  });
  after(() => f.close());

  test('rename: the user signs in under the new name only; a taken or invalid name changes nothing', async () => {
    const alice = await create('alice', 1);
    await create('rob', 2);
    const r = await f.request('POST', `/api/administrators/${alice}`, { username: 'alice.b' });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.json<Admin>().username, 'alice.b');
    assert.equal((await signIn('alice.b')).statusCode, 200);
    assert.equal((await signIn('alice')).statusCode, 401);
    assert.deepEqual(
      (await audit(5)).find((e) => e[0] === 'user.rename'),
      ['user.rename', alice, 'alice', 'alice.b'],
    );
    const before = await users();
    for (const [body, status, code] of [
      [{ username: 'rob' }, 409, 'USER_NAME_TAKEN'],
      [{ username: 'no spaces' }, 400, 'USER_INVALID'],
      [{ username: '' }, 400, 'VALIDATION_FAILED'],
      // The name would be free, the role change is refused: neither is stored.
      [{ username: 'alice.c', roleID: 2 }, 409, 'LAST_FULL_ACCESS_USER'],
      [{ username: 'alice.c', roleID: 9 }, 400, 'ROLE_REFERENCE_UNKNOWN'],
    ] as const) {
      const refused = await f.request('POST', `/api/administrators/${alice}`, body);
      assert.deepEqual([refused.status, errorCode(refused.body)], [status, code], JSON.stringify(body));
    }
    assert.deepEqual(await users(), before);
  });

  test('role: an Auditor is refused writes at once; the last enabled full-access user cannot be made one', async () => {
    const carol = await create('carol', 1);
    const s = await session('carol');
    assert.equal((await asUser(s, 'POST', '/api/policies', { name: 'p1', parentID: 1 })).status, 200);
    const r = await f.request('POST', `/api/administrators/${carol}`, { roleID: 2 });
    assert.equal(r.json<Admin>().roleID, 2);
    assert.deepEqual(await asUser(s, 'POST', '/api/policies', { name: 'p2', parentID: 1 }), {
      status: 403,
      code: 'READ_ONLY_USER',
    });
    assert.deepEqual((await audit(1))[0], ['user.role', carol, 'full-access', 'read-only']);
    assert.equal((await f.request('POST', `/api/administrators/${carol}`, { roleID: 1 })).json<Admin>().roleID, 1);
    assert.equal((await asUser(s, 'POST', '/api/policies', { name: 'p3', parentID: 1 })).status, 200);
    // Two full-access users: either may become an Auditor, not both.
    const alice = (await f.request('GET', '/api/administrators')).json<{ administrators: Admin[] }>()
      .administrators[0]!;
    assert.equal((await f.request('POST', `/api/administrators/${alice.ID}`, { roleID: 2 })).status, 200);
    const last = await f.request('POST', `/api/administrators/${carol}`, { roleID: 2, active: false });
    assert.deepEqual([last.status, errorCode(last.body)], [409, 'LAST_FULL_ACCESS_USER']);
    assert.equal((await f.request('POST', `/api/administrators/${alice.ID}`, { roleID: 1 })).status, 200);
  });

  test('delete: the user and its sessions go; not oneself, not the last enabled full-access user', async () => {
    const dave = await create('dave', 1);
    const daveSession = await session('dave');
    const carol = await session('carol');
    const self = await asUser(carol, 'DELETE', `/api/administrators/${(await byName('carol')).ID}`);
    assert.deepEqual(self, { status: 409, code: 'USER_IS_YOU' });
    assert.deepEqual(await asUser(carol, 'DELETE', `/api/administrators/${dave}`), { status: 204, code: null });
    assert.equal((await asUser(daveSession, 'GET', '/api/computers')).status, 401, "dave's session ended");
    assert.equal((await signIn('dave')).statusCode, 401);
    assert.equal((await f.request('GET', `/api/administrators/${dave}`)).status, 404);
    assert.deepEqual(
      (await audit(5)).find((e) => e[0] === 'user.delete'),
      ['user.delete', dave, 'dave', null],
    );
    const again = await f.request('DELETE', `/api/administrators/${dave}`);
    assert.deepEqual([again.status, errorCode(again.body)], [404, 'USER_NOT_FOUND']);
    // alice.b and carol hold full access; with alice.b disabled carol is the last one.
    const alice = (await byName('alice.b')).ID;
    assert.equal((await f.request('POST', `/api/administrators/${alice}`, { active: false })).status, 200);
    const last = await f.request('DELETE', `/api/administrators/${(await byName('carol')).ID}`);
    assert.deepEqual([last.status, errorCode(last.body)], [409, 'LAST_FULL_ACCESS_USER']);
    // A disabled full-access user is no one's last resort: it may go.
    assert.equal((await f.request('DELETE', `/api/administrators/${alice}`)).status, 204);
    const ro = await f.request('DELETE', `/api/administrators/${(await byName('rob')).ID}`, undefined, {
      key: f.keys.readOnly,
    });
    assert.deepEqual([ro.status, errorCode(ro.body)], [403, 'READ_ONLY_API_KEY']);
  });

  const byName = async (name: string) =>
    (await f.request('GET', '/api/administrators'))
      .json<{ administrators: Admin[] }>()
      .administrators.find((u) => u.username === name)!;
});

const errorCode = (body: unknown) => (body as { error?: { code?: string } }).error?.code;
