import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { type RunningAgent, runAgent, type StateDir } from '@palisade/agent';
import type { ApiViews as V } from '@palisade/manager';
import pino from 'pino';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

const DIRECTION = 'platformSettingAgentCommunicationsDirection';
const FLOOD = 40;

/**
 * The agent's listener under a flood of connections that never start TLS (issue 12, item 2):
 * 40 idle sockets used to fill the 32 slots Node was given, and Send Policy failed until they
 * timed out. Now a source has a cap of its own, and at the total cap a connection still in its
 * handshake makes room; the manager (127.0.0.1) gets through either way, and the cap is logged.
 */
describe('agent listener connection limits', () => {
  let m: TestManager;
  let state: StateDir;
  let agent: RunningAgent;
  let port = 0;
  let policyId = 0;
  const logs: string[] = [];
  const flood: Socket[] = [];

  before(async () => {
    m = await startTestManager();
    const store = m.manager.store;
    const base = (await store.policies.findByName('Base Policy'))!;
    policyId = (await store.policies.create({ parentId: base.id, name: 'Bi', description: '', now: Date.now() })).id;
    await store.policies.setSetting(policyId, DIRECTION, 'Bidirectional');
    state = await activateTestAgent(m, { policy: 'Bi', hostName: 'flooded' });
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    agent = runAgent(state, logger, {
      listener: { bindAddress: '127.0.0.1', port: 0 },
      finalHeartbeatTimeoutMs: 2_000,
    });
    const id = state.activation().computerId;
    port = await waitFor('the manager to learn the listener', async () => {
      const p = agent.communication.listening()?.port;
      const view = (await m.api('GET', `/api/computers/${id}/communication`)).json<V['Communication']>();
      return p && view.listener?.port === p ? p : null;
    });
  });
  after(async () => {
    for (const s of flood.splice(0)) s.destroy();
    await agent?.stop('test over');
    await m.close();
  });

  /** Opens `n` TCP connections that never send a byte, from the given loopback addresses in turn. */
  async function idle(n: number, from: (i: number) => string): Promise<void> {
    await Promise.all(
      Array.from(
        { length: n },
        (_, i) =>
          new Promise<void>((resolve) => {
            const s = connect({ host: '127.0.0.1', port, localAddress: from(i) });
            s.on('error', () => {}); // refused or cut by the caps: expected for some
            s.once('connect', () => resolve());
            s.once('close', () => resolve());
            flood.push(s);
          }),
      ),
    );
  }

  async function sendPolicy(): Promise<V['ActionResult']> {
    const store = m.manager.store;
    const now = (await store.policies.overrides()).get(policyId)?.firewallSettingState;
    await store.policies.setSetting(policyId, 'firewallSettingState', now === 'Off' ? 'On' : 'Off');
    const r = await m.api('POST', `/api/computers/${state.activation().computerId}/actions/sendpolicy`, {});
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.json<V['ActionResult']>();
  }

  test(`${FLOOD} idle connections from one address: Send Policy still reaches the agent, and the per-source cap is logged`, async () => {
    await idle(FLOOD, () => '127.0.0.2');
    const r = await sendPolicy();
    assert.equal(r.status, 'completed', r.message);
    assert.deepEqual(
      r.operations?.map((o) => o.status),
      ['succeeded'],
    );
    assert.ok(
      logs.some((l) => /connection cap reached \(127\.0\.0\.2 already holds 8 connections/.test(l)),
      logs.join(''),
    );
    for (const s of flood.splice(0)) s.destroy();
  });

  test(`${FLOOD} idle connections from ${FLOOD} addresses: the oldest still in its handshake makes room, Send Policy gets through`, async () => {
    logs.length = 0;
    await idle(FLOOD, (i) => `127.0.1.${i + 1}`);
    const r = await sendPolicy();
    assert.equal(r.status, 'completed', r.message);
    assert.ok(
      logs.some((l) =>
        /connection cap reached \(32 connections open: closed one from 127\.0\.1\.\d+ still in its handshake/.test(l),
      ),
      logs.join(''),
    );
  });
});
