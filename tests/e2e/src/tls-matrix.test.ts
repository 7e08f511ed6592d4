/**
 * The cipher-suite table against a running manager, with real clients: for every row of the
 * table, `openssl s_client` (Debian's openssl) and a Node TLS client each offer exactly that
 * row's TLS versions and suites, with an agent certificate, under each of the three policies —
 * switched live through the API on one manager. The handshake is the oracle: it must connect
 * or be refused exactly as `GET /api/tls/preflight` (core's preflight) predicts, through the
 * listener it names, and a suite it negotiates must be one the row offers.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type SecureVersion, connect as tlsConnect } from 'node:tls';
import { activate, generateKeyAndCsr, heartbeat, StateDir } from '@palisade/agent';
import {
  CIPHER_SUITE_ROWS,
  CIPHER_SUITES,
  type CipherSuiteRow,
  ianaNameFromOpenssl,
  protocolRank,
  TLS_POLICY_NAMES,
  type TlsPolicyName,
} from '@palisade/core';
import { type RunningManager, startManager, type ApiViews as V } from '@palisade/manager';
import { AGENT_PATHS, PROTOCOL_VERSION } from '@palisade/protocol';
import pino from 'pino';
import { errorOf, httpsJson } from './harness.js';

/** A handshake as a client saw it. `status` is the HTTP status of a body-less heartbeat sent over it. */
interface Handshake {
  ok: boolean;
  protocol: string | null;
  /** IANA name. */
  suite: string | null;
  status: number | null;
  error: string | null;
  /** Node client only: whether a session was resumed, and the session to resume later. */
  reused?: boolean;
  session?: Buffer | undefined;
}

// A heartbeat with an empty body: the manager authenticates the client certificate before it
// reads the body, so 400 (VALIDATION_FAILED) proves the certificate was sent and accepted over
// this handshake; 401 would mean the client could not present it (TLS 1.0 without SECLEVEL=0).
const PROBE = `POST ${AGENT_PATHS.heartbeat} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`;
const TIMEOUT_MS = 15_000;

const tls13 = (row: CipherSuiteRow) => row.suites.filter((s) => CIPHER_SUITES[s].minProtocol === 'TLSv1.3');
const tls12 = (row: CipherSuiteRow) =>
  row.suites.filter((s) => CIPHER_SUITES[s].minProtocol !== 'TLSv1.3').map((s) => CIPHER_SUITES[s].openssl);
// TLS 1.0/1.1 sign with SHA-1/MD5-SHA1, below OpenSSL 3's level 1: a client that offers them and
// presents a certificate must lower its level too (measured, see cipher-suites.ts).
const below12 = (row: CipherSuiteRow) => protocolRank(row.minProtocol) < protocolRank('TLSv1.2');
const cipherList = (row: CipherSuiteRow) => tls12(row).join(':') + (below12(row) ? ':@SECLEVEL=0' : '');

const OPENSSL_VERSION_FLAG: Record<string, string> = {
  TLSv1: '-tls1',
  'TLSv1.1': '-tls1_1',
  'TLSv1.2': '-tls1_2',
  'TLSv1.3': '-tls1_3',
};

interface Files {
  ca: string;
  cert: string;
  key: string;
  dir: string;
}

/** The `openssl s_client` arguments offering exactly the row's versions and suites. */
function opensslArgs(row: CipherSuiteRow, port: number, f: Files, extra: string[] = []): string[] {
  const versions =
    row.minProtocol === row.maxProtocol
      ? [OPENSSL_VERSION_FLAG[row.minProtocol]!]
      : ['-min_protocol', row.minProtocol, '-max_protocol', row.maxProtocol];
  return [
    's_client',
    '-connect',
    `127.0.0.1:${port}`,
    '-servername',
    'localhost',
    '-CAfile',
    f.ca,
    '-verify_return_error',
    '-cert',
    f.cert,
    '-key',
    f.key,
    ...versions,
    '-cipher',
    cipherList(row),
    ...(tls13(row).length > 0 ? ['-ciphersuites', tls13(row).join(':')] : []),
    // -brief: the negotiated protocol and suite on stderr ("Protocol version:", "Ciphersuite:"),
    // the server's reply on stdout; -ign_eof: wait for that reply after sending the probe.
    '-brief',
    '-ign_eof',
    ...extra,
  ];
}

function runOpenssl(args: string[], input: string): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), TIMEOUT_MS);
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
    p.stdin.on('error', () => undefined); // the process may exit before reading a refused handshake's input
    p.stdin.end(input);
  });
}

