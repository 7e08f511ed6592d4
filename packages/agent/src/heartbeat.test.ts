import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { buildSecurityConfiguration, configurationFingerprint, defaultSettings } from '@palisade/core';
import {
  AGENT_PATHS,
  type HeartbeatReply,
  HeartbeatReport,
  MAX_EVENTS_PER_HEARTBEAT,
  OperationResults,
  PROTOCOL_VERSION,
  schemaProblem,
} from '@palisade/protocol';
import { AgentError } from './agent-error.js';
import { heartbeat } from './heartbeat.js';
import { StateDir } from './state-dir.js';
import { RecordingEngine } from './testing/recording-engine.js';
import { createTestPki, type TestPki } from './testing/test-pki.js';

type Answer = { status: number; body: unknown };

/**
 * The manager's side of the exchange, scripted per test, over real mutual TLS on loopback: it
 * checks what the agent sends against the protocol's schemas (a report that does not match
 * fails the test with a 400) and answers what the test says. The manager's own ingest is
 * tested in packages/manager; end to end in tests/e2e.
 */
class ScriptedManager {
  readonly reports: HeartbeatReport[] = [];
  readonly results: OperationResults[] = [];
  readonly sockets: Socket[] = [];
  onReport: (r: HeartbeatReport) => Answer = () => ({ status: 500, body: {} });
  onResults: (r: OperationResults) => Answer = (r) => ({ status: 200, body: { accepted: r.results.map((x) => x.id) } });
  private server: Server | null = null;

  async start(pki: TestPki): Promise<number> {
    this.server = createServer(
      { key: pki.server.key, cert: pki.server.cert, ca: pki.ca, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const body: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          this.sockets.push(req.socket);
          let answer: Answer;
          const problem =
            req.url === AGENT_PATHS.heartbeat
              ? schemaProblem(HeartbeatReport, body)
              : req.url === AGENT_PATHS.results
                ? schemaProblem(OperationResults, body)
                : `no route ${req.url}`;
          if (problem) answer = { status: 400, body: { error: { code: 'TEST_BAD_REQUEST', message: problem } } };
          else if (req.url === AGENT_PATHS.heartbeat) {
            this.reports.push(body as HeartbeatReport);
            answer = this.onReport(body as HeartbeatReport);
          } else {
            this.results.push(body as OperationResults);
            answer = this.onResults(body as OperationResults);
          }
          res.writeHead(answer.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(answer.body));
        });
      },
    );
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }

  reset(): void {
    this.reports.length = 0;
    this.results.length = 0;
    this.sockets.length = 0;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((r) => this.server?.close(r));
  }
}

const COMPUTER_ID = 7;
const reply = (over: Partial<HeartbeatReply> = {}): Answer => ({
  status: 200,
  body: {
    protocolVersion: PROTOCOL_VERSION,
    computerId: COMPUTER_ID,
    serverTime: Date.now(),
    eventsAckedThrough: 0,
    eventsStored: 0,
    operations: [],
    exchangeId: 'exchange-1',
    heartbeatIntervalSeconds: 600,
    ...over,
  } satisfies HeartbeatReply,
});
const highestSeq = (r: HeartbeatReport) => r.events.reduce((m, e) => Math.max(m, e.seq), 0);

