import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tls from 'node:tls';
import { CIPHER_SUITES } from './cipher-suites.js';
import {
  DEFAULT_TLS_POLICY,
  isTlsPolicyName,
  TLS_POLICIES,
  TLS_POLICY_NAMES,
  tlsContextOptions,
  tlsPolicy,
} from './tls-policy.js';

// The exact strings the manager hands to OpenSSL, checked as text.
const TLS13 = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256';
const MODERN =
  'ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-SHA384:ECDHE-RSA-AES128-SHA256';
const COMPATIBLE = `${MODERN}:AES128-GCM-SHA256:AES256-SHA256:AES128-SHA256`;
const LEGACY = `${COMPATIBLE}:AES256-SHA:AES128-SHA:@SECLEVEL=0`;

test('modern is the default: TLS 1.2–1.3, ECDHE-RSA AES-GCM/CBC-SHA2 only', () => {
  assert.equal(DEFAULT_TLS_POLICY, 'modern');
  const p = TLS_POLICIES.modern;
  assert.deepEqual([p.minVersion, p.maxVersion, p.needsSecurityLevel0, p.warning], ['TLSv1.2', 'TLSv1.3', false, null]);
  assert.equal(p.ciphers, MODERN);
  assert.equal(p.ciphersuites, TLS13);
  // No non-forward-secret TLS_RSA_* suite (Node's default list would accept them at TLS 1.2).
  assert.ok(p.offeredSuites.every((s) => CIPHER_SUITES[s].forwardSecret));
  assert.deepEqual(tlsContextOptions('modern'), {
    minVersion: 'TLSv1.2',
    maxVersion: 'TLSv1.3',
    ciphers: `${TLS13}:${MODERN}`,
    honorCipherOrder: true,
  });
});

test('compatible adds the TLS 1.2 RSA key-exchange suites of 9.5/9.6 (TLS 1.2 rows), 10.0 and 11.0 ≤ U4', () => {
  const p = TLS_POLICIES.compatible;
  assert.deepEqual([p.minVersion, p.maxVersion, p.needsSecurityLevel0], ['TLSv1.2', 'TLSv1.3', false]);
  assert.equal(p.ciphers, COMPATIBLE);
  assert.deepEqual(p.tls12Suites.slice(TLS_POLICIES.modern.tls12Suites.length), [
    'TLS_RSA_WITH_AES_128_GCM_SHA256',
    'TLS_RSA_WITH_AES_256_CBC_SHA256',
    'TLS_RSA_WITH_AES_128_CBC_SHA256',
  ]);
  assert.match(p.warning ?? '', /forward secrecy/);
  assert.equal(tlsContextOptions('compatible').ciphers, `${TLS13}:${COMPATIBLE}`);
});

test('legacy adds TLS 1.0/1.1 and the CBC-SHA suites, at security level 0, and never 3DES', () => {
  const p = TLS_POLICIES.legacy;
  assert.deepEqual([p.minVersion, p.maxVersion, p.needsSecurityLevel0], ['TLSv1', 'TLSv1.3', true]);
  assert.equal(p.ciphers, LEGACY);
  assert.match(p.warning ?? '', /TLS 1\.0 and 1\.1/);
  assert.deepEqual(tlsContextOptions('legacy'), {
    minVersion: 'TLSv1',
    maxVersion: 'TLSv1.3',
    ciphers: `${TLS13}:${LEGACY}`,
    honorCipherOrder: true,
  });
  for (const name of TLS_POLICY_NAMES) {
    assert.ok(!TLS_POLICIES[name].offeredSuites.includes('TLS_RSA_WITH_3DES_EDE_CBC_SHA'), name);
    assert.ok(
      TLS_POLICIES[name].offeredSuites.every((s) => CIPHER_SUITES[s].availableInNode),
      name,
    );
  }
});

test("each wider policy keeps the narrower one's order as its prefix, so accepted agents keep their suite", () => {
  const [modern, compatible, legacy] = TLS_POLICY_NAMES.map((n) => TLS_POLICIES[n]);
  assert.deepEqual(compatible!.tls12Suites.slice(0, modern!.tls12Suites.length), modern!.tls12Suites);
  assert.deepEqual(legacy!.tls12Suites.slice(0, compatible!.tls12Suites.length), compatible!.tls12Suites);
  for (const p of [modern!, compatible!, legacy!]) {
    assert.deepEqual(p.offeredSuites, [...p.tls13Suites, ...p.tls12Suites]);
    assert.equal(p.ciphersuites, p.tls13Suites.join(':'));
  }
});

test('policy names: lookup, guard, and a clear error for an unknown one', () => {
  assert.equal(tlsPolicy('legacy').name, 'legacy');
  assert.ok(isTlsPolicyName('compatible'));
  assert.ok(!isTlsPolicyName('strict'));
  assert.throws(() => tlsPolicy('strict'), {
    name: 'RangeError',
    message: 'unknown TLS policy "strict"; expected one of modern, compatible, legacy',
  });
  assert.ok(Object.isFrozen(TLS_POLICIES.modern) && Object.isFrozen(TLS_POLICIES.modern.tls12Suites));
});

test('Node accepts every policy\'s options as they are (no "no cipher match", no bad version)', () => {
  for (const name of TLS_POLICY_NAMES) {
    const ctx = tls.createSecureContext({ ...tlsContextOptions(name) });
    assert.ok(ctx.context, name);
  }
});
