import assert from 'node:assert/strict';
import { test } from 'node:test';
import { alertNotification, eventNotification } from './notification.js';
import { retryDelayMs } from './notifier-dispatcher.js';
import { cefMessage, formatSyslog, octetCounted } from './syslog-format.js';

const T = Date.UTC(2024, 4, 1, 12, 0, 0, 250);

const event = eventNotification({
  cursor: 41,
  tx: 0,
  computerId: 3,
  hostName: 'web 01.example.test',
  epoch: '',
  seq: 7,
  type: 'firewall.deny',
  severity: 'error',
  message: 'denied "x" ] \\ from 10.0.0.1\nsecond line',
  agentTime: T - 1000,
  receivedAt: T,
  data: null,
});

const alert = (action: 'raised' | 'cleared') =>
  alertNotification({
    cursor: 9,
    tx: 0,
    action,
    time: T,
    alert: {
      id: 5,
      type: 'driver-offline',
      severity: 'critical',
      computerId: 3,
      hostName: 'web-01',
      subject: 'fire|wall',
      message: 'driver "fire|wall" is offline on web-01: a=b',
      data: null,
      raisedAt: T,
      clearedAt: null,
      dismissedAt: null,
      dismissedBy: null,
    },
  });

test('RFC 5424: PRI from facility and severity, header fields PRINTUSASCII, SD values escaped, one line', () => {
  const s = formatSyslog(event, { facility: 16, format: 'plain', manager: 'mgr', productVersion: '0.1.0' });
  assert.equal(
    s,
    '<131>1 2024-05-01T12:00:00.250Z web_01.example.test palisade - firewall.deny ' +
      '[palisade@32473 kind="event" id="event:41" type="firewall.deny" severity="error" computerID="3" seq="7" agentTime="2024-05-01T11:59:59.250Z" manager="mgr"] ' +
      'firewall.deny (error) on web 01.example.test: denied "x" ] \\ from 10.0.0.1 second line',
  );
  const quoted = formatSyslog(
    eventNotification({
      cursor: 1,
      tx: 0,
      computerId: 1,
      hostName: null,
      epoch: '',
      seq: 1,
      type: 't',
      severity: 'info',
      message: 'm',
      agentTime: 0,
      receivedAt: 0,
      data: null,
    }),
    { facility: 0, format: 'plain', manager: 'mgr"]', productVersion: '0.1.0' },
  );
  assert.match(
    quoted,
    /^<6>1 1970-01-01T00:00:00\.000Z mgr"] palisade - t \[.* manager="mgr\\"\\]"\] /,
    'no host: the manager; SD escapes " and ]',
  );
});

test('an alert raised goes out at its severity, cleared as Notice', () => {
  assert.match(
    formatSyslog(alert('raised'), { facility: 1, format: 'plain', manager: 'm', productVersion: '1' }),
    /^<10>1 /,
  );
  assert.match(
    formatSyslog(alert('cleared'), { facility: 1, format: 'plain', manager: 'm', productVersion: '1' }),
    /^<13>1 /,
  );
});

test('CEF: header escapes | and \\, extension values escape = and \\ and line breaks', () => {
  assert.equal(
    cefMessage(alert('raised'), '0.1.0'),
    'CEF:0|Palisade|Palisade Manager|0.1.0|driver-offline|Driver Offline|10|' +
      `rt=${T} dvchost=web-01 cat=alert act=raised externalId=alert:5:raised cn1Label=alertID cn1=5 cs1Label=computerID cs1=3 cs2Label=subject cs2=fire|wall ` +
      'msg=driver "fire|wall" is offline on web-01: a\\=b',
  );
  assert.match(cefMessage(event, '0.1.0'), /\|firewall\.deny\|denied "x" \] \\\\ from 10\.0\.0\.1 second line\|8\|/);
  assert.match(cefMessage(event, '0.1.0'), / msg=denied "x" \] \\\\ from 10\.0\.0\.1\\nsecond line$/);
});

test('octet counting frames by bytes, not characters (RFC 6587 §3.4.1)', () => {
  assert.equal(octetCounted('héllo').toString('utf8'), '6 héllo');
});

test('retries back off exponentially to the cap, jittered ±20 %', () => {
  const mid = () => 0.5;
  assert.deepEqual(
    [1, 2, 3, 4, 10].map((f) => retryDelayMs(f, 1000, 5000, mid)),
    [1000, 2000, 4000, 5000, 5000],
  );
  assert.equal(
    retryDelayMs(1, 1000, 5000, () => 0),
    800,
  );
  assert.equal(
    retryDelayMs(1, 1000, 5000, () => 0.9999999),
    1200,
  );
});
