import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

test('the repository stands alone: nothing cites design notes kept outside it', () => {
  // The architecture is docs/architecture.md; a citation of a file the repository does not hold
  // sends the reader nowhere.
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
    .split('\0')
    .filter((f) => /\.(ts|tsx|mjs|js|md|json|sh)$/.test(f) && !f.endsWith('package-lock.json'));
  assert.ok(files.length > 100, `git ls-files found the sources (${files.length})`);
  const outside = /\b(DESIGN|STYLE)\.md\b/;
  const citing = files.filter((f) => outside.test(readFileSync(join(root, f), 'utf8')));
  assert.deepEqual(citing, [], 'point these at docs/architecture.md');
});
