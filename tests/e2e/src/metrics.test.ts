import assert from 'node:assert/strict';
import { get } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { heartbeat, type StateDir } from '@palisade/agent';
import { activateTestAgent, startTestManager, type TestManager } from './harness.js';

/** The value of one sample line (`name{labels} value`), or null when absent. */
function sample(text: string, series: string): number | null {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : null;
}

function plainGet(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          type: String(res.headers['content-type']),
          body: Buffer.concat(chunks).toString(),
        }),
      );
    }).on('error', reject);
  });
}

describe('GET /metrics: Prometheus text, behind the API key or on the operator’s own address', () => {
  let m: TestManager;
  let agent: StateDir;

  before(async () => {
    m = await startTestManager({ metricsListen: { host: '127.0.0.1', port: 0 } });
    agent = await activateTestAgent(m);
    await heartbeat(agent);
    await heartbeat(agent);
  });
  after(async () => {
    await m?.close();
  });

  test('counts heartbeats, activations, handshakes full and resumed, store latency, computers by status', async () => {
    const r = await m.api('GET', '/metrics');
    assert.equal(r.status, 200);
    const text = String(r.body);
    assert.equal(sample(text, 'palisade_heartbeats_total{outcome="ok",status="200"}'), 2);
    assert.equal(sample(text, 'palisade_activations_total{outcome="ok",status="200"}'), 1);
    assert.equal(
      sample(text, 'palisade_tls_handshakes_total{port="4120",session="full",version="TLSv1.3",certificate="ECDSA"}'),
      3,
      'the CA fetch, activation, the first heartbeat',
    );
    assert.ok(
      (sample(
        text,
        'palisade_tls_handshakes_total{port="4120",session="resumed",version="TLSv1.3",certificate="none"}',
      ) ?? 0) >= 1,
      text,
    );
    assert.equal(sample(text, 'palisade_heartbeat_store_seconds_count'), 2);
    assert.equal(sample(text, 'palisade_heartbeat_ingest_seconds_count{transport="agent"}'), 2);
    assert.equal(sample(text, 'palisade_computers{status="Managed (Online)"}'), 1);
    assert.equal(sample(text, 'palisade_computers{status="Offline"}'), 0);
    assert.equal(sample(text, 'palisade_dial_queue_depth'), 0);
    // The two heartbeats went through the group commit (and their commits through a log sync).
    const commits = sample(text, 'palisade_store_group_commits_total') ?? 0;
    const units = sample(text, 'palisade_store_group_commit_units_total') ?? 0;
    assert.ok(commits >= 1 && units >= 2 && commits <= units, `${commits} commits, ${units} units`);
    assert.ok((sample(text, 'palisade_store_log_syncs_total') ?? 0) >= commits, text);
    assert.ok(sample(text, 'palisade_open_connections{port="4119"}') !== null);
    assert.ok((sample(text, 'palisade_process_resident_memory_bytes') ?? 0) > 0);
    assert.match(text, /# TYPE palisade_refusals_total counter/);
  });

  test('a refused heartbeat is counted as refused; a computer deactivated shows as such', async () => {
    const victim = await activateTestAgent(m, { hostName: 'victim' });
    const id = (await heartbeat(victim)).computerId;
    assert.equal((await m.api('DELETE', `/api/computers/${id}`)).status, 204);
    await assert.rejects(heartbeat(victim), /CERTIFICATE_REVOKED/);
    const text = String((await m.api('GET', '/metrics')).body);
    assert.equal(sample(text, 'palisade_heartbeats_total{outcome="refused",status="403"}'), 1);
    assert.equal(sample(text, 'palisade_computers{status="Deactivated"}'), 1);
  });

  test('without an API key: 401 on the API port; the plain listener serves only GET /metrics', async () => {
    const r = await m.api('GET', '/metrics', undefined, { 'api-secret-key': '' });
    assert.equal(r.status, 401);
    const port = m.manager.metricsPort;
    assert.ok(port);
    const plain = await plainGet(port, '/metrics');
    assert.equal(plain.status, 200);
    assert.match(plain.type, /^text\/plain; version=0\.0\.4/);
    assert.ok((sample(plain.body, 'palisade_heartbeats_total{outcome="ok",status="200"}') ?? 0) >= 3);
    assert.equal((await plainGet(port, '/api/computers')).status, 404);
  });
});
