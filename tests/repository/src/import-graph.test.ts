import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The import graph of the whole repository against docs/architecture.md "Packages and the
 * direction of imports": `core ← protocol ← {manager, agent}`, the manager never imports the
 * agent nor the reverse, and no circle anywhere — between packages, or between the modules of
 * one package. Read from the TypeScript sources (the compiler's own import scanner, so comments
 * and strings are not imports), tests and test support included: a test that imports across a
 * forbidden arrow couples the packages as surely as product code does.
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

interface Workspace {
  name: string;
  dir: string;
}

const workspaces: Workspace[] = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }
).workspaces.map((dir) => ({
  dir,
  name: (JSON.parse(readFileSync(join(ROOT, dir, 'package.json'), 'utf8')) as { name: string }).name,
}));
const byName = new Map(workspaces.map((w) => [w.name, w]));

/** What each workspace may import (by package name); a workspace not listed may import any. */
const ALLOWED: Record<string, readonly string[]> = {
  '@palisade/core': [],
  '@palisade/protocol': ['@palisade/core'],
  '@palisade/manager': ['@palisade/core', '@palisade/protocol'],
  '@palisade/agent': ['@palisade/core', '@palisade/protocol'],
  // The console talks to the manager over HTTP only; core's rules may run in it.
  '@palisade/console': ['@palisade/core'],
};

function sourcesUnder(dir: string, out: string[] = []): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourcesUnder(p, out);
    else if (/\.tsx?$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

interface ImportEdge {
  from: string; // repository-relative source file
  specifier: string;
}

function importsOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((f) => f.fileName);
}

const files = workspaces.flatMap((w) => sourcesUnder(join(ROOT, w.dir, 'src')).map((f) => ({ w, f })));
const edges: Array<ImportEdge & { w: Workspace; file: string }> = files.flatMap(({ w, f }) =>
  importsOf(f).map((specifier) => ({ w, file: f, from: relative(ROOT, f), specifier })),
);

/** The workspace a `@palisade/...` specifier names, or null for anything else. */
function workspaceOf(specifier: string): Workspace | null {
  const m = /^(@palisade\/[^/]+)/.exec(specifier);
  return m ? (byName.get(m[1]!) ?? null) : null;
}

/** A relative specifier resolved to a source file (`./x.js` → `x.ts` or `x.tsx`), or null. */
function resolveRelative(file: string, specifier: string): string | null {
  const target = resolve(dirname(file), specifier);
  for (const candidate of [
    target.replace(/\.js$/, '.ts'),
    target.replace(/\.js$/, '.tsx'),
    `${target}.ts`,
    `${target}.tsx`,
  ])
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  return null;
}

/** Every circle in `graph`, each once, as the path that closes it (Tarjan's SCCs, then one cycle each). */
function circles(graph: Map<string, Set<string>>): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      const self = graph.get(v)?.has(v) ?? false;
      if (scc.length > 1 || self) found.push(pathWithin(graph, new Set(scc), v));
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return found;
}

/** One circle through `start` inside the strongly connected set `scc` (breadth first: the shortest). */
function pathWithin(graph: Map<string, Set<string>>, scc: Set<string>, start: string): string[] {
  const previous = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const v = queue.shift()!;
    for (const w of graph.get(v) ?? []) {
      if (!scc.has(w)) continue;
      if (w === start) {
        const path = [v];
        for (let p = previous.get(v); p !== undefined; p = previous.get(p)) path.unshift(p);
        if (path[0] !== start) path.unshift(start);
        return [...path, start];
      }
      if (!previous.has(w) && w !== start) {
        previous.set(w, v);
        queue.push(w);
      }
    }
  }
  return [start, start];
}

describe('the import graph', () => {
  test('the scan sees the repository: every workspace has sources, and the packages import each other', () => {
    for (const w of workspaces)
      assert.ok(
        files.some((f) => f.w === w),
        `${w.dir} has TypeScript sources under src/`,
      );
    assert.ok(
      edges.some((e) => e.w.name === '@palisade/manager' && e.specifier === '@palisade/protocol'),
      'the manager imports the protocol (else the scanner is blind)',
    );
  });

  test('each package imports only the packages below it: core ← protocol ← {manager, agent}', () => {
    const offenders = edges
      .filter((e) => {
        const target = workspaceOf(e.specifier);
        const allowed = ALLOWED[e.w.name];
        return target !== null && target !== e.w && allowed !== undefined && !allowed.includes(target.name);
      })
      .map((e) => `${e.from} imports ${e.specifier}`);
    assert.deepEqual(offenders, []);
  });

  test('the manager never imports the agent, nor the agent the manager, by name or by path', () => {
    const dirOf = (name: string) => join(ROOT, byName.get(name)!.dir);
    const crossing = (fromName: string, toName: string) =>
      edges
        .filter((e) => e.w.name === fromName)
        .filter((e) => {
          if (workspaceOf(e.specifier)?.name === toName) return true;
          if (!e.specifier.startsWith('.')) return false;
          return resolve(dirname(e.file), e.specifier).startsWith(`${dirOf(toName)}/`);
        })
        .map((e) => `${e.from} imports ${e.specifier}`);
    assert.deepEqual(crossing('@palisade/manager', '@palisade/agent'), []);
    assert.deepEqual(crossing('@palisade/agent', '@palisade/manager'), []);
  });

  test('no relative import leaves its package (another package is imported by its name)', () => {
    const offenders = edges
      .filter((e) => e.specifier.startsWith('.'))
      .filter((e) => !resolve(dirname(e.file), e.specifier).startsWith(`${join(ROOT, e.w.dir)}/`))
      .map((e) => `${e.from} imports ${e.specifier}`);
    assert.deepEqual(offenders, []);
  });

  test('no circle between packages', () => {
    const graph = new Map<string, Set<string>>(workspaces.map((w) => [w.name, new Set()]));
    for (const e of edges) {
      const target = workspaceOf(e.specifier);
      if (target && target !== e.w) graph.get(e.w.name)!.add(target.name);
    }
    assert.deepEqual(circles(graph), []);
  });

  test('no circle between the modules of a package', () => {
    const graph = new Map<string, Set<string>>();
    for (const e of edges) {
      const from = relative(ROOT, e.file);
      if (!graph.has(from)) graph.set(from, new Set());
      if (!e.specifier.startsWith('.')) continue;
      const target = resolveRelative(e.file, e.specifier);
      if (target) graph.get(from)!.add(relative(ROOT, target));
    }
    assert.deepEqual(
      circles(graph).map((c) => c.join(' → ')),
      [],
    );
  });

  test('the circle finder finds circles (so an empty answer means none)', () => {
    const g = new Map<string, Set<string>>([
      ['a', new Set(['b'])],
      ['b', new Set(['c'])],
      ['c', new Set(['a', 'd'])],
      ['d', new Set()],
      ['e', new Set(['e'])],
    ]);
    assert.deepEqual(
      circles(g)
        .map((c) => c.join(' → '))
        .sort(),
      ['a → b → c → a', 'e → e'],
    );
  });
});
