import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { ApiViews as V } from '@palisade/manager';
import {
  AGENT_BIN,
  type AgentProcess,
  activateArgsFor,
  type ManagerProcess,
  runCli,
  startAgentProcess,
  startLoopbackManager,
} from './cli.js';
import { httpsJson } from './harness.js';
import { acceptsTcp, freePort, waitFor } from './polling.js';

const PORT_SETTING = 'platformSettingAgentListeningPort';

/**
 * Issue 12, item 13: the agent's listening port is a setting (policy, computer; Inherited), sent
 * in the configuration. Real processes: `palisade-manager start` and `palisade-agent start` with
 * no --listen-port, so the port can only come from the setting. (The nftables side is in
 * firewall.netns.test.ts.)
 */
describe('the listening port setting moves a real agent and the manager dials it there', () => {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-listening-port-'));
  const dataDir = join(dir, 'data');
  const stateDir = join(dir, 'agent-state');
  let mgr: ManagerProcess;
  let apiKey: string;
  let apiPort: number;
  let agent: AgentProcess | undefined;
  let computerId: number;
  let first: number;
  let second: number;

  const api = (method: string, path: string, body?: unknown) =>
    httpsJson(`https://localhost:${apiPort}${path}`, readFileSync(join(dataDir, 'tls', 'ca.crt'), 'utf8'), {
      method,
      body,
      headers: { 'api-secret-key': apiKey },
    });
  const comm = async () => (await api('GET', `/api/computers/${computerId}/communication`)).json<V['Communication']>();

  before(async () => {
    mgr = await startLoopbackManager(dataDir);
    ({ apiKey, apiPort } = mgr);
    first = await freePort();
    second = await freePort();
  });
  after(async () => {
    await agent?.stop();
    await mgr?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a value outside 1–65535 is refused with the reason, and nothing is stored', async () => {
    for (const value of ['0', '65536', 'http', '4118 ']) {
      const r = await api('POST', `/api/policies/1/settings/${PORT_SETTING}`, { value });
      assert.equal(r.status, 400, JSON.stringify(r.body));
      const { error } = r.json<{ error: { code: string; message: string } }>();
      assert.equal(error.code, 'SETTING_VALUE_INVALID');
      assert.ok(
        error.message.endsWith(`setting "${PORT_SETTING}" takes a TCP port number from 1 to 65535, got "${value}"`),
        error.message,
      );
    }
    const kept = await api('GET', `/api/policies/1/settings/${PORT_SETTING}`);
    assert.equal(kept.json<{ value: string }>().value, '4118');
  });

  test("activated into a Bidirectional policy with the port set, the agent listens on the policy's port", async () => {
    for (const [name, value] of [
      ['platformSettingAgentCommunicationsDirection', 'Bidirectional'],
      [PORT_SETTING, String(first)],
    ] as const) {
      const r = await api('POST', `/api/policies/1/settings/${name}`, { value });
      assert.equal(r.status, 200, JSON.stringify(r.body));
    }
    const args = activateArgsFor(mgr, stateDir);
    const r = await runCli(AGENT_BIN, [...args, '--listen-address', '127.0.0.1']);
    assert.equal(r.code, 0, r.stderr);
    computerId = Number(/computer (\d+)/.exec(r.stdout)![1]);
    agent = startAgentProcess(stateDir);
    await waitFor(
      () => `the agent to listen on ${first}: ${agent!.log()}`,
      () => acceptsTcp(first),
      60_000,
    );
    assert.doesNotMatch(agent!.log(), /"port":4118/, 'never on the default port');
    await waitFor('the manager to learn the listener', async () => (await comm()).listener?.port === first, 60_000);
    const s = await runCli(AGENT_BIN, ['status', '--state-dir', stateDir]);
    assert.match(s.stdout, new RegExp(`heartbeats, and listens on port ${first} while running`));
  });

  test('the computer overrides it: the running agent rebinds, the hidden rule and the dialer follow', async () => {
    const r = await api('POST', `/api/computers/${computerId}/settings/${PORT_SETTING}`, { value: String(second) });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    // Bidirectional: the manager pushes the change to the listener it knows; the agent moves.
    await waitFor(
      () => `the agent to move to ${second}: ${agent!.log()}`,
      () => acceptsTcp(second),
      60_000,
    );
    await waitFor(`port ${first} to close`, async () => !(await acceptsTcp(first)), 30_000);
    const v = await waitFor('the manager to learn the new listener', async () => {
      const c = await comm();
      return c.listener?.port === second && c;
    });
    assert.equal(v.listeningPort, second);
    const effective = (await api('GET', `/api/computers/${computerId}/firewall/effective`)).json<V['Effective']>();
    assert.deepEqual([effective.hiddenRule, effective.listeningPort], ['present', second]);
    assert.deepEqual(effective.rules[0]?.destinationPortMultiple, [String(second)]);
    const check = await api('POST', `/api/computers/${computerId}/actions/checkstatus`, {});
    assert.equal(check.status, 200, JSON.stringify(check.body));
    const checked = check.json<{ status: string; address: string }>();
    assert.deepEqual([checked.status, checked.address], ['completed', `127.0.0.1:${second}`]);
    const c = (await api('GET', `/api/computers/${computerId}`)).json<V['Computer']>();
    assert.equal(c.configurationFingerprint.applied, c.configurationFingerprint.expected);
  });
});
