import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ERRORS, PalisadeError } from './errors.js';

const DOC = new URL('../../../docs/errors.md', import.meta.url);

/** `| \`CODE\` | 400 | meaning |` rows of the table, as code → status. */
function documented(): Map<string, number> {
  const rows = new Map<string, number>();
  for (const line of readFileSync(DOC, 'utf8').split('\n')) {
    const m = /^\|\s*`?([A-Z][A-Z0-9_]*)`?\s*\|\s*([0-9]{3})\s*\|(.*)\|\s*$/.exec(line);
    if (!m) continue;
    assert.ok(!rows.has(m[1]!), `${m[1]} is listed once`);
    assert.ok(m[3]!.trim().length > 0, `${m[1]} has a meaning`);
    rows.set(m[1]!, Number(m[2]));
  }
  return rows;
}

test('docs/errors.md lists exactly the codes in errors.ts, each with its HTTP status', () => {
  const docs = documented();
  const code = new Map(Object.entries(ERRORS).map(([k, v]) => [k, v.status]));
  const missing = [...code.keys()].filter((k) => !docs.has(k));
  const extra = [...docs.keys()].filter((k) => !code.has(k));
  assert.deepEqual(
    { missing, extra },
    { missing: [], extra: [] },
    'codes in errors.ts but not the doc, or the reverse',
  );
  for (const [k, status] of code) assert.equal(docs.get(k), status, `${k} status`);
});

test('every code maps to a 4xx or 5xx, and an error carries code, status and a message with the detail', () => {
  for (const [k, v] of Object.entries(ERRORS)) assert.ok(v.status >= 400 && v.status < 600, k);
  const e = new PalisadeError('SETTING_NOT_FOUND', '"nope"');
  assert.equal(e.status, 404);
  assert.deepEqual(e.toBody(), {
    message: `${ERRORS.SETTING_NOT_FOUND.message}: "nope"`,
    error: { code: 'SETTING_NOT_FOUND', message: `${ERRORS.SETTING_NOT_FOUND.message}: "nope"` },
  });
});
