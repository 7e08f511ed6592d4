import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentError } from './agent-error.js';
import { normalizeFingerprint } from './manager-client.js';
import { formatManagerUrl, managerCandidates, parseManagerUrl } from './manager-url.js';

test('parses dsm:// and https:// manager addresses, port 4120 by default', () => {
  assert.deepEqual(parseManagerUrl('dsm://manager.example.com:4120/'), { host: 'manager.example.com', port: 4120 });
  assert.deepEqual(parseManagerUrl('dsm://manager.example.com/'), { host: 'manager.example.com', port: 4120 });
  assert.deepEqual(parseManagerUrl('https://10.0.0.1:9999'), { host: '10.0.0.1', port: 9999 });
  assert.deepEqual(parseManagerUrl('dsm://[::1]:4120/'), { host: '::1', port: 4120 });
  assert.equal(formatManagerUrl({ host: '::1', port: 4120 }), 'dsm://[::1]:4120/');
});

test('rejects anything else with MANAGER_URL_INVALID', () => {
  for (const bad of ['manager:4120', 'http://m:4120/', 'dsm://m:4120/path', 'not a url', '']) {
    assert.throws(
      () => parseManagerUrl(bad),
      (e: unknown) => e instanceof AgentError && e.code === 'MANAGER_URL_INVALID',
      bad,
    );
  }
});

test('fingerprints are accepted in the common spellings and normalized', () => {
  const hex = 'ab'.repeat(32);
  const want = `sha256:${hex}`;
  assert.equal(normalizeFingerprint(want), want);
  assert.equal(normalizeFingerprint(hex.toUpperCase()), want);
  assert.equal(normalizeFingerprint(`SHA256:${hex.match(/../g)!.join(':').toUpperCase()}`), want);
  assert.equal(normalizeFingerprint('sha256:abc'), null);
  assert.equal(normalizeFingerprint(`md5:${hex}`), null);
});

test('manager candidates: the configuration’s list in order, then the activation address, each once; junk skipped', () => {
  const activated = { host: 'mgr.example', port: 4120 };
  assert.deepEqual(managerCandidates(activated, null), [activated]);
  assert.deepEqual(managerCandidates(activated, { managers: 'dsm://x:1/' }), [activated]);
  assert.deepEqual(
    managerCandidates(activated, {
      managers: ['dsm://a.example:4120/', 42, 'http://bad/', 'dsm://MGR.example:4120/', 'dsm://b.example:4121/'],
    }),
    [
      { host: 'a.example', port: 4120 },
      { host: 'MGR.example', port: 4120 },
      { host: 'b.example', port: 4121 },
    ],
  );
});
