import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/** The manager's sources (this test runs from dist/store/). */
const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const files = sources(SRC).map((p) => ({ path: relative(SRC, p), text: readFileSync(p, 'utf8') }));
const inStore = (f: { path: string }) => f.path.startsWith('store/');
/**
 * Test support, not the product: the PostgreSQL test server administers the server it started
 * (creates databases, reads rows behind the manager's back to check what it stored).
 */
const isTestSupport = (f: { path: string }) => f.path.startsWith('testing/');
/** Module specifiers: `from '…'`, `import '…'` and `import('…')`. */
const importsOf = (text: string) =>
  [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\s*\(?\s*'([^']+)'/g)].map((m) => m[1] ?? m[2]!);

test('the store is the one place that speaks SQL: nothing outside store/ imports kysely or a driver', () => {
  const offenders = files
    .filter((f) => !inStore(f) && !isTestSupport(f))
    .filter((f) => importsOf(f.text).some((m) => m === 'kysely' || m === 'better-sqlite3' || m === 'pg'))
    .map((f) => f.path);
  assert.deepEqual(offenders, []);
});

test('store/ imports nothing from the layers above it', () => {
  const above = /^\.\.\/(\.\.\/)*(services|api|monitor|dialer|agent-endpoint|notifiers|cli|http|pki|ingest|manager)\b/;
  const offenders = files
    .filter((f) => inStore(f) && !f.path.endsWith('.test.ts'))
    .flatMap((f) =>
      importsOf(f.text)
        .filter((m) => above.test(m))
        .map((m) => `${f.path}: ${m}`),
    );
  assert.deepEqual(offenders, []);
});

test('nothing reaches past the store interface: no instanceof on a store class, no cast to a Kysely type', () => {
  const offenders = files
    .filter((f) => /instanceof\s+\w*Store\b|as\s+unknown\s+as\s+Kysely\b/.test(f.text))
    .map((f) => f.path)
    // This file names the patterns it looks for.
    .filter((p) => p !== 'store/store-boundary.test.ts');
  assert.deepEqual(offenders, []);
});
