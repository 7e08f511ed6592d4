import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer as createHttpServer, type Server as HttpServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket, type Server as TcpServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createServer as createTlsServer } from 'node:tls';
import { heartbeat, type StateDir } from '@palisade/agent';
import type { ApiViews as V, WebhookNotification } from '@palisade/manager';
import { activateTestAgent, errorOf, startTestManager, type TestManager } from './harness.js';

import { freePort, waitFor } from './polling.js';

/** A webhook receiver: records each POST; answers `status()` (200 unless told otherwise). */
function webhookReceiver() {
  const got: Array<{ body: WebhookNotification; headers: IncomingHttpHeaders }> = [];
  let answer = 200;
  let refused = 0;
  const server: HttpServer = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (answer !== 200) {
        refused++;
        res.writeHead(answer).end();
        return;
      }
      got.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')), headers: req.headers });
      res.writeHead(204).end();
    });
  });
  return {
    got,
    server,
    refusedCount: () => refused,
    setAnswer: (s: number) => (answer = s),
    listen: (port = 0) =>
      new Promise<number>((r) => server.listen(port, '127.0.0.1', () => r((server.address() as AddressInfo).port))),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/** RFC 6587 octet-counted frames off a stream, as a syslog receiver reads them. */
function frames(onMessage: (m: string) => void) {
  let buf = Buffer.alloc(0);
  return (socket: Socket) =>
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) return;
        const len = Number(buf.subarray(0, sp).toString('ascii'));
        assert.ok(Number.isInteger(len) && len > 0, `octet count, got ${buf.subarray(0, sp).toString()}`);
        if (buf.length < sp + 1 + len) return;
        onMessage(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
        buf = buf.subarray(sp + 1 + len);
      }
    });
}

const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) (\S{1,255}) palisade - (\S{1,32}) \[palisade@32473((?: [A-Za-z]+="(?:[^"\\\]]|\\["\\\]])*")+)\] (.*)$/s;

