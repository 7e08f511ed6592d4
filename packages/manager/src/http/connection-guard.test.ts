import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultConnectionLimits, openFileLimit } from './connection-guard.js';

describe('default connection caps', () => {
  test('both ports together stay under the open-file limit, with room left for the store and the dialer', () => {
    for (const limit of [1024, 4096, 20_000, 1_048_576]) {
      const l = defaultConnectionLimits(limit);
      assert.ok(l.agent.total + l.api.total <= limit - 256, `limit ${limit}`);
      assert.ok(l.agent.perSource < l.agent.total && l.api.perSource < l.api.total);
      // palisade-sim's capacity run keeps 2 × 16 exchanges in flight from one address.
      assert.ok(l.agent.perSource >= 32);
    }
    // The flood: 1,100 idle sockets from one host under a 1,024 limit.
    assert.ok(defaultConnectionLimits(1024).agent.perSource < 200);
    assert.ok(defaultConnectionLimits(1024).agent.handshakeTimeoutMs < 120_000, "under Node's default 120 s");
  });

  test('the limit is read from /proc where there is one', () => {
    const n = openFileLimit();
    assert.ok(n === null || (Number.isInteger(n) && n > 0));
  });
});