describe('heartbeat: one agent-initiated exchange', () => {
  const manager = new ScriptedManager();
  const dirs: string[] = [];
  let pki: TestPki;
  let port: number;
  let state: StateDir;
  let engine: RecordingEngine;

  before(async () => {
    pki = await createTestPki();
    port = await manager.start(pki);
  });
  after(async () => {
    await manager.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  beforeEach(() => {
    manager.reset();
    const dir = mkdtempSync(join(tmpdir(), 'palisade-heartbeat-'));
    dirs.push(dir);
    state = new StateDir(dir);
    state.saveActivation(
      {
        manager: { host: '127.0.0.1', port },
        computerId: COMPUTER_ID,
        hostName: 'hb-01',
        policyId: 1,
        policyName: 'Base Policy',
        caFingerprint: 'sha256:00',
        activatedAt: 0,
      },
      { key: pki.client.key, cert: pki.client.cert, ca: pki.ca },
    );
    engine = new RecordingEngine();
  });

  test('reports spooled events with the engine’s driver and counters; drops what the manager acknowledged; takes its interval and clock', async () => {
    const spool = state.spool();
    for (const n of [1, 2, 3]) spool.append({ type: 'test.event', severity: 'info', message: `event ${n}` });
    engine.reply = { drivers: [{ name: 'test-engine', status: 'online' }], counters: { 'test-engine.r1.packets': 4 } };
    // The manager stored the first two only, and its clock is a minute behind the agent's.
    manager.onReport = () =>
      reply({ eventsAckedThrough: 2, eventsStored: 2, serverTime: Date.now() - 60_000, heartbeatIntervalSeconds: 30 });

    const out = await heartbeat(state, { engine });

    assert.equal(manager.reports.length, 1);
    const sent = manager.reports[0]!;
    assert.deepEqual(
      sent.events.map((e) => e.message),
      ['event 1', 'event 2', 'event 3'],
    );
    assert.equal(sent.agent.hostName, 'hb-01');
    assert.equal(sent.configurationFingerprint, null);
    assert.deepEqual(sent.drivers, [{ name: 'test-engine', status: 'online' }]);
    assert.equal(sent.counters['test-engine.r1.packets'], 4);
    assert.deepEqual(engine.reportedOn, [null], 'asked about the configuration applied now: none yet');

    assert.equal(out.eventsSent, 3);
    assert.equal(out.eventsAcknowledgedThrough, 2);
    assert.deepEqual(
      state
        .spool()
        .pending(10)
        .map((e) => e.message),
      ['event 3'],
      'only the acknowledged events leave the spool',
    );
    assert.equal(out.heartbeatIntervalSeconds, 30);
    assert.equal(state.heartbeatIntervalSeconds(), 30);
    // Agent minus manager: positive when the agent is ahead; off by at most half a round trip.
    assert.ok(out.clockOffsetMs > 55_000 && out.clockOffsetMs < 65_000, `clock offset ${out.clockOffsetMs}`);
    assert.equal(out.exchanges, 1);
    assert.equal(state.counters().heartbeatsSent, 1);
    const contact = state.lastContact();
    assert.equal(contact?.ok, true);
    assert.equal(contact?.clockOffsetMs, out.clockOffsetMs);
    assert.equal(typeof contact?.roundTripMs, 'number');
  });

  test('the next report carries the round trip the previous exchange measured', async () => {
    manager.onReport = () => reply();
    await heartbeat(state, { engine });
    assert.equal(manager.reports[0]!.agent.lastRoundTripMs, undefined, 'first exchange: nothing measured yet');
    const measured = state.lastContact()?.roundTripMs;
    await heartbeat(state, { engine });
    assert.equal(manager.reports[1]!.agent.lastRoundTripMs, measured);
  });

  test('more events than one heartbeat carries: the rest go at once, on further exchanges of the same run', async () => {
    // Written as the spool's own log (one JSON event a line) rather than by 501 fsynced appends.
    const total = MAX_EVENTS_PER_HEARTBEAT + 1;
    const lines = Array.from({ length: total }, (_, i) =>
      JSON.stringify({ seq: i + 1, time: Date.now(), type: 'test.event', severity: 'info', message: `e${i + 1}` }),
    );
    state.spool();
    writeFileSync(join(state.path('spool'), 'events.jsonl'), `${lines.join('\n')}\n`);
    manager.onReport = (r) => reply({ eventsAckedThrough: highestSeq(r), eventsStored: r.events.length });

    const out = await heartbeat(state, { engine });

    assert.deepEqual(
      manager.reports.map((r) => r.events.length),
      [MAX_EVENTS_PER_HEARTBEAT, 1],
    );
    assert.equal(manager.reports[1]!.events[0]!.seq, total);
    assert.equal(out.exchanges, 2);
    assert.equal(out.eventsSent, total);
    assert.equal(state.spool().size, 0);
    assert.equal(state.counters().heartbeatsSent, 1, 'one heartbeat, however many exchanges');
  });

  test('operations run through the engine and their results go back on the same connection, bound to the exchange', async () => {
    const configuration = buildSecurityConfiguration({ settings: defaultSettings(), heartbeatIntervalSeconds: 120 });
    const fingerprint = await configurationFingerprint(configuration);
    const other = `sha256:${'f'.repeat(64)}`;
    manager.onReport = () =>
      reply({
        exchangeId: 'exchange-42',
        operations: [
          { id: 11, type: 'applyConfiguration', fingerprint, configuration },
          { id: 12, type: 'applyConfiguration', fingerprint: other, configuration },
        ],
      });

    const out = await heartbeat(state, { engine });

    assert.equal(manager.results.length, 1);
    const posted = manager.results[0]!;
    assert.equal(posted.exchangeId, 'exchange-42');
    assert.equal(posted.results[0]?.status, 'succeeded');
    assert.equal(posted.results[0]?.fingerprint, fingerprint);
    assert.equal(posted.results[1]?.status, 'failed');
    assert.match(posted.results[1]?.reason ?? '', /differs from the manager's sha256:f{64}/);
    assert.equal(manager.sockets[0], manager.sockets[1], 'the results came on the heartbeat’s socket');
    assert.equal(out.resultsOnSameConnection, true);
    assert.deepEqual(
      out.operations.map((o) => [o.id, o.status]),
      [
        [11, 'succeeded'],
        [12, 'failed'],
      ],
    );
    assert.deepEqual(engine.applied, [configuration], 'the mismatched one never reached the engine');
    assert.equal(state.appliedConfiguration()?.fingerprint, fingerprint);
    assert.equal(state.counters().configurationsApplied, 1);
    assert.equal(state.counters().configurationsFailed, 1);
  });

  test('a reply for another computer is refused: nothing acknowledged, the failure counted and kept for status', async () => {
    const spool = state.spool();
    spool.append({ type: 'test.event', severity: 'info', message: 'keep me' });
    manager.onReport = (r) => reply({ computerId: COMPUTER_ID + 1, eventsAckedThrough: highestSeq(r) });

    await assert.rejects(heartbeat(state, { engine }), (e: unknown) => {
      assert.ok(e instanceof AgentError);
      assert.equal(e.code, 'MANAGER_REPLY_INVALID');
      assert.match(e.message, /for computer 8, this agent is computer 7/);
      return true;
    });
    assert.equal(state.spool().size, 1);
    assert.equal(state.counters().heartbeatsFailed, 1);
    assert.equal(state.counters().heartbeatsSent, 0);
    assert.equal(state.lastContact()?.ok, false);
  });

  test('a refusal forgets the TLS session, so the next exchange starts afresh; the manager being busy does not', async () => {
    manager.onReport = () => reply();
    await heartbeat(state, { engine });
    assert.ok(state.tlsSession(), 'the manager issued a session ticket and the agent kept it');

    manager.onReport = () => ({
      status: 503,
      body: { error: { code: 'MANAGER_BUSY', message: 'try later' } },
    });
    await assert.rejects(heartbeat(state, { engine }), { code: 'MANAGER_REFUSED' });
    assert.ok(state.tlsSession(), 'busy says nothing about the session');

    manager.onReport = () => ({
      status: 403,
      body: { error: { code: 'COMPUTER_UNKNOWN', message: 'no such computer' } },
    });
    await assert.rejects(heartbeat(state, { engine }), { code: 'MANAGER_REFUSED' });
    assert.equal(state.tlsSession(), undefined);
  });
});
