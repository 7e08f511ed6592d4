import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { AgentError, activate, StateDir } from '@palisade/agent';
import { AGENT_BIN, MANAGER_BIN, runCli } from './cli.js';
import { startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

describe('activation refuses, with the cause named, when anything is wrong', () => {
  let m: TestManager;
  const newToken = async (...extra: string[]) => {
    const r = await runCli(MANAGER_BIN, [
      'token',
      'create',
      '--policy',
      'Base Policy',
      '--data-dir',
      m.dataDir,
      ...extra,
    ]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout.trim();
  };
  const attempt = (o: Partial<Parameters<typeof activate>[1]>) =>
    activate(new StateDir(m.tempDir()), {
      managerUrl: m.agentUrl,
      token: m.token,
      caFingerprint: m.manager.caFingerprint,
      ...o,
    });
  const rejectsWith = async (p: Promise<unknown>, code: string, text: RegExp) => {
    await assert.rejects(p, (e: unknown) => {
      assert.ok(e instanceof AgentError, String(e));
      assert.equal(e.code, code);
      assert.match(e.message, text);
      assert.equal(e.message.includes('\n'), false, 'one line');
      return true;
    });
  };

  before(async () => {
    m = await startTestManager();
  });
  after(() => m.close());

  test('no CA fingerprint: refuses before connecting (no trust on first use)', async () => {
    await rejectsWith(attempt({ caFingerprint: undefined }), 'FINGERPRINT_REQUIRED', /palisade-manager ca fingerprint/);
  });

  test('a wrong fingerprint', async () => {
    await rejectsWith(
      attempt({ caFingerprint: `sha256:${'0'.repeat(64)}` }),
      'FINGERPRINT_MISMATCH',
      /expected sha256:0{64}/,
    );
  });

  test('an unknown token', async () => {
    await rejectsWith(attempt({ token: 'pat_not-a-real-token' }), 'ACTIVATION_REFUSED', /TOKEN_UNKNOWN/);
  });

  test('an expired token', async () => {
    const r = await runCli(MANAGER_BIN, [
      'token',
      'create',
      '--policy',
      'Base Policy',
      '--expires',
      '1s',
      '--data-dir',
      m.dataDir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const token = r.stdout.trim();
    const id = Number(/activation token (\d+) /.exec(r.stderr)?.[1]);
    // Until the manager's own clock passes the token's expiry: the manager lists it expired by
    // the rule activation checks (services/credentials.ts, activation-token-repository.ts).
    await waitFor(
      `token ${id} to be listed expired`,
      async () => {
        const list = await runCli(MANAGER_BIN, ['token', 'list', '--json', '--data-dir', m.dataDir]);
        const tokens = JSON.parse(list.stdout) as Array<{ id: number; status: string }>;
        return tokens.find((t) => t.id === id)?.status === 'expired';
      },
      15_000,
      200,
    );
    await rejectsWith(attempt({ token }), 'ACTIVATION_REFUSED', /TOKEN_EXPIRED/);
  });

  test('a used-up token: the first activation works, the second is refused', async () => {
    const token = await newToken('--uses', '1');
    await attempt({ token });
    await rejectsWith(attempt({ token }), 'ACTIVATION_REFUSED', /TOKEN_USED_UP/);
  });

  test('an unknown policy', async () => {
    await rejectsWith(attempt({ policy: 'No Such Policy' }), 'ACTIVATION_REFUSED', /POLICY_NOT_FOUND.*No Such Policy/);
  });

  test('a manager host name that does not resolve', async () => {
    await rejectsWith(
      attempt({ managerUrl: 'dsm://manager.does-not-resolve.invalid:4120/' }),
      'MANAGER_NAME_UNRESOLVED',
      /does-not-resolve\.invalid.*DNS/,
    );
  });

  test('nothing listening on the port', async () => {
    await rejectsWith(attempt({ managerUrl: 'dsm://localhost:1/' }), 'MANAGER_UNREACHABLE', /refused/);
  });

  test('the CLI prints one line naming the cause and exits non-zero', async () => {
    const dir = m.tempDir();
    const cases: Array<[string[], RegExp]> = [
      [['--token', m.token], /refusing to activate without --ca-fingerprint/],
      [['--token', 'pat_nope', '--ca-fingerprint', m.manager.caFingerprint], /TOKEN_UNKNOWN/],
      [['--token', m.token, '--ca-fingerprint', m.manager.caFingerprint, '--policy', 'Nope'], /POLICY_NOT_FOUND/],
    ];
    for (const [args, text] of cases) {
      const r = await runCli(AGENT_BIN, ['activate', m.agentUrl, '--state-dir', dir, ...args]);
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, text);
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    }
    const unresolved = await runCli(AGENT_BIN, [
      'activate',
      'dsm://no-such-manager.invalid:4120/',
      '--state-dir',
      dir,
      '--token',
      m.token,
      '--ca-fingerprint',
      m.manager.caFingerprint,
    ]);
    assert.equal(unresolved.code, 1);
    assert.match(unresolved.stderr, /^palisade-agent: manager host name does not resolve: "no-such-manager.invalid"/);
    const usage = await runCli(AGENT_BIN, ['activate', m.agentUrl, '--state-dir', dir]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /--token TOKEN is required/);
  });
});
