import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  checkDestinationAllowList,
  destinationRefusal,
  parseDestinationAllowList,
  specialUseKind,
} from './destination-policy.js';

test('special-use addresses are named; public ones are not', () => {
  assert.equal(specialUseKind('127.0.0.2'), 'loopback');
  assert.equal(specialUseKind('::1'), 'loopback');
  assert.equal(specialUseKind('::ffff:127.0.0.1'), 'loopback', 'IPv4-mapped: judged as IPv4');
  assert.match(specialUseKind('169.254.169.254')!, /link-local/);
  assert.match(specialUseKind('10.1.2.3')!, /private/);
  assert.match(specialUseKind('172.31.255.255')!, /private/);
  assert.match(specialUseKind('192.168.0.1')!, /private/);
  assert.match(specialUseKind('fd12::1')!, /unique local/);
  assert.match(specialUseKind('fe80::1')!, /link-local/);
  assert.match(specialUseKind('0.0.0.0')!, /this network/);
  assert.match(specialUseKind('198.18.0.1')!, /benchmarking/);
  for (const pub of ['8.8.8.8', '172.32.0.1', '2606:4700::1111', '1.1.1.1'])
    assert.equal(specialUseKind(pub), null, pub);
});

test('entries: addresses, masks, ranges and host names, each with an optional port', () => {
  const e = parseDestinationAllowList(
    '10.0.0.0/8:514, 127.0.0.1\nsiem.example.com:6514 [fd00::/8]:443 fe80::1 10.0.0.1-10.0.0.9',
  );
  assert.deepEqual(
    e.map((x) => [x.interval?.text ?? x.host, x.port]),
    [
      ['10.0.0.0/8', 514],
      ['127.0.0.1', null],
      ['siem.example.com', 6514],
      ['fd00::/8', 443],
      ['fe80::1', null],
      ['10.0.0.1-10.0.0.9', null],
    ],
  );
  assert.deepEqual(parseDestinationAllowList(''), []);
  for (const bad of ['10.0.0.0/33', 'host:0', 'host:99999', '[::1]:x', 'under_score', '300.1.1.1'])
    assert.notEqual(checkDestinationAllowList(bad), null, bad);
});

test('refusal: special-use unless listed (address or host name, port if given); public unless turned off', () => {
  const policy = { entries: parseDestinationAllowList('127.0.0.0/8:8080 siem.lan'), publicAllowed: true };
  const r = (host: string, address: string, port: number, p = policy) => destinationRefusal(p, { host, address, port });
  assert.equal(r('127.0.0.5', '127.0.0.5', 8080), null);
  assert.match(r('127.0.0.5', '127.0.0.5', 22)!, /127\.0\.0\.5:22 is a loopback address, not in the allow-list/);
  assert.equal(r('siem.lan', '192.168.1.9', 514), null, 'listed by name');
  assert.match(
    r('evil.example', '169.254.169.254', 80)!,
    /evil\.example \(169\.254\.169\.254\) port 80 is a link-local/,
  );
  assert.equal(r('example.com', '93.184.216.34', 443), null);
  assert.match(r('example.com', '93.184.216.34', 443, { ...policy, publicAllowed: false })!, /not in the allow-list/);
});
