import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isSealed, masterKeyId, type SealedSecret, SecretBox, SecretBoxError } from './secret-box.js';

describe('SecretBox: AES-256-GCM envelopes with a key id', () => {
  const key = SecretBox.generateKey();
  const box = new SecretBox([key]);

  test('seals to a versioned envelope naming the key, and opens it back', () => {
    const sealed = box.seal('-----BEGIN PRIVATE KEY-----\nabc\n', 'ca.key');
    assert.ok(isSealed(sealed));
    assert.match(sealed, new RegExp(`^psb1\\.${masterKeyId(key)}\\.`));
    assert.ok(!sealed.includes('PRIVATE KEY'));
    assert.equal(box.openText(sealed, 'ca.key'), '-----BEGIN PRIVATE KEY-----\nabc\n');
    assert.notEqual(box.seal('x', 'p'), box.seal('x', 'p'), 'a fresh nonce per seal');
  });

  test('a sealed value opens only for the purpose it was sealed for, and not once altered', () => {
    const sealed = box.seal('secret', 'notifiers.webhook');
    assert.throws(() => box.open(sealed, 'ca.key'), SecretBoxError);
    const raw = Buffer.from(sealed.split('.')[2]!, 'base64url');
    raw[14]! ^= 1;
    const altered = `psb1.${box.keyId}.${raw.toString('base64url')}` as SealedSecret;
    assert.throws(() => box.open(altered, 'notifiers.webhook'), /does not authenticate/);
    assert.throws(() => box.open('plain' as SealedSecret, 'x'), /not a sealed secret/);
  });

  test('another key cannot open it, and says which key the value needs', () => {
    const sealed = box.seal('secret', 'p');
    const other = new SecretBox([SecretBox.generateKey()]);
    assert.throws(
      () => other.open(sealed, 'p'),
      (e: Error) => e instanceof SecretBoxError && e.message.includes(box.keyId) && e.message.includes(other.keyId),
    );
  });

  test('rotation: the first key seals, older keys still open what they sealed', () => {
    const old = box.seal('before', 'p');
    const next = new SecretBox([SecretBox.generateKey(), key]);
    assert.equal(next.openText(old, 'p'), 'before');
    assert.ok(next.isStale(old));
    const fresh = next.seal('after', 'p');
    assert.ok(!next.isStale(fresh));
    assert.throws(() => box.open(fresh, 'p'), SecretBoxError);
  });

  test('keys must be 32 bytes', () => {
    assert.throws(() => new SecretBox([Buffer.alloc(16)]), /32 bytes/);
    assert.throws(() => new SecretBox([]), /at least one/);
  });
});