async function opensslHandshake(row: CipherSuiteRow, port: number, f: Files, extra: string[] = []): Promise<Handshake> {
  const { out, err } = await runOpenssl(opensslArgs(row, port, f, extra), PROBE);
  const protocol = /^Protocol version: (\S+)/m.exec(err);
  const suite = /^Ciphersuite: (\S+)/m.exec(err);
  const status = /^HTTP\/1\.1 (\d{3})/m.exec(out);
  if (!/^CONNECTION ESTABLISHED/m.test(err) || !protocol || !suite) {
    // e.g. "...:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../ssl/..."
    const reason = /:SSL routines:[^:]*:([^:]+):/.exec(err);
    return {
      ok: false,
      protocol: null,
      suite: null,
      status: null,
      error: reason?.[1] ?? (err.trim().split('\n')[0] || 'refused'),
    };
  }
  return {
    ok: true,
    protocol: protocol[1]!,
    suite: ianaNameFromOpenssl(suite[1]!) ?? suite[1]!,
    status: status ? Number(status[1]) : null,
    error: null,
  };
}

function nodeHandshake(
  row: CipherSuiteRow,
  port: number,
  creds: { ca: string; cert: string; key: string },
  session?: Buffer,
): Promise<Handshake> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      servername: 'localhost',
      ca: creds.ca,
      cert: creds.cert,
      key: creds.key,
      minVersion: row.minProtocol as SecureVersion,
      maxVersion: row.maxProtocol as SecureVersion,
      // One string for both lists: TLS_* names go to the TLS 1.3 list (see tls-policy.ts).
      ciphers: [...tls13(row), cipherList(row)].join(':'),
      ...(session ? { session } : {}),
    });
    let settled = false;
    const finish = (h: Handshake) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(h);
    };
    const timer = setTimeout(
      () => finish({ ok: false, protocol: null, suite: null, status: null, error: 'timeout' }),
      TIMEOUT_MS,
    );
    let hs: Handshake | null = null;
    let body = '';
    socket.on('secureConnect', () => {
      const c = socket.getCipher();
      hs = {
        ok: true,
        protocol: socket.getProtocol(),
        suite: c.standardName ?? c.name,
        status: null,
        error: null,
        reused: socket.isSessionReused(),
        session: socket.getSession(),
      };
      // Written, not ended: an agent reads the reply before it closes, and a half-close raced the
      // reply under load (the server saw the end first and the status came back empty).
      socket.write(PROBE);
    });
    socket.on('data', (d: Buffer) => (body += d.toString()));
    socket.on('end', () => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(body);
      finish(
        hs
          ? { ...hs, status: status ? Number(status[1]) : null }
          : { ok: false, protocol: null, suite: null, status: null, error: 'closed' },
      );
    });
    socket.on('error', (e: NodeJS.ErrnoException) =>
      finish(
        hs
          ? {
              ...hs,
              status: /^HTTP\/1\.1 (\d{3})/.test(body) ? Number(body.slice(9, 12)) : null,
              error: e.code ?? e.message,
            }
          : { ok: false, protocol: null, suite: null, status: null, error: e.code ?? e.message },
      ),
    );
  });
}

/** Runs `fn` over `items` with at most `n` at a time, results in order. */
async function pool<T, R>(items: readonly T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

function requireOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch {
    throw new Error(
      "openssl is not on PATH: the TLS matrix needs Debian's openssl as its second, independent client (apt-get install openssl; .ci/run installs it). Not skipping: without it this suite would test nothing.",
    );
  }
}

const cell = (h: Handshake | undefined) =>
  h === undefined ? '' : h.ok ? `${h.protocol} ${h.suite} [${h.status}]` : `refused (${h.error})`;

