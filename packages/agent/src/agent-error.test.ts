import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { AGENT_ERRORS } from './agent-error.js';

const DOC = new URL('../../../docs/errors.md', import.meta.url);

test('docs/errors.md lists exactly the agent codes in agent-error.ts', () => {
  const text = readFileSync(DOC, 'utf8');
  const section = text.slice(text.indexOf('## The agent'));
  assert.ok(section.length > 0, 'the agent section is there');
  const documented = [...section.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|(.*)\|\s*$/gm)].map((m) => {
    assert.ok(m[2]!.trim().length > 0, `${m[1]} has a meaning`);
    return m[1]!;
  });
  assert.deepEqual([...documented].sort(), Object.keys(AGENT_ERRORS).sort());
});
