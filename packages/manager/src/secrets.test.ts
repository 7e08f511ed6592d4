import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { hashSecret, newSecret, randomToken } from './secrets.js';

test('randomToken: base64url of the bytes asked for, never the same twice across pool refills', () => {
  const seen = new Set<string>();
  // 32 and 24 bytes do not divide the 8 KiB pool evenly: draws cross its refills at odd offsets.
  for (let i = 0; i < 3_000; i++) {
    const bytes = i % 2 === 0 ? 32 : 24;
    const t = randomToken(bytes);
    assert.match(t, /^[A-Za-z0-9_-]+$/);
    assert.equal(Buffer.from(t, 'base64url').length, bytes);
    assert.ok(!seen.has(t), `drawn twice: ${t}`);
    seen.add(t);
  }
  // Random bytes, not a zeroed (already drawn) stretch of the pool.
  const zero = Buffer.alloc(32).toString('base64url');
  assert.ok(![...seen].some((t) => t === zero || t === Buffer.alloc(24).toString('base64url')));
});

test('randomToken refuses sizes it cannot draw', () => {
  for (const n of [0, -1, 1.5, 8193]) assert.throws(() => randomToken(n), RangeError);
});

test('newSecret: API keys and activation tokens keep their prefixes and lengths', () => {
  assert.match(newSecret('apikey'), /^psk_[A-Za-z0-9_-]{43}$/);
  assert.match(newSecret('token'), /^pat_[A-Za-z0-9_-]{32}$/);
});

test('hashSecret: SHA-256 of the UTF-8 text, in hex (stored hashes made before stay valid)', () => {
  // A known vector, then tokens and non-ASCII text against createHash: the one-shot path and
  // the streaming one must agree, or every stored token and API key would stop matching.
  assert.equal(hashSecret('abc'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  for (const s of [randomToken(32), newSecret('apikey'), 'pässwörd ✓', '']) {
    assert.equal(hashSecret(s), createHash('sha256').update(s, 'utf8').digest('hex'));
  }
});
