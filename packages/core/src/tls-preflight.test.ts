import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tls from 'node:tls';
import { CIPHER_SUITE_ROWS, CIPHER_SUITES, type CipherSuiteRow, cipherSuiteRow } from './cipher-suites.js';
import { TLS_POLICIES, TLS_POLICY_NAMES, type TlsPolicyName, tlsContextOptions } from './tls-policy.js';
import { negotiate, preflight, preflightComputers } from './tls-preflight.js';

// What each row gets under each policy, worked out by hand from the table and the policies'
// orders: "protocol suite" (OpenSSL names), or why it is refused.
const EXPECTED: Record<TlsPolicyName, Record<string, string>> = {
  modern: {
    'ds-9.5': 'protocol-mismatch',
    'ds-9.5-sp1': 'protocol-mismatch',
    'ds-9.5-sp1-p3-u3': 'no-shared-suite',
    'ds-9.6': 'protocol-mismatch',
    'ds-9.6-p2': 'protocol-mismatch',
    'ds-9.6-sp1-p1-u5': 'no-shared-suite',
    'ds-10.0': 'no-shared-suite',
    'ds-10.0-u16': 'no-shared-suite',
    'ds-11.0': 'TLSv1.2 ECDHE-RSA-AES256-SHA384',
    'ds-11.0-u6': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    'ds-12.0': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    'ds-20': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    palisade: 'TLSv1.3 TLS_AES_256_GCM_SHA384',
  },
  compatible: {
    'ds-9.5': 'protocol-mismatch',
    'ds-9.5-sp1': 'protocol-mismatch',
    'ds-9.5-sp1-p3-u3': 'TLSv1.2 AES128-GCM-SHA256',
    'ds-9.6': 'protocol-mismatch',
    'ds-9.6-p2': 'protocol-mismatch',
    'ds-9.6-sp1-p1-u5': 'TLSv1.2 AES128-GCM-SHA256',
    'ds-10.0': 'TLSv1.2 AES256-SHA256',
    'ds-10.0-u16': 'TLSv1.2 AES256-SHA256',
    'ds-11.0': 'TLSv1.2 ECDHE-RSA-AES256-SHA384',
    'ds-11.0-u6': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    'ds-12.0': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    'ds-20': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    palisade: 'TLSv1.3 TLS_AES_256_GCM_SHA384',
  },
  legacy: {
    'ds-9.5': 'TLSv1 AES256-SHA',
    'ds-9.5-sp1': 'TLSv1 AES256-SHA',
    'ds-9.5-sp1-p3-u3': 'TLSv1.2 AES128-GCM-SHA256',
    'ds-9.6': 'TLSv1 AES256-SHA',
    'ds-9.6-p2': 'TLSv1 AES256-SHA',
    'ds-9.6-sp1-p1-u5': 'TLSv1.2 AES128-GCM-SHA256',
    'ds-10.0': 'TLSv1.2 AES256-SHA256',
    'ds-10.0-u16': 'TLSv1.2 AES256-SHA256',
    'ds-11.0': 'TLSv1.2 ECDHE-RSA-AES256-SHA384',
    'ds-11.0-u6': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    'ds-12.0': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    'ds-20': 'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
    palisade: 'TLSv1.3 TLS_AES_256_GCM_SHA384',
  },
};

test('preflight gives every row of the table its outcome under each policy', () => {
  for (const name of TLS_POLICY_NAMES) {
    const result = preflight(name);
    assert.equal(result.policy, name);
    assert.deepEqual(
      result.rows.map((r) => r.rowId),
      CIPHER_SUITE_ROWS.map((r) => r.id),
    );
    const got = Object.fromEntries(
      result.rows.map((r) => [r.rowId, r.connects ? `${r.protocol} ${r.opensslSuite}` : r.outcome]),
    );
    assert.deepEqual(got, EXPECTED[name], name);
    for (const r of result.rows) {
      const row = cipherSuiteRow(r.rowId)!;
      if (r.connects) {
        assert.ok(row.suites.includes(r.suite!), `${name} ${r.rowId}: negotiated suite is one the row offers`);
        assert.equal(CIPHER_SUITES[r.suite!].openssl, r.opensslSuite);
      } else {
        assert.equal(r.suite, null);
        assert.match(r.detail, r.outcome === 'protocol-mismatch' ? /accepts TLSv1\.2–TLSv1\.3/ : /no suite in common/);
      }
    }
  }
});

