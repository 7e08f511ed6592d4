import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { openWebhook } from '../notifiers/notifier-config.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import type { ApiViews as V } from './api-views.js';

describe('notifier credentials through the API', () => {
  let f: ApiFixture;
  before(async () => {
    f = await startApiFixture({ monitoring: true });
  });
  after(() => f.close());

  const hook = (name: string, webhook: Record<string, unknown>) => ({ name, kind: 'webhook', webhook });
  const ALLOW = 'palisadeSettingNotifierDestinationAllowList';

  test('credentials are masked once stored and hidden from read-only keys; the sender still has them', async () => {
    const url = 'https://ops:pw-123@hooks.example:8443/in?token=tk-456&channel=ops';
    const created = await f.request(
      'POST',
      '/api/notifiers',
      hook('masked', { url, headers: { authorization: 'Bearer hdr-789' } }),
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.json<V['Notifier']>().ID;
    const full = (await f.request('GET', `/api/notifiers/${id}`)).json<V['Notifier']>();
    assert.equal(full.webhook?.url, 'https://****:****@hooks.example:8443/in?token=****&channel=****');
    assert.deepEqual(full.webhook?.headers, { authorization: '(set)' });
    const ro = await f.request('GET', `/api/notifiers/${id}`, undefined, { key: f.keys.readOnly });
    assert.equal(ro.json<V['Notifier']>().webhook?.url, 'https://hooks.example:8443');
    const list = JSON.stringify((await f.request('GET', '/api/notifiers', undefined, { key: f.keys.readOnly })).body);
    for (const secret of ['pw-123', 'tk-456', 'hdr-789', '/in']) assert.ok(!list.includes(secret), secret);
    const stored = await f.store.notifiers.get(id);
    assert.ok(stored);
    assert.ok(stored.settings.kind === 'webhook');
    assert.deepEqual(openWebhook(f.secrets, stored.settings.webhook), {
      url,
      headers: { authorization: 'Bearer hdr-789' },
    });
  });

  test('read-only keys see that delivery failed, not the error (it tells open ports from closed ones)', async () => {
    const allow = await f.request('POST', `/api/systemsettings/${ALLOW}`, { value: '127.0.0.1:9' });
    assert.equal(allow.status, 200);
    const created = await f.request('POST', '/api/notifiers', hook('failing', { url: 'http://127.0.0.1:9/x' }));
    const id = created.json<V['Notifier']>().ID;
    const t = Date.now();
    assert.ok(await f.store.notifiers.lease(id, 'test', t, t + 60_000));
    await f.store.notifiers.recordFailure(id, 'test', {
      error: 'http://127.0.0.1:9: connect ECONNREFUSED',
      now: t,
      nextAttemptAt: t + 1000,
    });
    const full = (await f.request('GET', `/api/notifiers/${id}`)).json<V['Notifier']>();
    assert.match(full.delivery.lastError ?? '', /ECONNREFUSED/);
    const ro = (await f.request('GET', `/api/notifiers/${id}`, undefined, { key: f.keys.readOnly })).json<
      V['Notifier']
    >();
    assert.ok(ro.delivery.lastError && !/ECONNREFUSED|127\.0\.0\.1/.test(ro.delivery.lastError));
    assert.equal(ro.delivery.failures, 1);
  });

  test('a header value with CR or LF is refused and nothing is stored', async () => {
    const before = (await f.store.notifiers.list()).length;
    for (const value of ['a\r\nX-Injected: 1', 'a\nb', 'a\rb']) {
      const r = await f.request(
        'POST',
        '/api/notifiers',
        hook(`crlf ${value.length}`, { url: 'https://h.example/', headers: { 'x-token': value } }),
      );
      assert.equal(r.status, 400);
      assert.equal(errorOf(r).code, 'NOTIFIER_CONFIG_INVALID');
      assert.match(errorOf(r).message, /x-token contains a line break/);
    }
    assert.equal((await f.store.notifiers.list()).length, before);
  });

  test('a destination on loopback, private or link-local addresses is refused unless the allow-list has it', async () => {
    await f.request('DELETE', `/api/systemsettings/${ALLOW}`);
    const before = (await f.store.notifiers.list()).length;
    const refused: Array<[Record<string, unknown>, RegExp]> = [
      [hook('lo', { url: 'http://127.0.0.1:8080/x' }), /127\.0\.0\.1:8080 is a loopback address/],
      [hook('lo6', { url: 'http://[::1]:8080/x' }), /::1:8080 is a loopback address/],
      [hook('meta', { url: 'http://169.254.169.254/latest' }), /169\.254\.169\.254:80 is a link-local/],
      [hook('name', { url: 'https://localhost:8443/' }), /localhost \(.*\) port 8443 is a loopback address/],
      [
        { name: 'rfc1918', kind: 'syslog', syslog: { host: '10.1.2.3', transport: 'udp' } },
        /10\.1\.2\.3:514 is a private/,
      ],
    ];
    for (const [body, reason] of refused) {
      const r = await f.request('POST', '/api/notifiers', body);
      assert.deepEqual([r.status, errorOf(r).code], [400, 'NOTIFIER_DESTINATION_REFUSED'], JSON.stringify(body));
      assert.match(errorOf(r).message, reason);
    }
    assert.equal((await f.store.notifiers.list()).length, before, 'nothing stored');
    // Listed (with its port), it is taken; another port of the same host is still refused.
    assert.equal((await f.request('POST', `/api/systemsettings/${ALLOW}`, { value: '127.0.0.0/8:8080' })).status, 200);
    assert.equal(
      (await f.request('POST', '/api/notifiers', hook('lo', { url: 'http://127.0.0.1:8080/x' }))).status,
      201,
    );
    const other = await f.request('POST', '/api/notifiers', hook('lo22', { url: 'http://127.0.0.1:22/' }));
    assert.equal(errorOf(other).code, 'NOTIFIER_DESTINATION_REFUSED');
    // A bad allow-list is refused whole.
    const bad = await f.request('POST', `/api/systemsettings/${ALLOW}`, { value: '127.0.0.0/8 10.0.0.0/99' });
    assert.deepEqual([bad.status, errorOf(bad).code], [400, 'SYSTEM_SETTING_VALUE_INVALID']);
    assert.equal(
      (await f.request('GET', `/api/systemsettings/${ALLOW}`)).json<{ value: string }>().value,
      '127.0.0.0/8:8080',
    );
    await f.request('DELETE', `/api/systemsettings/${ALLOW}`);
  });

  test('Send test: under the allow-list in force at that moment, over a connection of its own', async () => {
    const received: string[] = [];
    const sockets = new Set<Socket>();
    const receiver = createServer((req, res) => {
      sockets.add(req.socket);
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        received.push(JSON.parse(body).event.type);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const port = (receiver.address() as AddressInfo).port;
    try {
      const allow = (value: string) => f.request('POST', `/api/systemsettings/${ALLOW}`, { value });
      assert.equal((await allow(`127.0.0.1:${port}`)).status, 200);
      const created = await f.request('POST', '/api/notifiers', hook('tested', { url: `http://127.0.0.1:${port}/in` }));
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const send = () => f.request('POST', `/api/notifiers/${created.json<V['Notifier']>().ID}/test`);
      assert.equal((await send()).status, 200);
      // Listed no more: the very next test is refused, and says why.
      assert.equal((await allow('127.0.0.1:9')).status, 200);
      const refused = await send();
      assert.deepEqual([refused.status, errorOf(refused).code], [502, 'NOTIFIER_TEST_FAILED']);
      assert.match(errorOf(refused).message, /destination refused: .*loopback address/);
      // Listed again: taken at once.
      assert.equal((await allow(`127.0.0.1:${port}`)).status, 200);
      assert.equal((await send()).status, 200);
      assert.deepEqual(received, ['notifier-test', 'notifier-test']);
      assert.equal(sockets.size, 2, 'each test on a new connection');
    } finally {
      receiver.closeAllConnections();
      await new Promise<void>((r) => receiver.close(() => r()));
      await f.request('DELETE', `/api/systemsettings/${ALLOW}`);
    }
  });
});
