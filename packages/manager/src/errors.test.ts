import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ERRORS, PalisadeError } from './errors.js';

// docs/errors.md against this registry: tests/repository/src/error-docs.test.ts.

test('every code maps to a 4xx or 5xx, and an error carries code, status and a message with the detail', () => {
  for (const [k, v] of Object.entries(ERRORS)) assert.ok(v.status >= 400 && v.status < 600, k);
  const e = new PalisadeError('SETTING_NOT_FOUND', '"nope"');
  assert.equal(e.status, 404);
  assert.deepEqual(e.toBody(), {
    message: `${ERRORS.SETTING_NOT_FOUND.message}: "nope"`,
    error: { code: 'SETTING_NOT_FOUND', message: `${ERRORS.SETTING_NOT_FOUND.message}: "nope"` },
  });
  assert.equal(e.name, 'PalisadeError');
  const cause = new SyntaxError('Unexpected end of JSON input');
  const wrapped = new PalisadeError('INVALID_JSON', cause.message, { cause });
  assert.equal(wrapped.cause, cause, 'the error it reports is kept for the logs');
  assert.ok(!JSON.stringify(wrapped.toBody()).includes('SyntaxError'), 'and never sent');
});
