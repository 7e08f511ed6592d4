import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { heartbeat, type StateDir } from '@palisade/agent';
import pino from 'pino';
import { activateTestAgent, httpsJson, startTestManager, type TestManager } from './harness.js';
import { waitFor } from './polling.js';

const PER_SOURCE = 30;
const TOTAL = 60;
const HANDSHAKE_MS = 8_000;

/** TCP connections from `source` (another loopback address) that never start TLS. */
function idleSockets(port: number, source: string, n: number) {
  const sockets: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < n; i++) {
    const s = connect({ host: '127.0.0.1', port, localAddress: source });
    s.on('error', () => {});
    s.on('close', () => (closed += 1));
    sockets.push(s);
  }
  return { sockets, closed: () => closed, open: () => n - closed };
}

describe('connection caps on 4120: an idle-socket flood neither stops heartbeats nor the API (issue 12, item 2)', () => {
  let m: TestManager;
  let agent: StateDir;
  const log: string[] = [];
  const floods: Array<ReturnType<typeof idleSockets>> = [];

  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        log.push(String(chunk));
        done();
      },
    });
    m = await startTestManager({
      logger: pino({ level: 'warn' }, sink),
      connectionLimits: { agent: { total: TOTAL, perSource: PER_SOURCE, handshakeTimeoutMs: HANDSHAKE_MS } },
    });
    agent = await activateTestAgent(m);
  });
  after(async () => {
    for (const f of floods) for (const s of f.sockets) s.destroy();
    await m?.close();
  });

  const healthz = () => httpsJson(`https://localhost:${m.manager.apiPort}/healthz`, m.manager.ca.certificatePem);

  test('one host flooding gets its cap; other agents still heartbeat', async () => {
    const flood = idleSockets(m.manager.heartbeatPort, '127.0.0.2', PER_SOURCE + 20);
    floods.push(flood);
    await waitFor('the connections beyond the per-source cap to be closed', () => flood.closed() >= 20);
    assert.equal(flood.open(), PER_SOURCE, 'the cap holds exactly');
    await waitFor('the cap to be logged', () =>
      log.some((l) => l.includes('per-source connection cap (30) reached by 127.0.0.2')),
    );
    const r = await heartbeat(agent);
    assert.ok(r.computerId > 0, 'the agent from 127.0.0.1 heartbeats');
    assert.equal((await healthz()).status, 200);
  });

  test('the whole port full: refused and logged, and the API and /healthz on 4119 still answer', async () => {
    const second = idleSockets(m.manager.heartbeatPort, '127.0.0.3', PER_SOURCE);
    floods.push(second);
    await waitFor('the second host to hold its share', () => m.manager.connections.agent.connections >= TOTAL);
    const third = idleSockets(m.manager.heartbeatPort, '127.0.0.4', 5);
    floods.push(third);
    await waitFor('connections beyond the total cap to be closed', () => third.closed() === 5);
    assert.ok(log.some((l) => l.includes('total connection cap (60) reached')));
    assert.equal((await healthz()).status, 200);
    const computers = await m.api('GET', '/api/computers');
    assert.equal(computers.status, 200);
    assert.ok(m.manager.connections.agent.refused >= 25);
  });

  test('idle connections are closed after the handshake timeout; then heartbeats go through again', async () => {
    await waitFor(
      () => `every idle socket to be closed (open: ${floods.map((f) => f.open()).join(', ')})`,
      () => floods.every((f) => f.open() === 0),
      HANDSHAKE_MS * 3,
    );
    const r = await heartbeat(agent);
    assert.ok(r.computerId > 0);
  });
});
