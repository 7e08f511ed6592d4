import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { heartbeat } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';

import { MANAGER_BIN, runCli } from './cli.js';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

const DOC = fileURLToPath(new URL('../../../docs/api.md', import.meta.url));

/** One shell command from the doc, with the status its `# expect NNN` comment announces (else any 2xx). */
interface DocCommand {
  command: string;
  expect: number | null;
  line: number;
}

/** The `curl` commands of every ```sh block, continuation lines joined, in document order. */
export function curlCommands(markdown: string): DocCommand[] {
  const out: DocCommand[] = [];
  const lines = markdown.split('\n');
  let inSh = false;
  let expect: number | null = null;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (trimmed.startsWith('```')) {
      inSh = !inSh && trimmed === '```sh';
      expect = null;
      continue;
    }
    if (!inSh) continue;
    const e = /^# expect ([0-9]{3})$/.exec(trimmed);
    if (e) {
      expect = Number(e[1]);
      continue;
    }
    if (!trimmed.startsWith('curl ')) continue;
    const start = i + 1;
    let command = trimmed;
    while (command.endsWith('\\') && i + 1 < lines.length)
      command = `${command.slice(0, -1).trimEnd()} ${lines[++i]!.trim()}`;
    out.push({ command, expect, line: start });
    expect = null;
  }
  return out;
}

/** `METHOD /path` a curl command sends (after the variables are expanded). */
function requestOf(command: string): string {
  const method = /-X ([A-Z]+)/.exec(command)?.[1] ?? (/ -d /.test(command) ? 'POST' : 'GET');
  const url = /"\$PALISADE(\/[^"?]*)/.exec(command)?.[1];
  return `${method} ${url}`;
}

function run(
  command: string,
  env: Record<string, string>,
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The caller's environment plus the doc's variables, as in an operator's shell.
    execFile(
      'bash',
      ['-c', command],
      { cwd, env: { ...process.env, ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

describe('docs/api.md: every curl example runs as written against a real manager', () => {
  let root: string;
  let m: TestManager;
  let env: Record<string, string>;
  const commands = curlCommands(readFileSync(DOC, 'utf8'));

  before(async () => {
    // The doc runs from the directory holding data/, as an operator beside the manager would.
    root = mkdtempSync(join(tmpdir(), 'palisade-docs-'));
    m = await startTestManager({ dataDir: join(root, 'data') });
    await heartbeat(await activateTestAgent(m, { hostName: 'web-01.example.test' }));
    // The read-only key the way the doc says to make one.
    const ro = await runCli(MANAGER_BIN, [
      'apikey',
      'create',
      '--name',
      'auditor',
      '--role',
      'read-only',
      '--data-dir',
      join(root, 'data'),
    ]);
    assert.equal(ro.code, 0, ro.stderr);
    env = {
      PALISADE: `https://localhost:${m.manager.apiPort}`,
      KEY: m.apiKey,
      READONLY_KEY: ro.stdout.trim(),
      OUT: join(root, 'response.json'),
    };
  });
  after(async () => {
    await m.close();
    rmSync(root, { recursive: true, force: true });
  });

  test('the doc has curl examples for every policy, computer, setting, audit and OpenAPI route', async () => {
    assert.ok(commands.length >= 25, `found ${commands.length} curl commands`);
    // The routes this doc covers; other features document theirs in their own pages.
    const mine = [
      'GET /api/settings',
      'GET /api/policies',
      'POST /api/policies',
      'GET /api/policies/{id}',
      'POST /api/policies/{id}',
      'DELETE /api/policies/{id}',
      'GET /api/policies/{id}/settings/{name}',
      'POST /api/policies/{id}/settings/{name}',
      'DELETE /api/policies/{id}/settings/{name}',
      'GET /api/computers',
      'GET /api/computers/{id}',
      'POST /api/computers/{id}',
      'DELETE /api/computers/{id}',
      'GET /api/computers/{id}/settings/{name}',
      'POST /api/computers/{id}/settings/{name}',
      'DELETE /api/computers/{id}/settings/{name}',
      'GET /api/auditevents',
      'GET /api/openapi.json',
    ].map((r) => {
      const [method, path] = r.split(' ') as [string, string];
      return { method, path, re: new RegExp(`^${path.replace(/\{[^}]+\}/g, '[^/]+')}$`) };
    });
    // …and each of them is a real route in the served OpenAPI document.
    const doc = (await m.api('GET', '/api/openapi.json')).json<{ paths: Record<string, Record<string, unknown>> }>();
    for (const r of mine)
      assert.ok(doc.paths[r.path]?.[r.method.toLowerCase()], `${r.method} ${r.path} is in the OpenAPI document`);
    assert.ok(mine.length >= 18);
    const sent = commands.map((c) => requestOf(c.command));
    for (const r of mine) {
      assert.ok(
        sent.some((s) => s.startsWith(`${r.method} `) && r.re.test(s.slice(r.method.length + 1))),
        `an example for ${r.method} ${r.path}`,
      );
    }
  });

  test('each returns 2xx (or the status its "# expect" comment announces), over TLS verified with data/tls/ca.crt', async () => {
    for (const c of commands) {
      assert.match(
        c.command,
        /^curl --cacert data\/tls\/ca\.crt /,
        `line ${c.line} verifies the manager with the CA file`,
      );
      const wrapped = c.command.replace(/^curl /, `curl -sS -o "$OUT" -w '%{http_code}' `);
      const r = await run(wrapped, env, root);
      assert.equal(r.code, 0, `line ${c.line}: curl failed: ${r.stderr}`);
      const status = Number(r.stdout);
      const body = readFileSync(env.OUT!, 'utf8');
      if (c.expect !== null) assert.equal(status, c.expect, `line ${c.line}: ${c.command}\n${body}`);
      else assert.ok(status >= 200 && status < 300, `line ${c.line}: ${status} ${body}\n${c.command}`);
    }
  });

  test('and they did what the doc says', async () => {
    const p = (await m.api('GET', '/api/policies/3')).json<V['Policy']>();
    assert.equal(p.name, 'Web servers (nginx)');
    assert.equal(p.parentID, 2);
    // Created Off, overridden On, then reset: inherited from the Base Policy.
    assert.deepEqual(p.policySettings.firewallSettingState, { value: 'On', source: 'base' });
    assert.deepEqual(p.policySettings.platformSettingHeartbeatLocalTimeShiftAlertThreshold, {
      value: '15',
      source: 'policy:3',
    });
    assert.equal((await m.api('GET', '/api/policies/4')).status, 404, 'Scratch was deleted');
    const c = (await m.api('GET', '/api/computers/1')).json<V['Computer']>();
    assert.equal(c.policyID, 3);
    assert.deepEqual(c.computerStatus.agentStatusMessages, ['Deactivated']);
    const audit = (await m.api('GET', '/api/auditevents?limit=1000')).json<V['AuditList']>().auditEvents;
    assert.ok(audit.some((e) => e.action === 'computer.policy' && e.newValue === '3'));
    assert.ok(
      !audit.some((e) => e.action === 'computer.policy' && e.newValue === '1'),
      'the read-only key changed nothing',
    );
  });
});