test('3DES never counts: the rows that list it connect through AES-CBC-SHA or not at all', () => {
  const legacy = preflight('legacy').rows.find((r) => r.rowId === 'ds-9.6-p2')!;
  assert.deepEqual(legacy.unavailableSuites, ['TLS_RSA_WITH_3DES_EDE_CBC_SHA']);
  assert.equal(legacy.suite, 'TLS_RSA_WITH_AES_256_CBC_SHA');
  const only3des: CipherSuiteRow = {
    ...cipherSuiteRow('ds-9.5-sp1')!,
    id: 'only-3des',
    suites: ['TLS_RSA_WITH_3DES_EDE_CBC_SHA'],
  };
  const r = negotiate(TLS_POLICIES.legacy, only3des);
  assert.equal(r.outcome, 'no-shared-suite');
  assert.match(r.detail, /TLS_RSA_WITH_3DES_EDE_CBC_SHA cannot be offered by Node's OpenSSL/);
});

test('our own agent forced to TLS 1.2 gets an ECDHE-GCM suite under every policy', () => {
  const tls12Only: CipherSuiteRow = { ...cipherSuiteRow('palisade')!, maxProtocol: 'TLSv1.2' };
  for (const name of TLS_POLICY_NAMES) {
    const r = negotiate(TLS_POLICIES[name], tls12Only);
    assert.deepEqual([r.protocol, r.suite], ['TLSv1.2', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'], name);
  }
});

test('preflightComputers: cut off, connects, and unknown — unknown is never silently safe', () => {
  const computers = [
    { id: 1, hostName: 'web-1', agentVersion: '20.0.0-877' },
    { id: 2, hostName: 'db-1', agentVersion: '10.0 U16' },
    { id: 3, hostName: 'old-1', agentVersion: '9.5.3-2754' }, // SP1: U2 or U3+ — rows disagree under compatible
    { id: 4, hostName: 'new-1', agentVersion: null },
    { id: 5, hostName: 'odd-1', agentVersion: 'banana' },
    { id: 6, hostName: 'pal-1', agentVersion: '0.1.0' },
    { id: 7, hostName: 'mid-1', agentVersion: '11.0.0-900' }, // U4 row or U6 row: both connect
  ];
  const modern = preflightComputers('modern', computers);
  assert.deepEqual(
    modern.computers.map((c) => [c.id, c.verdict]),
    [
      [1, 'connects'],
      [2, 'cut-off'],
      [3, 'cut-off'],
      [4, 'unknown'],
      [5, 'unknown'],
      [6, 'connects'],
      [7, 'connects'],
    ],
  );
  assert.deepEqual(modern.counts, { connects: 3, cutOff: 2, unknown: 2 });
  assert.ok(
    modern.notes.some((n) =>
      /2 computer\(s\) report an agent version we cannot place .* not assumed to connect/.test(n),
    ),
  );
  const web = modern.computers[0]!;
  assert.deepEqual([web.rowId, web.protocol, web.suite], ['ds-20', 'TLSv1.2', 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384']);
  // Ambiguous but same verdict: no single row, and no suite claimed since the rows would differ.
  const mid = modern.computers[6]!;
  assert.deepEqual(
    [mid.rowId, mid.candidateRowIds, mid.protocol, mid.suite],
    [null, ['ds-11.0', 'ds-11.0-u6'], 'TLSv1.2', null],
  );
  assert.match(mid.reason, /row uncertain/);
  assert.match(modern.computers[3]!.reason, /no agent version reported/);

  const compatible = preflightComputers('compatible', computers);
  const old = compatible.computers[2]!;
  assert.equal(old.verdict, 'unknown');
  assert.deepEqual(old.candidateRowIds, ['ds-9.5-sp1', 'ds-9.5-sp1-p3-u3']);
  assert.match(old.reason, /is cut off; .* connects/);
  assert.equal(compatible.computers[1]!.verdict, 'connects');
  assert.ok(compatible.notes.includes(TLS_POLICIES.compatible.warning!));

  const legacy = preflightComputers('legacy', computers);
  assert.deepEqual(legacy.counts, { connects: 5, cutOff: 0, unknown: 2 });
  assert.deepEqual(preflightComputers('modern', []).counts, { connects: 0, cutOff: 0, unknown: 0 });
});

// --- the oracle: real handshakes ---------------------------------------------------------------

let dir = '';
let key: Buffer;
let cert: Buffer;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'palisade-tls-preflight-'));
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
      '-days',
      '1',
      '-subj',
      '/CN=localhost',
    ],
    { stdio: 'ignore' },
  );
  key = readFileSync(join(dir, 'key.pem'));
  cert = readFileSync(join(dir, 'cert.pem'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function handshake(server: tls.TlsOptions, client: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve) => {
    const srv = tls.createServer({ key, cert, ...server }, (socket) => socket.end());
    srv.on('tlsClientError', () => {});
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...client }, () => {
        resolve(`${c.getProtocol()} ${c.getCipher().name}`);
        c.end();
        srv.close();
      });
      c.on('error', () => {
        resolve('refused');
        srv.close();
      });
    });
  });
}

/** A Node client that offers exactly what the row offers (less 3DES, which Node cannot offer). */
function clientFor(row: CipherSuiteRow): tls.ConnectionOptions {
  const names = row.suites.filter((s) => CIPHER_SUITES[s].availableInNode).map((s) => CIPHER_SUITES[s].openssl);
  // An old agent has no OpenSSL security levels; level 0 lets the client accept what it lists.
  const ciphers = row.product === 'palisade' ? names.join(':') : `${names.join(':')}:@SECLEVEL=0`;
  return { ciphers, minVersion: row.minProtocol, maxVersion: row.maxProtocol };
}

test('real handshakes agree with the preflight for every row under every policy', async (t) => {
  const lines: string[] = [];
  for (const name of TLS_POLICY_NAMES) {
    const predicted = preflight(name);
    for (const row of CIPHER_SUITE_ROWS) {
      const real = await handshake({ ...tlsContextOptions(name) }, clientFor(row));
      const p = predicted.rows.find((r) => r.rowId === row.id)!;
      const expect = p.connects ? `${p.protocol} ${p.opensslSuite}` : 'refused';
      lines.push(`${name.padEnd(10)} ${row.id.padEnd(17)} real: ${real.padEnd(38)} predicted: ${expect}`);
      assert.equal(real, expect, `${name} / ${row.id}`);
    }
  }
  for (const l of lines) t.diagnostic(l);
});

test('real handshake: our own agent forced to TLS 1.2 gets ECDHE-RSA-AES256-GCM-SHA384', async () => {
  const row = cipherSuiteRow('palisade')!;
  for (const name of TLS_POLICY_NAMES) {
    assert.equal(
      await handshake({ ...tlsContextOptions(name) }, { ...clientFor(row), maxVersion: 'TLSv1.2' }),
      'TLSv1.2 ECDHE-RSA-AES256-GCM-SHA384',
      name,
    );
  }
});
