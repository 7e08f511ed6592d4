import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canonicalJson, sha256Fingerprint } from './canonical-json.js';

test('sorts members by UTF-16 code units and drops undefined (RFC 8785 §3.2.3)', () => {
  assert.equal(
    canonicalJson({ b: 1, a: [true, null, 'x'], '\u20ac': 1, '\r': 2, c: undefined }),
    '{"\\r":2,"a":[true,null,"x"],"b":1,"€":1}',
  );
});

test('numbers serialize as ECMAScript does (RFC 8785 §3.2.2.3)', () => {
  assert.equal(canonicalJson([1e21, 0.1, -0, 10]), '[1e+21,0.1,0,10]');
  assert.throws(() => canonicalJson(Number.NaN), /non-finite/);
});

test('fingerprint is independent of member order and changes with any value', async () => {
  const a = await sha256Fingerprint({ x: 1, y: { z: 'a', w: 2 } });
  const b = await sha256Fingerprint({ y: { w: 2, z: 'a' }, x: 1 });
  const c = await sha256Fingerprint({ y: { w: 2, z: 'b' }, x: 1 });
  assert.equal(a, b);
  assert.notEqual(a, c);
  assert.match(a, /^sha256:[0-9a-f]{64}$/);
  // Known vector: SHA-256 of the 2-byte string "{}".
  assert.equal(await sha256Fingerprint({}), 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
});