describe('notifiers: alerts and events out by webhook and syslog', () => {
  let m: TestManager;
  let agent: StateDir;
  let computerId: number;
  const servers: Array<{ close(): unknown }> = [];

  /** Agent events and a driver alert raised then cleared: what every receiver should get. */
  async function happen(tag: string) {
    agent.spool().append({ type: 'notify.test', severity: 'warning', message: `${tag} one` });
    agent.spool().append({ type: 'notify.test', severity: 'info', message: `${tag} two = a|b\\c` });
    await heartbeat(agent, { drivers: () => [{ name: `fw-${tag}`, status: 'offline', reason: 'nftables missing' }] });
    await heartbeat(agent, { drivers: () => [] });
  }

  /**
   * Until every notifier has nothing left to send (backlog empty, no failure pending a retry):
   * what its receivers have by then is all they will get, so the lists can be compared whole
   * (a duplicate or a stray would be in them).
   */
  const drained = () =>
    waitFor('every notifier to have delivered its backlog', async () => {
      const list = (await m.api('GET', '/api/notifiers')).json<{ notifiers: V['Notifier'][] }>().notifiers;
      return list.every(
        (n) => n.delivery.failures === 0 && n.delivery.backlog.alerts === 0 && n.delivery.backlog.events === 0,
      );
    });

  before(async () => {
    m = await startTestManager({
      monitoring: { notifierRetryBaseMs: 100, notifierRetryMaxMs: 400, notifierPollMs: 100 },
    });
    // The receivers here are on loopback, which notifiers refuse unless listed (docs/security.md).
    const allow = await m.api('POST', '/api/systemsettings/palisadeSettingNotifierDestinationAllowList', {
      value: '127.0.0.0/8 localhost',
    });
    assert.equal(allow.status, 200);
    agent = await activateTestAgent(m, { hostName: 'notify-01.example.test' });
    computerId = (await heartbeat(agent)).computerId;
  });
  after(async () => {
    for (const s of servers) await s.close();
    await m.close();
  });

  test('a webhook, and syslog over UDP, TCP and TLS, each get the events and the alert, in order, formatted', async () => {
    const hook = webhookReceiver();
    servers.push(hook);
    const hookPort = await hook.listen();

    const udpGot: string[] = [];
    const udp = createSocket('udp4');
    udp.on('message', (b) => udpGot.push(b.toString('utf8')));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', () => r()));
    servers.push({ close: () => udp.close() });

    const tcpGot: string[] = [];
    const tcp: TcpServer = createTcpServer(frames((s) => tcpGot.push(s)));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    servers.push({ close: () => tcp.close() });

    const tlsGot: string[] = [];
    const cert = await m.manager.ca.issueServerCertificate(['localhost']);
    const tls = createTlsServer(
      { key: cert.privateKey, cert: cert.certificate },
      frames((s) => tlsGot.push(s)),
    );
    await new Promise<void>((r) => tls.listen(0, '127.0.0.1', () => r()));
    servers.push({ close: () => tls.close() });

    const create = async (body: unknown) => {
      const r = await m.api('POST', '/api/notifiers', body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.json<V['Notifier']>();
    };
    const h = await create({
      name: 'ops-hook',
      kind: 'webhook',
      webhook: { url: `http://127.0.0.1:${hookPort}/palisade`, headers: { authorization: 'Bearer s3cret' } },
    });
    assert.deepEqual(h.webhook?.headers, { authorization: '(set)' }, 'header values are never shown');
    await create({
      name: 'siem-udp',
      kind: 'syslog',
      syslog: { host: '127.0.0.1', port: (udp.address() as AddressInfo).port, transport: 'udp' },
    });
    await create({
      name: 'siem-tcp-cef',
      kind: 'syslog',
      syslog: {
        host: '127.0.0.1',
        port: (tcp.address() as AddressInfo).port,
        transport: 'tcp',
        format: 'cef',
        facility: 4,
      },
    });
    await create({
      name: 'siem-tls',
      kind: 'syslog',
      syslog: {
        host: 'localhost',
        port: (tls.address() as AddressInfo).port,
        transport: 'tls',
        ca: m.manager.ca.certificatePem,
      },
    });

    await happen('A');
    // 2 events + raised + cleared, to each receiver (activation's own events went before the notifiers existed).
    await waitFor('the webhook', () => hook.got.length >= 4);
    await waitFor('UDP syslog', () => udpGot.length >= 4);
    await waitFor('TCP syslog', () => tcpGot.length >= 4);
    await waitFor('TLS syslog', () => tlsGot.length >= 4);
    await drained();

    // Webhook: JSON, in order, ids stable and sent as Idempotency-Key, the configured header.
    const bodies = hook.got.map((g) => g.body);
    assert.deepEqual(
      bodies.map((b) =>
        b.kind === 'event' ? `event ${b.event.message}` : `alert ${b.action} ${b.alert.type} ${b.alert.subject}`,
      ),
      ['event A one', 'event A two = a|b\\c', 'alert raised driver-offline fw-A', 'alert cleared driver-offline fw-A'],
    );
    assert.equal(hook.got[0]!.headers.authorization, 'Bearer s3cret');
    assert.equal(hook.got[0]!.headers['content-type'], 'application/json');
    for (const g of hook.got) assert.equal(g.headers['idempotency-key'], g.body.id);
    const [event, , alert] = bodies;
    assert.ok(event?.kind === 'event' && alert?.kind === 'alert');
    assert.equal(event.event.computerID, computerId);
    assert.equal(event.event.hostName, 'notify-01.example.test');
    assert.equal(alert.alert.message, 'driver "fw-A" is offline on notify-01.example.test: nftables missing');
    assert.equal(alert.alert.severity, 'critical');
    assert.equal(alert.manager, 'localhost');

    // Syslog, plain: RFC 5424 header, structured data, a sentence.
    const parsed = udpGot.map((s) => {
      const x = RFC5424.exec(s);
      assert.ok(x, `RFC 5424: ${s}`);
      return { pri: Number(x[1]), host: x[3], msgid: x[4], sd: x[5]!, msg: x[6]! };
    });
    assert.deepEqual(
      parsed.map((p) => [p.pri, p.host, p.msgid]),
      [
        [16 * 8 + 4, 'notify-01.example.test', 'notify.test'], // local0.warning
        [16 * 8 + 6, 'notify-01.example.test', 'notify.test'], // local0.info
        [16 * 8 + 2, 'notify-01.example.test', 'driver-offline'], // local0.crit: raised
        [16 * 8 + 5, 'notify-01.example.test', 'driver-offline'], // local0.notice: cleared
      ],
    );
    assert.match(
      parsed[0]!.sd,
      / kind="event" id="event:\d+" type="notify.test" severity="warning" computerID="\d+" seq="\d+"/,
    );
    assert.match(parsed[2]!.sd, / kind="alert" id="alert:\d+:raised" action="raised" type="driver-offline"/);
    assert.equal(
      parsed[2]!.msg,
      'Alert raised: Driver Offline (critical): driver "fw-A" is offline on notify-01.example.test: nftables missing',
    );
    assert.deepEqual(
      tlsGot,
      udpGot.map((s) => s),
      'TLS carries the same messages as UDP (same format)',
    );

    // Syslog over TCP, CEF, facility 4 (auth): PRI 4 x 8 + 4 (warning) = 36.
    assert.match(
      tcpGot[0]!,
      /^<36>1 \S+ notify-01\.example\.test palisade - notify\.test \[palisade@32473 [^\]]*\] CEF:0\|Palisade\|Palisade Manager\|0\.1\.0\|notify\.test\|A one\|6\|rt=\d+ start=\d+ dvchost=notify-01\.example\.test cat=event externalId=event:\d+ cn1Label=seq cn1=\d+ cs1Label=computerID cs1=\d+ msg=A one$/,
    );
    assert.match(
      tcpGot[1]!,
      /\|notify\.test\|A two = a\\\|b\\\\c\|3\|.* msg=A two \\= a\|b\\\\c$/,
      'CEF escaping: | in the header, = and \\ in values',
    );
    assert.match(
      tcpGot[2]!,
      /CEF:0\|Palisade\|Palisade Manager\|0\.1\.0\|driver-offline\|Driver Offline\|10\|rt=\d+ dvchost=notify-01\.example\.test cat=alert act=raised externalId=alert:\d+:raised cn1Label=alertID cn1=\d+ cs1Label=computerID cs1=\d+ cs2Label=subject cs2=fw-A msg=driver "fw-A" is offline/,
    );
    assert.match(tcpGot[3]!, /\|driver-offline\|Driver Offline cleared\|3\|.* act=cleared /);

    const list = (await m.api('GET', '/api/notifiers')).json<{ notifiers: V['Notifier'][] }>().notifiers;
    for (const n of list) {
      assert.equal(n.delivery.failures, 0, n.name);
      assert.equal(n.delivery.delivered, 4, n.name);
      assert.deepEqual(n.delivery.backlog, { alerts: 0, events: 0, capped: false }, n.name);
    }
    for (const n of list) assert.equal((await m.api('DELETE', `/api/notifiers/${n.ID}`)).status, 204);
  });

  test('receivers down for a while lose nothing: the backlog drains in order when they return', async () => {
    // The webhook answers 503 (down for maintenance); the syslog receiver is not listening at all.
    const hook = webhookReceiver();
    servers.push(hook);
    hook.setAnswer(503);
    const hookPort = await hook.listen();
    const syslogPort = await freePort();

    const w = (
      await m.api('POST', '/api/notifiers', {
        name: 'late-hook',
        kind: 'webhook',
        webhook: { url: `http://127.0.0.1:${hookPort}/` },
      })
    ).json<V['Notifier']>();
    const s = (
      await m.api('POST', '/api/notifiers', {
        name: 'late-syslog',
        kind: 'syslog',
        sources: ['events'],
        minSeverity: 'warning',
        syslog: { host: '127.0.0.1', port: syslogPort, transport: 'tcp' },
      })
    ).json<V['Notifier']>();

    await happen('B');
    await happen('C');
    const failing = await waitFor('retries against the dead receivers', async () => {
      const [a, b] = (
        await Promise.all([m.api('GET', `/api/notifiers/${w.ID}`), m.api('GET', `/api/notifiers/${s.ID}`)])
      ).map((r) => r.json<V['Notifier']>()) as [V['Notifier'], V['Notifier']];
      return a.delivery.failures >= 2 && b.delivery.failures >= 2 && ([a, b] as const);
    });
    assert.match(failing[0].delivery.lastError ?? '', /answered HTTP 503/);
    assert.match(failing[1].delivery.lastError ?? '', /ECONNREFUSED/);
    assert.deepEqual(failing[0].delivery.backlog, { alerts: 4, events: 4, capped: false });
    assert.equal(failing[1].delivery.backlog.events, 4);
    assert.ok(
      (failing[0].delivery.nextAttemptAt ?? 0) > (failing[0].delivery.lastErrorAt ?? Infinity),
      'a retry is scheduled',
    );

    assert.ok(hook.refusedCount() >= 2);
    assert.equal(hook.got.length, 0);

    // They come back.
    const syslogGot: string[] = [];
    const syslog = createTcpServer(frames((x) => syslogGot.push(x)));
    servers.push({ close: () => syslog.close() });
    await new Promise<void>((r) => syslog.listen(syslogPort, '127.0.0.1', () => r()));
    hook.setAnswer(200);

    await waitFor('the webhook backlog', () => hook.got.length >= 8);
    await waitFor('the syslog backlog', () => syslogGot.length >= 2);
    await drained();
    assert.deepEqual(
      hook.got.map((g) =>
        g.body.kind === 'event' ? g.body.event.message : `${g.body.action} ${g.body.alert.subject}`,
      ),
      [
        'B one',
        'B two = a|b\\c',
        'raised fw-B',
        'cleared fw-B',
        'C one',
        'C two = a|b\\c',
        'raised fw-C',
        'cleared fw-C',
      ],
      'everything, once, in the order it was stored',
    );
    // Events only, warning and up: the info events and the alerts are not sent to it.
    assert.deepEqual(
      syslogGot.map((x) => x.replace(/^.*\] /, '')),
      [
        'notify.test (warning) on notify-01.example.test: B one',
        'notify.test (warning) on notify-01.example.test: C one',
      ],
    );
    const healthy = (await m.api('GET', `/api/notifiers/${w.ID}`)).json<V['Notifier']>().delivery;
    assert.equal(healthy.failures, 0);
    assert.equal(healthy.nextAttemptAt, null);
    assert.deepEqual(healthy.backlog, { alerts: 0, events: 0, capped: false });
  });

  test('notifier configuration is checked', async () => {
    const bad: Array<[unknown, string, RegExp]> = [
      [
        { name: 'x', kind: 'webhook', webhook: { url: 'ftp://example.test/' } },
        'NOTIFIER_CONFIG_INVALID',
        /http:\/\/ or https:\/\//,
      ],
      [
        { name: 'x', kind: 'webhook', syslog: { host: 'h', transport: 'udp' } },
        'NOTIFIER_CONFIG_INVALID',
        /"webhook" section/,
      ],
      [
        { name: 'x', kind: 'syslog', syslog: { host: 'bad host!', transport: 'tcp' } },
        'NOTIFIER_CONFIG_INVALID',
        /not a host name/,
      ],
      [
        { name: 'x', kind: 'syslog', syslog: { host: 'h', transport: 'tls', ca: 'not a pem' } },
        'NOTIFIER_CONFIG_INVALID',
        /syslog\.ca is not a PEM certificate/,
      ],
      [
        { name: 'x', kind: 'syslog', syslog: { host: 'h', transport: 'udp', ca: m.manager.ca.certificatePem } },
        'NOTIFIER_CONFIG_INVALID',
        /tls transport only/,
      ],
      [
        { name: 'x', kind: 'webhook', webhook: { url: 'http://h/', headers: { 'content-length': '1' } } },
        'NOTIFIER_CONFIG_INVALID',
        /may not set/,
      ],
      [
        { name: 'x', kind: 'syslog', syslog: { host: 'h', transport: 'carrier-pigeon' } },
        'VALIDATION_FAILED',
        /transport/,
      ],
      [
        { name: 'x', kind: 'syslog', syslog: { host: 'h', transport: 'udp', facility: 24 } },
        'VALIDATION_FAILED',
        /facility/,
      ],
      [{ name: 'x', kind: 'webhook', webhook: { url: 'http://h/' }, extra: 1 }, 'VALIDATION_FAILED', /./],
    ];
    for (const [body, code, text] of bad) {
      const r = await m.api('POST', '/api/notifiers', body);
      assert.equal(errorOf(r).code, code, JSON.stringify(body));
      assert.match(errorOf(r).message, text);
    }
    const ok = await m.api('POST', '/api/notifiers', {
      name: 'dup',
      kind: 'syslog',
      enabled: false,
      syslog: { host: 'siem.example.test', transport: 'tls' },
    });
    const created = ok.json<V['Notifier']>();
    assert.equal(created.syslog?.port, 6514, 'RFC 5425 port by default');
    assert.equal(created.syslog?.format, 'plain');
    assert.equal(
      errorOf(
        await m.api('POST', '/api/notifiers', { name: 'dup', kind: 'syslog', syslog: { host: 'h', transport: 'udp' } }),
      ).code,
      'NOTIFIER_NAME_TAKEN',
    );
    assert.equal((await m.api('DELETE', `/api/notifiers/${created.ID}`)).status, 204);
    assert.equal(errorOf(await m.api('DELETE', `/api/notifiers/${created.ID}`)).code, 'NOTIFIER_NOT_FOUND');
    assert.equal(errorOf(await m.api('GET', '/api/notifiers/999999')).code, 'NOTIFIER_NOT_FOUND');
  });

  test('POST /api/notifiers/{id}/test: a notifier-test event now, whatever the filters; a dead receiver is 502', async () => {
    const hook = webhookReceiver();
    servers.push(hook);
    const port = await hook.listen();
    const n = (
      await m.api('POST', '/api/notifiers', {
        name: 'test-me',
        kind: 'webhook',
        sources: ['alerts'],
        minSeverity: 'critical',
        webhook: { url: `http://127.0.0.1:${port}/` },
      })
    ).json<V['Notifier']>();
    const r = await m.api('POST', `/api/notifiers/${n.ID}/test`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const got = hook.got.map((g) => g.body).find((b) => b.kind === 'event' && b.event.type === 'notifier-test');
    assert.ok(got, 'delivered before the answer, whatever the sources and minimum severity');
    assert.equal((await m.api('GET', `/api/notifiers/${n.ID}`)).json<V['Notifier']>().delivery.delivered, 0);
    await hook.close();
    const dead = await m.api('POST', `/api/notifiers/${n.ID}/test`);
    assert.equal(dead.status, 502);
    assert.equal(errorOf(dead).code, 'NOTIFIER_TEST_FAILED');
    assert.match(errorOf(dead).message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.equal((await m.api('GET', `/api/notifiers/${n.ID}`)).json<V['Notifier']>().delivery.failures, 0);
    assert.equal(errorOf(await m.api('POST', '/api/notifiers/999999/test')).code, 'NOTIFIER_NOT_FOUND');
    assert.equal((await m.api('DELETE', `/api/notifiers/${n.ID}`)).status, 204);
  });
});