describe('TLS policy matrix: every row of the cipher-suite table, real handshakes, three policies', () => {
  let manager: RunningManager;
  let token: string;
  const temps: string[] = [];
  const api = (method: string, path: string, body?: unknown) =>
    httpsJson(`https://localhost:${manager.apiPort}${path}`, manager.ca.certificatePem, {
      method,
      body,
      headers: { 'api-secret-key': manager.firstRun.apiKey! },
    });
  const tempDir = (prefix: string) => {
    const d = mkdtempSync(join(tmpdir(), prefix));
    temps.push(d);
    return d;
  };
  let agent: StateDir;
  let files: Files;
  let creds: { ca: string; cert: string; key: string };
  let legacyPortSeen: number | null = null;
  let rsaSession: Buffer | undefined;

  before(async () => {
    requireOpenssl();
    // Not startTestManager: the legacy listener needs a free port (0), not 4122.
    manager = await startManager({
      dataDir: tempDir('palisade-tls-'),
      hostnames: ['localhost'],
      apiPort: 0,
      heartbeatPort: 0,
      legacyTlsPort: 0,
      bindAddress: '127.0.0.1',
      heartbeatIntervalSeconds: 600,
      tlsPolicy: 'modern',
      logger: pino({ level: process.env.PALISADE_TEST_LOG ?? 'silent' }),
    });
    token = manager.firstRun.activationToken!;
    agent = new StateDir(tempDir('palisade-agent-'));
    await activate(agent, {
      managerUrl: `dsm://localhost:${manager.heartbeatPort}/`,
      token,
      caFingerprint: manager.caFingerprint,
      hostName: 'tls-matrix.example.test',
    });
    const c = agent.credentials();
    creds = { ca: manager.ca.certificatePem, cert: c.cert, key: c.key };
    const dir = tempDir('palisade-tls-files-');
    files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'agent.crt'), key: join(dir, 'agent.key'), dir };
    writeFileSync(files.ca, creds.ca);
    writeFileSync(files.cert, creds.cert);
    writeFileSync(files.key, creds.key, { mode: 0o600 });
  });
  after(async () => {
    await manager?.close();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  /**
   * Every row, both clients, on 4120 and (under legacy) on the legacy listener; checks each
   * outcome against the preflight and prints the matrix.
   */
  async function checkMatrix(policy: TlsPolicyName) {
    const reply = await api('GET', `/api/tls/preflight?policy=${policy}`);
    assert.equal(reply.status, 200);
    const pf = reply.json<V['TlsPreflight']>();
    const prediction = new Map(pf.rows.map((r) => [r.rowId, r]));
    assert.deepEqual(
      [...prediction.keys()],
      CIPHER_SUITE_ROWS.map((r) => r.id),
      'the preflight covers every row, in order',
    );

    const main = manager.heartbeatPort;
    const legacy = manager.agentTls.legacyPort;
    assert.equal(legacy !== null, policy === 'legacy', 'the legacy listener is open exactly under the legacy policy');
    if (legacy !== null) legacyPortSeen = legacy;

    type Probe = { row: CipherSuiteRow; listener: 'agent-endpoint' | 'legacy-listener'; client: 'openssl' | 'node' };
    const probes: Probe[] = [];
    for (const row of CIPHER_SUITE_ROWS) {
      for (const listener of legacy === null
        ? (['agent-endpoint'] as const)
        : (['agent-endpoint', 'legacy-listener'] as const)) {
        probes.push({ row, listener, client: 'openssl' }, { row, listener, client: 'node' });
      }
    }
    const results = await pool(probes, 8, (p) => {
      const port = p.listener === 'agent-endpoint' ? main : legacy!;
      return p.client === 'openssl' ? opensslHandshake(p.row, port, files) : nodeHandshake(p.row, port, creds);
    });
    const got = (row: string, listener: string, client: string) =>
      results[probes.findIndex((p) => p.row.id === row && p.listener === listener && p.client === client)];

    const lines = [
      `TLS matrix, policy "${policy}" (4120 serves "${pf.agentEndpointPolicy}"${legacy !== null ? `, legacy listener on ${legacy}` : ''}):`,
      [
        'row',
        'preflight',
        'openssl @4120',
        'node @4120',
        ...(legacy !== null ? ['openssl @legacy', 'node @legacy'] : []),
      ].join(' | '),
    ];
    for (const row of CIPHER_SUITE_ROWS) {
      const p = prediction.get(row.id);
      assert.ok(p, `the preflight has row ${row.id}`);
      const predicted = p.connects
        ? `${p.protocol} ${p.suite} via ${p.listener} (${p.tlsContext} context)`
        : `cut off (${p.outcome})`;
      const cells = [
        row.id,
        predicted,
        cell(got(row.id, 'agent-endpoint', 'openssl')),
        cell(got(row.id, 'agent-endpoint', 'node')),
      ];
      if (legacy !== null)
        cells.push(cell(got(row.id, 'legacy-listener', 'openssl')), cell(got(row.id, 'legacy-listener', 'node')));
      lines.push(cells.join(' | '));
    }
    console.log(lines.join('\n'));

    for (const probe of probes) {
      const h = results[probes.indexOf(probe)]!;
      const p = prediction.get(probe.row.id)!; // every row checked above
      const what = `${policy} / ${probe.row.id} / ${probe.client} @ ${probe.listener}`;
      // One port for every admitted version: 4120 accepts every row the policy admits (TLS 1.0/1.1
      // rows through the legacy context), and so does the legacy alias port.
      const shouldConnect = p.connects;
      if (p.connects)
        assert.equal(
          p.tlsContext,
          ['TLSv1', 'TLSv1.1'].includes(probe.row.maxProtocol) ? 'legacy' : 'main',
          `${policy} / ${probe.row.id}: context`,
        );
      assert.equal(
        h.ok,
        shouldConnect,
        `${what}: preflight says ${shouldConnect ? 'connects' : 'refused'}, the handshake ${h.ok ? `connected (${h.protocol} ${h.suite})` : `was refused (${h.error})`}`,
      );
      if (!h.ok) continue;
      assert.ok(
        (probe.row.suites as readonly string[]).includes(h.suite!),
        `${what}: negotiated ${h.suite}, which the row does not offer`,
      );
      assert.equal(h.protocol, p.protocol, `${what}: protocol`);
      assert.equal(h.suite, p.suite, `${what}: the manager picked another suite than the preflight predicts`);
      assert.equal(
        h.status,
        400,
        `${what}: the agent certificate went through (400 = authenticated, body refused; 401 = no certificate)${h.error ? `; ${h.error}` : ''}`,
      );
    }
  }

  test('modern (set by --tls-policy at start): rows and clients as the preflight says', async () => {
    assert.equal(manager.agentTls.policy, 'modern');
    await checkMatrix('modern');
  });

  test('our own agent negotiates TLS 1.3 with a modern manager; forced to TLS 1.2 it gets ECDHE-GCM; the API shows both in IANA form', async () => {
    const palisade = (await api('GET', '/api/tls/preflight?policy=modern'))
      .json<V['TlsPreflight']>()
      .rows.find((r) => r.rowId === 'palisade');
    const o = await heartbeat(agent);
    assert.equal(o.tlsProtocol, 'TLSv1.3');
    assert.equal(o.tlsCipher, palisade?.suite);
    let c = (await api('GET', `/api/computers/${o.computerId}`)).json<V['Computer']>();
    assert.equal(c.tlsProtocol, 'TLSv1.3');
    assert.equal(c.tlsCipherSuite, 'TLS_AES_256_GCM_SHA384');

    const o12 = await heartbeat(agent, { tls: { maxVersion: 'TLSv1.2' } });
    assert.equal(o12.tlsProtocol, 'TLSv1.2');
    assert.match(o12.tlsCipher ?? '', /^TLS_ECDHE_RSA_WITH_AES_(128|256)_GCM_SHA(256|384)$/);
    c = (await api('GET', `/api/computers/${o.computerId}`)).json<V['Computer']>();
    assert.equal(c.tlsProtocol, 'TLSv1.2');
    assert.equal(c.tlsCipherSuite, o12.tlsCipher);
  });

  test('compatible, switched live through the API: the same running listener now admits 9.x/10.0 rows', async () => {
    const r = await api('POST', '/api/tls/policy', { value: 'compatible' });
    assert.equal(r.status, 200);
    const view = r.json<V['TlsPolicy']>();
    assert.equal(view.value, 'compatible');
    assert.match(view.warning ?? '', /forward secrecy/);
    assert.equal(view.legacyListener.open, false);
    assert.equal(await manager.store.systemSettings.get('agentTlsPolicy'), 'compatible', 'stored');
    await checkMatrix('compatible');
    // A session negotiated now with RSA key exchange, kept for the tightening test below; it
    // resumes while the policy stays (so the refusal there is not just "resumption never works").
    const row = CIPHER_SUITE_ROWS.find((x) => x.id === 'ds-10.0')!;
    const first = await nodeHandshake(row, manager.heartbeatPort, creds);
    assert.equal(first.suite, 'TLS_RSA_WITH_AES_256_CBC_SHA256');
    const again = await nodeHandshake(row, manager.heartbeatPort, creds, first.session);
    assert.equal(again.reused, true, 'the session resumes under the same policy');
    rsaSession = again.session;
  });

  test('our agent still prefers forward secrecy under compatible and legacy: TLS 1.3, and ECDHE-GCM at TLS 1.2', async () => {
    for (const policy of ['compatible', 'legacy'] as const) {
      assert.equal((await api('POST', '/api/tls/policy', { value: policy })).status, 200);
      const o = await heartbeat(agent);
      assert.equal(o.tlsProtocol, 'TLSv1.3', policy);
      const o12 = await heartbeat(agent, { tls: { maxVersion: 'TLSv1.2' } });
      assert.match(o12.tlsCipher ?? '', /^TLS_ECDHE_RSA_WITH_AES_(128|256)_GCM_SHA(256|384)$/, policy);
    }
  });

  test('legacy: 4120 serves every row, TLS 1.0 ones through the legacy context (the main one stays compatible, never security level 0), with the agent certificate', async () => {
    const r = await api('POST', '/api/tls/policy', { value: 'legacy' });
    assert.equal(r.status, 200);
    const view = r.json<V['TlsPolicy']>();
    assert.equal(view.agentEndpointPolicy, 'compatible');
    assert.equal(view.legacyListener.open, true);
    assert.equal(view.legacyListener.port, manager.agentTls.legacyPort);
    await checkMatrix('legacy');
  });

  test('back to modern: the legacy listener closes, the 9.x/10.0 rows are cut off again, and a session from compatible cannot be resumed', async () => {
    const r = await api('POST', '/api/tls/policy', { value: 'modern' });
    assert.equal(r.status, 200);
    assert.equal(r.json<V['TlsPolicy']>().legacyListener.open, false);
    await checkMatrix('modern');
    assert.ok(legacyPortSeen !== null);
    const refused = await new Promise<string>((resolve) => {
      const s = netConnect(legacyPortSeen!, '127.0.0.1');
      s.on('connect', () => {
        s.destroy();
        resolve('connected');
      });
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    assert.equal(refused, 'ECONNREFUSED', 'the legacy port is closed');
    const row = CIPHER_SUITE_ROWS.find((x) => x.id === 'ds-10.0')!;
    assert.ok(rsaSession);
    const resumed = await nodeHandshake(row, manager.heartbeatPort, creds, rsaSession);
    assert.equal(
      resumed.ok,
      false,
      `resuming a TLS_RSA session after tightening must fail, got ${cell(resumed)}${resumed.reused ? ' (resumed)' : ''}`,
    );
  });

  test('preflight lists enrolled computers by reported agent version: cut off, connecting, unknown', async () => {
    // Enrol two "Deep Security" computers through the real activation route; only the version
    // they report matters to the preflight.
    for (const [hostName, agentVersion] of [
      ['ds10.example.test', '10.0.0-2548'],
      ['odd.example.test', 'not-a-version'],
    ] as const) {
      const { csrPem } = await generateKeyAndCsr(hostName);
      const res = await httpsJson(
        `https://localhost:${manager.heartbeatPort}${AGENT_PATHS.activate}`,
        manager.ca.certificatePem,
        {
          method: 'POST',
          body: { protocolVersion: PROTOCOL_VERSION, token, csr: csrPem, hostName, platform: 'linux', agentVersion },
        },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const modern = (await api('GET', '/api/tls/preflight?policy=modern')).json<V['TlsPreflight']>();
    const byVersion = (b: V['TlsPreflight']) =>
      Object.fromEntries(
        b.computers.byAgentVersion.map((g) => [g.agentVersion, [g.verdict, g.computers.map((c) => c.hostName)]]),
      );
    assert.deepEqual(byVersion(modern), {
      '10.0.0-2548': ['cut-off', ['ds10.example.test']],
      'not-a-version': ['unknown', ['odd.example.test']],
      '0.1.0': ['connects', ['tls-matrix.example.test']],
    });
    assert.deepEqual(modern.computers.counts, { connects: 1, cutOff: 1, unknown: 1 });
    assert.equal(modern.computers.byAgentVersion[0]?.agentVersion, '10.0.0-2548', 'cut-off first');
    const compatible = (await api('GET', '/api/tls/preflight?policy=compatible')).json<V['TlsPreflight']>();
    assert.deepEqual(byVersion(compatible)['10.0.0-2548'], ['connects', ['ds10.example.test']]);
    const g = compatible.computers.byAgentVersion.find((x) => x.agentVersion === '10.0.0-2548');
    assert.equal(g?.suite, 'TLS_RSA_WITH_AES_256_CBC_SHA256');
  });

  test('unknown policy names are refused with the valid ones; a bad body changes nothing', async () => {
    for (const [method, path, body] of [
      ['GET', '/api/tls/preflight?policy=strict', undefined],
      ['POST', '/api/tls/policy', { value: 'strict' }],
    ] as const) {
      const r = await api(method, path, body);
      assert.equal(r.status, 400, path);
      assert.equal(errorOf(r).code, 'TLS_POLICY_UNKNOWN');
      for (const n of TLS_POLICY_NAMES) assert.match(errorOf(r).message, new RegExp(n));
    }
    const bad = await api('POST', '/api/tls/policy', { value: 'modern', extra: 1 });
    assert.equal(bad.status, 400);
    assert.equal(errorOf(bad).code, 'VALIDATION_FAILED');
    assert.equal((await api('GET', '/api/tls/policy')).json<V['TlsPolicy']>().value, 'modern', 'unchanged');
  });
});
