import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';

// Core is the pure domain — no I/O, no node: imports — so it can run in the console and be
// unit-tested without sockets (docs/architecture.md "Packages and the direction of imports"). Tests may use node:; the sources they test may not.
test('core sources import nothing from node: and no other package', () => {
  const srcDir = new URL('../src/', import.meta.url);
  const offenders: string[] = [];
  for (const name of readdirSync(srcDir)) {
    if (!name.endsWith('.ts') || name.endsWith('.test.ts')) continue;
    const text = readFileSync(new URL(name, srcDir), 'utf8');
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)) {
      if (!m[1]!.startsWith('./')) offenders.push(`${name}: ${m[1]}`);
    }
  }
  assert.deepEqual(offenders, []);
});
