import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

export interface BuiltPackage {
  file: string;
  fileName: string;
  version: string;
  arch: string;
  sha256: string;
  size: number;
}

/** Every file under `dir`, sorted, for the cache key. */
function filesUnder(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) filesUnder(p, out);
    else if (name.endsWith('.js') || name.endsWith('.json')) out.push(p);
  }
  return out;
}

/**
 * What a package is built from: the packaging script, the compiled agent, protocol and core
 * (the bundle's inputs) and the packaging files. Same inputs, same package.
 */
function inputsKey(): string {
  const h = createHash('sha256');
  const files = [
    join(root, 'scripts/package-agent.mjs'),
    ...['packages/agent/dist', 'packages/protocol/dist', 'packages/core/dist', 'packages/agent/packaging'].flatMap(
      (d) => filesUnder(join(root, d)),
    ),
  ];
  for (const f of files) h.update(relative(root, f)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex').slice(0, 16);
}

const CACHE = join(tmpdir(), 'palisade-agent-package-cache');

/**
 * An agent package as `npm run package:agent` builds it (about 13 s), kept in a cache under the
 * temp dir keyed by what it is built from, so the netns suites build each version once however
 * many files ask. Entries built from other inputs are removed when a new one is written.
 * `fault` builds a package that is broken on purpose (scripts/package-agent.mjs --fault).
 */
export async function buildAgentPackage(version: string, o: { fault?: string } = {}): Promise<BuiltPackage> {
  const inputs = inputsKey();
  const dir = join(CACHE, inputs, `${version}${o.fault ? `-${o.fault}` : ''}`);
  const meta = join(dir, 'package.json');
  if (existsSync(meta)) {
    const p = JSON.parse(readFileSync(meta, 'utf8')) as BuiltPackage;
    if (existsSync(p.file)) return p;
  }
  mkdirSync(CACHE, { recursive: true });
  for (const old of readdirSync(CACHE)) if (old !== inputs) rmSync(join(CACHE, old), { recursive: true, force: true });
  const work = `${dir}.partial-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [
        join(root, 'scripts/package-agent.mjs'),
        '--version',
        version,
        '--out',
        work,
        '--quiet',
        ...(o.fault ? ['--fault', o.fault] : []),
      ],
      { maxBuffer: 1 << 20, timeout: 180_000 },
      (err, stdout, stderr) =>
        err ? reject(new Error(`package-agent ${version}: ${stderr || err.message}`)) : resolve(stdout),
    ),
  );
  const r = JSON.parse(out.trim().split('\n').pop()!) as {
    file: string;
    version: string;
    arch: string;
    sha256: string;
    size: number;
  };
  const fileName = r.file.split('/').pop()!;
  rmSync(dir, { recursive: true, force: true });
  renameSync(work, dir);
  const built: BuiltPackage = { ...r, fileName, file: join(dir, fileName) };
  writeFileSync(meta, JSON.stringify(built));
  return built;
}
