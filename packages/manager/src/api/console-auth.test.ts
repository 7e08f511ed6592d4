import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { hashPassword, verifyPassword } from '../auth/passwords.js';
import {
  ConsoleAuthService,
  LOCKOUT_BASE_MS,
  SESSION_IDLE_MS,
  SESSION_MAX_MS,
} from '../services/console-auth-service.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf, jsonReply } from '../testing/json-reply.js';
import type { ApiViews } from './api-views.js';
import { CSRF_HEADER, SESSION_COOKIE } from './auth.js';

const PASSWORD = 'correct horse battery staple';

/** What POST /api/session answers. */
interface SessionReply {
  user: { name: string; role: string };
  csrfToken: string;
}

interface Signed {
  cookie: string;
  csrf: string;
}

describe('console sign-in, sessions, CSRF and lock-out', () => {
  let f: ApiFixture;
  let t = 1_800_000_000_000;
  let auth: ConsoleAuthService;

  const signIn = async (userName: string, password = PASSWORD) => {
    const res = await f.app.inject({ method: 'POST', url: '/api/session', payload: { userName, password } });
    const set = res.headers['set-cookie'];
    const raw = Array.isArray(set) ? set[0] : set;
    return { res, raw, ...jsonReply(res.statusCode, res.json()) };
  };
  const session = async (userName: string): Promise<Signed> => {
    const s = await signIn(userName);
    assert.equal(s.res.statusCode, 200, s.res.body);
    const cookie = /^([^;]+)/.exec(s.raw ?? '')?.[1] ?? '';
    return { cookie, csrf: s.json<SessionReply>().csrfToken };
  };
  const asUser = (s: Signed, method: string, url: string, body?: unknown, csrf: string | null = s.csrf) =>
    f.app.inject({
      method: method as 'GET',
      url,
      headers: { cookie: s.cookie, ...(csrf !== null ? { [CSRF_HEADER]: csrf } : {}) },
      ...(body !== undefined ? { payload: body as object } : {}),
    });
  const audit = async (n = 5) => (await f.store.audit.list({ limit: n })).map((e) => [e.action, e.actor, e.newValue]);

  before(async () => {
    f = await startApiFixture({ now: () => t });
    auth = new ConsoleAuthService(f.store, () => t);
    await auth.createUser('alice', 'full-access', PASSWORD, 'cli');
    await auth.createUser('rob', 'read-only', PASSWORD, 'cli');
    await auth.createUser('mallory', 'full-access', PASSWORD, 'cli');
  });
  after(() => f.close());

  test('passwords are scrypt hashes with their own salt; short ones are refused', async () => {
    const a = await hashPassword(PASSWORD);
    const b = await hashPassword(PASSWORD);
    assert.match(a, /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, b);
    assert.equal(await verifyPassword(PASSWORD, a), true);
    assert.equal(await verifyPassword(`${PASSWORD}!`, a), false);
    assert.equal(await verifyPassword(PASSWORD, 'not-a-hash'), false);
    await assert.rejects(auth.createUser('shorty', 'read-only', 'short', 'cli'), { code: 'PASSWORD_TOO_WEAK' });
    await assert.rejects(auth.createUser('alice', 'read-only', PASSWORD, 'cli'), { code: 'USER_NAME_TAKEN' });
  });

  test('sign-in sets a __Host- cookie that is HttpOnly, Secure, SameSite=Strict, and is audited', async () => {
    const s = await signIn('alice');
    assert.equal(s.res.statusCode, 200);
    assert.match(s.raw ?? '', new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43};`));
    for (const attr of ['HttpOnly', 'Secure', 'SameSite=Strict', 'Path=/', `Max-Age=${SESSION_MAX_MS / 1000}`])
      assert.ok(s.raw?.includes(attr), `${attr} in ${s.raw}`);
    assert.ok(!/Domain=/i.test(s.raw ?? ''));
    assert.deepEqual(s.json<SessionReply>().user, { name: 'alice', role: 'full-access' });
    assert.match(s.json<SessionReply>().csrfToken, /^[A-Za-z0-9_-]{43}$/);
    const [last] = await audit(1);
    assert.deepEqual(last?.slice(0, 2), ['user.signin', 'user:1']);
  });

  test('a wrong password and an unknown name get the same 401, and both are audited', async () => {
    const wrong = await signIn('alice', 'not the password at all');
    const unknown = await signIn('nobody', PASSWORD);
    assert.equal(wrong.res.statusCode, 401);
    assert.equal(unknown.res.statusCode, 401);
    assert.equal(errorOf(wrong).code, 'SIGN_IN_FAILED');
    assert.equal(errorOf(wrong).message, errorOf(unknown).message);
    assert.equal(wrong.raw, undefined, 'no cookie on failure');
    const rows = await audit(2);
    assert.deepEqual(rows, [
      ['user.signin.failed', 'anonymous', 'unknown user'],
      ['user.signin.failed', 'user:1', 'wrong password'],
    ]);
    await session('alice'); // a success clears the count
  });

  test('writes with the cookie need the CSRF token; with it they work and are audited as the user', async () => {
    const s = await session('alice');
    const firewall = async () =>
      (await f.request('GET', '/api/policies/1')).json<ApiViews['Policy']>().policySettings.firewallSettingState.value;
    const before = await firewall();
    const body = { policySettings: { firewallSettingState: { value: before === 'On' ? 'Off' : 'On' } } };
    const none = await asUser(s, 'POST', '/api/policies/1', body, null);
    assert.equal(none.statusCode, 403);
    assert.equal(none.json().error.code, 'CSRF_TOKEN_INVALID');
    // The first character carries six whole bits of the token, so changing it always makes another token.
    const forged = `${s.csrf.startsWith('A') ? 'B' : 'A'}${s.csrf.slice(1)}`;
    const wrong = await asUser(s, 'POST', '/api/policies/1', body, forged);
    assert.equal(wrong.statusCode, 403);
    assert.equal(await firewall(), before);
    const ok = await asUser(s, 'POST', '/api/policies/1', body);
    assert.equal(ok.statusCode, 200, ok.body);
    const [row] = (await f.request('GET', '/api/auditevents?limit=1')).json<ApiViews['AuditList']>().auditEvents;
    assert.equal(row?.action, 'policy.setting');
    assert.deepEqual(row.actor, { type: 'user', ID: 1, name: 'alice' });
    // Reads need no token.
    assert.equal((await asUser(s, 'GET', '/api/computers', undefined, null)).statusCode, 200);
  });

  test('a read-only user reads, is refused every write (403), and may sign out', async () => {
    const s = await session('rob');
    assert.equal((await asUser(s, 'GET', '/api/policies')).statusCode, 200);
    const w = await asUser(s, 'POST', '/api/policies', { name: 'Nope' });
    assert.equal(w.statusCode, 403);
    assert.equal(w.json().error.code, 'READ_ONLY_USER');
    assert.equal((await f.request('GET', '/api/policies')).json<ApiViews['PolicyList']>().policies.length, 1);
    assert.equal((await asUser(s, 'DELETE', '/api/session')).statusCode, 204);
    assert.equal((await asUser(s, 'GET', '/api/policies')).json().error.code, 'SESSION_EXPIRED');
    assert.deepEqual((await asUser(s, 'GET', '/api/session')).json(), {
      user: null,
      apiKey: null,
      csrfToken: null,
      expiresAt: null,
    });
  });

  test('five failures lock the user with back-off, even against the right password', async () => {
    for (let i = 1; i <= 4; i++) assert.equal((await signIn('mallory', 'wrong wrong wrong')).res.statusCode, 401);
    const fifth = await signIn('mallory', 'wrong wrong wrong');
    assert.equal(fifth.res.statusCode, 429);
    assert.equal(errorOf(fifth).code, 'SIGN_IN_LOCKED');
    assert.equal(fifth.res.headers['retry-after'], String(LOCKOUT_BASE_MS / 1000));
    assert.equal((await signIn('mallory')).res.statusCode, 429, 'right password refused while locked');
    t += LOCKOUT_BASE_MS + 1;
    const sixth = await signIn('mallory', 'wrong wrong wrong');
    assert.equal(sixth.res.statusCode, 429);
    assert.equal(sixth.res.headers['retry-after'], String((2 * LOCKOUT_BASE_MS) / 1000), 'doubled');
    t += 2 * LOCKOUT_BASE_MS + 1;
    assert.equal((await signIn('mallory')).res.statusCode, 200);
    assert.equal((await signIn('mallory', 'wrong wrong wrong')).res.statusCode, 401, 'count reset by the success');
    const actions = (await audit(12)).map((r) => r[0]);
    assert.ok(actions.filter((a) => a === 'user.signin.failed').length >= 8);
  });

  test('sessions end after 30 idle minutes, slide while used, and end 12 hours after sign-in', async () => {
    const idle = await session('alice');
    t += SESSION_IDLE_MS + 1;
    assert.equal((await asUser(idle, 'GET', '/api/computers')).json().error.code, 'SESSION_EXPIRED');
    assert.equal((await asUser(idle, 'GET', '/api/session')).json().user, null);
    const used = await session('alice');
    const start = t;
    while (t - start < SESSION_MAX_MS - SESSION_IDLE_MS) {
      t += SESSION_IDLE_MS - 60_000;
      assert.equal(
        (await asUser(used, 'GET', '/api/session')).statusCode,
        200,
        `still live at ${(t - start) / 60000} min`,
      );
    }
    t = start + SESSION_MAX_MS + 1;
    assert.equal((await asUser(used, 'GET', '/api/computers')).statusCode, 401);
  });

  test('disabling a user ends its sessions and refuses its sign-in; a new password ends sessions too', async () => {
    const s = await session('alice');
    await auth.setDisabled('alice', true, 'cli');
    assert.equal((await asUser(s, 'GET', '/api/computers')).statusCode, 401);
    assert.equal((await signIn('alice')).res.statusCode, 401);
    await auth.setDisabled('alice', false, 'cli');
    const again = await session('alice');
    await auth.setPassword('alice', 'another long passphrase', 'cli');
    assert.equal((await asUser(again, 'GET', '/api/computers')).statusCode, 401);
    assert.equal((await signIn('alice', 'another long passphrase')).res.statusCode, 200);
  });

  test('the API key header still works and wins over a cookie; no key and no cookie is 401', async () => {
    assert.equal(errorOf(await f.request('GET', '/api/computers', undefined, { key: null })).code, 'API_KEY_REQUIRED');
    const r = await f.request('GET', '/api/session');
    assert.deepEqual(r.json<{ apiKey: unknown }>().apiKey, { name: 'test admin', role: 'full-access' });
    const ro = await f.request('POST', '/api/policies', { name: 'X' }, { key: f.keys.readOnly });
    assert.equal(errorOf(ro).code, 'READ_ONLY_API_KEY');
  });
});
