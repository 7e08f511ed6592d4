import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { activate, StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import { MANAGER_BIN, runCli } from './cli.js';
import { errorOf, httpsJson, startTestManager, type TestManager } from './harness.js';

/** Whether shellcheck can run here; CI installs it (.ci/run) and must not skip. */
const shellcheck = spawnSync('shellcheck', ['--version']);
const noShellcheck =
  shellcheck.error || shellcheck.status !== 0 ? 'shellcheck is missing (apt-get install shellcheck)' : false;
if (noShellcheck && process.env.CI === 'true') throw new Error(`CI must check the scripts: ${noShellcheck}`);

/** `NAME='value'` of a generated script (single-quoted, as the generator writes them). */
const scriptValue = (script: string, name: string) =>
  new RegExp(`^${name}='((?:[^']|'\\\\'')*)'$`, 'm').exec(script)?.[1]?.replaceAll(`'\\''`, "'");

/**
 * Deployment scripts and what they rest on, against a real manager over HTTPS: the packages it
 * serves, the script's shape (bash -n, shellcheck), its token (made for it, listed, audited,
 * revocable at once) and the CLI twins. The script itself runs in the netns test host
 * (deployment.netns.test.ts).
 */
describe('deployment scripts, agent packages, activation tokens', () => {
  let m: TestManager;
  const pkgBytes = randomBytes(4096);
  const pkgName = 'palisade-agent-0.3.0-linux-x86_64.tar.gz';
  const api = (method: string, path: string, body?: unknown, key?: string) =>
    m.api(method, path, body, key ? { 'api-secret-key': key } : {});
  const tokens = async () =>
    (await api('GET', '/api/activationtokens')).json<{ activationTokens: V['ActivationToken'][] }>().activationTokens;

  before(async () => {
    m = await startTestManager();
    mkdirSync(m.manager.agentPackages.dir, { recursive: true });
    // The manager does not look inside a package: its name says what it is, its hash is its identity.
    writeFileSync(join(m.manager.agentPackages.dir, pkgName), pkgBytes);
    writeFileSync(join(m.manager.agentPackages.dir, 'palisade-agent-0.2.9-linux-x86_64.tar.gz'), 'older');
    writeFileSync(join(m.manager.agentPackages.dir, 'notes.txt'), 'not a package');
  });
  after(() => m.close());

  test('GET /api/agentpackages lists what the folder holds, newest first, with SHA-256 and size', async () => {
    const r = await api('GET', '/api/agentpackages');
    assert.equal(r.status, 200);
    const { agentPackages } = r.json<{ agentPackages: V['AgentPackage'][] }>();
    assert.deepEqual(
      agentPackages.map((p) => [p.version, p.platform, p.architecture, p.size]),
      [
        ['0.3.0', 'linux', 'x86_64', 4096],
        ['0.2.9', 'linux', 'x86_64', 5],
      ],
    );
    assert.equal(agentPackages[0]?.sha256, createHash('sha256').update(pkgBytes).digest('hex'));
  });

  test('the download route serves the exact bytes without an API key; anything else is a 404', async () => {
    const url = `https://localhost:${m.manager.apiPort}/software/agent/linux/x86_64/0.3.0/${pkgName}`;
    const body = await new Promise<Buffer>((resolve, reject) => {
      import('node:https').then(({ get }) =>
        get(url, { ca: m.manager.ca.certificatePem }, (res) => {
          assert.equal(res.statusCode, 200);
          assert.equal(res.headers['content-type'], 'application/gzip');
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(Buffer.concat(chunks)));
        }).on('error', reject),
      );
    });
    assert.ok(body.equals(pkgBytes));
    for (const path of [
      `/software/agent/linux/aarch64/0.3.0/${pkgName}`,
      `/software/agent/linux/x86_64/0.3.1/${pkgName}`,
      '/software/agent/linux/x86_64/0.3.0/notes.txt',
      '/software/agent/linux/x86_64/0.3.0/..%2F..%2Fpalisade.db',
    ]) {
      const r = await httpsJson(`https://localhost:${m.manager.apiPort}${path}`, m.manager.ca.certificatePem);
      assert.equal(r.status, 404, path);
      assert.equal(errorOf(r).code, 'AGENT_PACKAGE_NOT_FOUND', path);
    }
  });

  test('POST /api/agentdeploymentscripts: a readable bash script with the CA, the package hash and a token made for it', async () => {
    const r = await api('POST', '/api/agentdeploymentscripts', {
      platform: 'linux',
      policyID: 1,
      activationRequired: true,
      validateCertificateRequired: true,
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const made = r.json<V['AgentDeploymentScript']>();
    const { scriptBody, activationTokenID } = made;
    assert.equal(made.platform, 'linux');
    assert.equal(made.policyID, 1);
    assert.ok(Number.isInteger(activationTokenID));
    assert.match(scriptBody, /^#!\/usr\/bin\/env bash\n/);
    assert.match(scriptBody, /^set -euo pipefail$/m);
    assert.equal(scriptValue(scriptBody, 'CA_FINGERPRINT'), m.manager.caFingerprint);
    assert.ok(scriptBody.includes(m.manager.ca.certificatePem.trim()), 'the CA itself, to pin');
    assert.ok(scriptBody.includes(`PACKAGE_SHA256='${createHash('sha256').update(pkgBytes).digest('hex')}'`));
    assert.ok(scriptBody.includes(`VERSION='0.3.0'`), 'the newest package');
    assert.doesNotMatch(scriptBody, /^[^#\n]*curl[^\n]* (-k|--insecure)\b/m, 'never curl -k');
    assert.ok(!scriptBody.includes(m.apiKey), 'never the API key');
    const syntax = spawnSync('bash', ['-n'], { input: scriptBody, encoding: 'utf8' });
    assert.equal(syntax.status, 0, syntax.stderr);

    // The token in the script is a real one: it activates an agent, then is refused once revoked.
    const token = scriptValue(scriptBody, 'ACTIVATION_TOKEN')!;
    assert.match(token, /^pat_/);
    const listed = (await tokens()).find((t) => t.ID === activationTokenID);
    assert.ok(listed, 'the token is listed');
    assert.deepEqual(
      [listed.description, listed.maxUses, listed.uses, listed.status, listed.policyID],
      ['deployment script (linux)', 100, 0, 'valid', 1],
    );
    assert.ok(!JSON.stringify(listed).includes(token), 'the list never shows a secret');
    const activateWith = (dir: string) =>
      activate(new StateDir(dir), { managerUrl: m.agentUrl, token, caFingerprint: m.manager.caFingerprint });
    await activateWith(m.tempDir());
    assert.equal((await api('DELETE', `/api/activationtokens/${activationTokenID}`)).status, 204);
    await assert.rejects(activateWith(m.tempDir()), /revoked/);
    const again = await api('DELETE', `/api/activationtokens/${activationTokenID}`);
    assert.equal(errorOf(again).code, 'ACTIVATION_TOKEN_REVOKED_ALREADY');
    const audit = (await api('GET', '/api/auditevents'))
      .json<V['AuditList']>()
      .auditEvents.filter((e) => e.targetType === 'activationToken' && e.targetID === activationTokenID);
    assert.deepEqual(audit.map((e) => e.action).sort(), ['activationToken.create', 'activationToken.revoke']);
    assert.ok(audit.every((e) => e.actor.type === 'apiKey'));
  });

  test('shellcheck finds nothing in the Linux script, with or without activation', { skip: noShellcheck }, async () => {
    for (const activationRequired of [true, false]) {
      const r = await api('POST', '/api/agentdeploymentscripts', { platform: 'linux', activationRequired });
      const made = r.json<V['AgentDeploymentScript']>();
      const sc = spawnSync('shellcheck', ['-s', 'bash', '-'], { input: made.scriptBody, encoding: 'utf8' });
      assert.equal(sc.status, 0, sc.stdout);
      if (!activationRequired) {
        assert.equal(made.activationTokenID, null);
        assert.match(made.scriptBody, /^ACTIVATION_TOKEN=''$/m);
      }
    }
  });

  test('POST /api/activationtokens: the secret once, the CLI defaults, its uses counted; refusals change nothing', async () => {
    const r = await api('POST', '/api/activationtokens', { policyID: 1, description: 'two hosts', maxUses: 2 });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const made = r.json<V['ActivationTokenWithSecret']>();
    assert.match(made.token, /^pat_/);
    assert.deepEqual(
      [made.policyID, made.policyName, made.description, made.maxUses, made.uses, made.status, made.revoked],
      [1, 'Base Policy', 'two hosts', 2, 0, 'valid', null],
    );
    const day = made.expires! - made.created;
    assert.equal(day, 24 * 3_600_000, 'expires in 24 hours unless told');
    const listed = (await tokens()).find((t) => t.ID === made.ID);
    assert.ok(listed && !JSON.stringify(listed).includes(made.token), 'listed, never with its secret');
    const activateWith = (dir: string) =>
      activate(new StateDir(dir), {
        managerUrl: m.agentUrl,
        token: made.token,
        caFingerprint: m.manager.caFingerprint,
      });
    await activateWith(m.tempDir());
    assert.equal((await tokens()).find((t) => t.ID === made.ID)?.uses, 1);

    const unlimited = (await api('POST', '/api/activationtokens', { policyID: 1, maxUses: null, expires: null })).json<
      V['ActivationTokenWithSecret']
    >();
    assert.deepEqual([unlimited.maxUses, unlimited.expires, unlimited.description], [null, null, '']);
    const defaults = (await api('POST', '/api/activationtokens', { policyID: 1 })).json<
      V['ActivationTokenWithSecret']
    >();
    assert.equal(defaults.maxUses, 1, 'one use unless told, as `token create`');

    const count = (await tokens()).length;
    const cases: Array<[unknown, number, string]> = [
      [{ policyID: 999 }, 404, 'POLICY_NOT_FOUND'],
      [{ policyID: 1, maxUses: 0 }, 400, 'VALIDATION_FAILED'],
      [{ policyID: 1, expires: Date.now() - 1000 }, 400, 'VALIDATION_FAILED'],
      [{ policyID: 1, token: 'pat_mine' }, 400, 'VALIDATION_FAILED'],
      [{}, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const refused = await api('POST', '/api/activationtokens', body);
      assert.deepEqual([refused.status, errorOf(refused).code], [status, code], JSON.stringify(body));
    }
    assert.equal((await tokens()).length, count, 'no token made by a refused request');
    const audit = (await api('GET', '/api/auditevents'))
      .json<V['AuditList']>()
      .auditEvents.filter((e) => e.targetType === 'activationToken' && e.targetID === made.ID);
    assert.deepEqual(
      audit.map((e) => e.action),
      ['activationToken.create'],
    );
  });

  test('bad requests are refused with the reason and make no token', async () => {
    const before = (await tokens()).length;
    const cases: Array<[unknown, number, string]> = [
      [{ platform: 'windows' }, 400, 'VALIDATION_FAILED'],
      [{ platform: 'linux', dsmProxyID: 3 }, 400, 'VALIDATION_FAILED'],
      [{ platform: 'linux', activationRequired: true, policyID: 999 }, 404, 'POLICY_NOT_FOUND'],
      [{ platform: 'macos', activationRequired: true }, 404, 'AGENT_PACKAGE_NOT_FOUND'],
      [{ platform: 'linux', activationTokenUses: 0 }, 400, 'VALIDATION_FAILED'],
    ];
    for (const [body, status, code] of cases) {
      const r = await api('POST', '/api/agentdeploymentscripts', body);
      assert.equal(r.status, status, JSON.stringify(body));
      assert.equal(errorOf(r).code, code, JSON.stringify(body));
    }
    assert.equal((await tokens()).length, before);
    assert.equal(errorOf(await api('DELETE', '/api/activationtokens/999')).code, 'ACTIVATION_TOKEN_NOT_FOUND');
  });

  test('CLI: deployment-script prints the script alone; token and apikey list/revoke take effect at once', async () => {
    const store = ['--data-dir', m.dataDir];
    const s = await runCli(MANAGER_BIN, [
      'deployment-script',
      '--platform',
      'linux',
      '--policy',
      'Base Policy',
      ...store,
    ]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /^#!\/usr\/bin\/env bash\n/);
    assert.equal(scriptValue(s.stdout, 'MANAGER_HOST'), 'localhost', 'the name from the server certificate');
    const id = Number(/activation token (\d+)/.exec(s.stderr)![1]);
    type Listed = Array<{ id: number; name?: string; status?: string }>;
    const list: Listed = JSON.parse((await runCli(MANAGER_BIN, ['token', 'list', '--json', ...store])).stdout);
    assert.equal(list.find((t) => t.id === id)?.status, 'valid');
    const rv = await runCli(MANAGER_BIN, ['token', 'revoke', String(id), ...store]);
    assert.equal(rv.code, 0, rv.stderr);
    const after: Listed = JSON.parse((await runCli(MANAGER_BIN, ['token', 'list', '--json', ...store])).stdout);
    assert.equal(after.find((t) => t.id === id)?.status, 'revoked');
    const bad = await runCli(MANAGER_BIN, [
      'deployment-script',
      '--platform',
      'linux',
      '--no-activate',
      '--uses',
      '3',
      ...store,
    ]);
    assert.equal(bad.code, 2);

    const key = (await runCli(MANAGER_BIN, ['apikey', 'create', '--name', 'to revoke', ...store])).stdout.trim();
    assert.equal((await api('GET', '/api/computers', undefined, key)).status, 200);
    const keys: Listed = JSON.parse((await runCli(MANAGER_BIN, ['apikey', 'list', '--json', ...store])).stdout);
    const k = keys.find((x) => x.name === 'to revoke');
    assert.ok(k, 'the new key is listed');
    assert.ok(!JSON.stringify(keys).includes(key), 'the list never shows a secret');
    assert.equal((await runCli(MANAGER_BIN, ['apikey', 'revoke', String(k.id), ...store])).code, 0);
    const refused = await api('GET', '/api/computers', undefined, key);
    assert.equal(refused.status, 401);
    assert.equal(errorOf(refused).code, 'API_KEY_INVALID');
    const twice = await runCli(MANAGER_BIN, ['apikey', 'revoke', String(k.id), ...store]);
    assert.equal(twice.code, 1);
    assert.match(twice.stderr, /revoked already/);
  });
});
