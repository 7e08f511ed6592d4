import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { AGENT_VERSION } from './agent-version.js';

const agentPackage = new URL('../package.json', import.meta.url);

test('the version reported is the agent package’s, so a release changes one place', () => {
  const { version } = JSON.parse(readFileSync(agentPackage, 'utf8')) as { version: string };
  assert.equal(AGENT_VERSION, version);
});

test('`palisade-agent --version` prints it, from any working directory', () => {
  const bin = fileURLToPath(new URL('../bin/palisade-agent.js', import.meta.url));
  const printed = execFileSync(process.execPath, [bin, '--version'], { cwd: '/', encoding: 'utf8' }).trim();
  assert.equal(printed, AGENT_VERSION);
});
