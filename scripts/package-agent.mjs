#!/usr/bin/env node
// Builds the agent package: palisade-agent-<version>-linux-<arch>.tar.gz holding the agent as
// one self-contained executable (a Node.js single executable application, "SEA":
// https://nodejs.org/api/single-executable-applications.html), its systemd unit, an uninstall
// script and a README.
//
//   node scripts/package-agent.mjs [--version V] [--out DIR] [--quiet]
//
// --version  the version the agent reports (default: packages/agent/package.json); a package
//            built for a lab or a test may carry a pre-release such as 0.1.0-lab.2
// --out      where the package goes (default: data/agent-packages, the folder the manager serves
//            with the default --data-dir, so `npm run package:agent && npm start` just works)
//
// Steps: esbuild bundles the compiled CLI (packages/agent/dist, so run `tsc -b` first; `npm run
// package:agent` does) into one CommonJS file — Node 20's SEA runs a single CommonJS script —
// with the version written into agent-version.js; node --experimental-sea-config makes the
// blob; a copy of this Node binary gets the blob injected with postject. The executable thus
// carries this machine's Node.js: build on the architecture you ship (x86_64 or aarch64).
// Prints the package path, its SHA-256 and its size on stdout.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(new URL('..', import.meta.url).pathname);
const require = createRequire(import.meta.url);
const { values } = parseArgs({
  options: { version: { type: 'string' }, out: { type: 'string' }, quiet: { type: 'boolean' } },
  strict: true,
});
const log = (s) => values.quiet || process.stderr.write(`package-agent: ${s}\n`);
const fail = (s) => {
  process.stderr.write(`package-agent: ${s}\n`);
  process.exit(1);
};

if (process.platform !== 'linux')
  fail(`builds Linux packages only (this is ${process.platform}); the macOS agent package is not built yet`);
const arch = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : null;
if (!arch) fail(`no package for architecture ${process.arch} (x86_64 and aarch64 only)`);
const version = values.version ?? JSON.parse(readFileSync(join(root, 'packages/agent/package.json'), 'utf8')).version;
if (!/^[0-9]+\.[0-9]+\.[0-9]+(?:-[0-9A-Za-z.-]+)?$/.test(version))
  fail(`--version "${version}" is not a version like 1.2.3 or 1.2.3-rc.1`);
const entry = join(root, 'packages/agent/bin/palisade-agent.js');
try {
  statSync(join(root, 'packages/agent/dist/cli.js'));
} catch {
  fail('packages/agent/dist/cli.js is missing: run "npx tsc -b" first (npm run package:agent does)');
}
const outDir = resolve(values.out ?? join(root, 'data', 'agent-packages'));
const name = `palisade-agent-${version}-linux-${arch}`;
const work = mkdtempSync(join(tmpdir(), 'palisade-package-'));
const started = Date.now();
try {
  // 1. One CommonJS bundle. The version module is replaced, so a package reports the version it
  //    was built as whatever the source says.
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: true,
    legalComments: 'none',
    logLevel: 'error',
    outfile: join(work, 'agent.cjs'),
    plugins: [
      {
        name: 'agent-version',
        setup(b) {
          b.onLoad({ filter: /[\\/]packages[\\/]agent[\\/]dist[\\/]agent-version\.js$/ }, () => ({
            contents: `export const AGENT_VERSION = ${JSON.stringify(version)};\n`,
            loader: 'js',
          }));
        },
      },
    ],
  });

  // 2. The SEA blob, then a copy of this Node binary with the blob injected.
  writeFileSync(
    join(work, 'sea-config.json'),
    JSON.stringify({
      main: join(work, 'agent.cjs'),
      output: join(work, 'agent.blob'),
      disableExperimentalSEAWarning: true,
      useCodeCache: true,
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', join(work, 'sea-config.json')], { stdio: 'pipe' });
  const stage = join(work, `palisade-agent-${version}`);
  mkdirSync(stage);
  const exe = join(stage, 'palisade-agent');
  copyFileSync(process.execPath, exe);
  chmodSync(exe, 0o755);
  const postject = require.resolve('postject/dist/cli.js');
  try {
    execFileSync(
      process.execPath,
      [
        postject,
        exe,
        'NODE_SEA_BLOB',
        join(work, 'agent.blob'),
        '--sentinel-fuse',
        'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2',
      ],
      { stdio: 'pipe' },
    );
  } catch (e) {
    fail(`postject could not inject the agent into the Node binary: ${e.stderr?.toString() ?? e.message}`);
  }
  // The executable must run as itself: it prints its version without Node.js on PATH.
  const reported = execFileSync(exe, ['--version'], { env: { PATH: '/nonexistent' }, encoding: 'utf8' }).trim();
  if (reported !== version) fail(`the built executable reports version "${reported}", expected "${version}"`);

  // 3. The rest of the package, then one tar.gz with a top folder named after the version.
  const packaging = join(root, 'packages/agent/packaging');
  for (const f of ['palisade-agent.service', 'uninstall.sh', 'README.md'])
    copyFileSync(join(packaging, f), join(stage, f));
  chmodSync(join(stage, 'uninstall.sh'), 0o755);
  writeFileSync(
    join(stage, 'manifest.json'),
    `${JSON.stringify({ name: 'palisade-agent', version, platform: 'linux', arch, node: process.version }, null, 2)}\n`,
  );
  mkdirSync(outDir, { recursive: true });
  const tarball = join(outDir, `${name}.tar.gz`);
  const partial = `${tarball}.partial-${process.pid}`;
  execFileSync('tar', [
    '--owner=0',
    '--group=0',
    '--numeric-owner',
    '-czf',
    partial,
    '-C',
    work,
    `palisade-agent-${version}`,
  ]);
  // Renamed into place only when whole: a manager scanning the folder never serves half a file.
  execFileSync('mv', ['-f', partial, tarball]);
  const sha256 = await new Promise((res, rej) => {
    const h = createHash('sha256');
    createReadStream(tarball)
      .on('data', (c) => h.update(c))
      .on('end', () => res(h.digest('hex')))
      .on('error', rej);
  });
  const size = statSync(tarball).size;
  log(
    `built ${name} (${process.version}, ${(size / 1048576).toFixed(1)} MiB) in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  process.stdout.write(`${JSON.stringify({ file: tarball, version, platform: 'linux', arch, sha256, size })}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
