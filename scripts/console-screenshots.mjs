#!/usr/bin/env node
// Regenerates the console screenshots in docs/console/ (referenced from docs/console.md): builds
// the console, then runs the browser suite, which signs in against a real manager with real
// agents and saves each main page at 1280×800 as it goes.
//   node scripts/console-screenshots.mjs
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args, env = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npm', ['run', 'build']);
run(process.execPath, ['scripts/test.mjs', '--all', 'console.browser'], {
  PALISADE_CONSOLE_SCREENSHOTS: `${root}docs/console`,
});
