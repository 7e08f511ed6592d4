import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tls from 'node:tls';
import {
  CIPHER_SUITE_ROWS,
  CIPHER_SUITES,
  cipherSuiteRow,
  IANA_CIPHER_SUITES,
  type IanaCipherSuite,
  ianaNameFromOpenssl,
  opensslName,
  type ReleaseLevel,
  rowProtocols,
  suiteUsableAt,
  TLS_PROTOCOLS,
  TLS13_SUITES,
  type TlsProtocol,
} from './cipher-suites.js';

// The spec's table, copied by hand from reference/agent-communication.txt lines 65–124, so a
// slip in the catalog shows up as a difference between two independent transcriptions.
const SPEC: Record<string, readonly string[]> = {
  'ds-9.5': ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  'ds-9.5-sp1': ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  'ds-9.5-sp1-p3-u3': [
    'TLS_RSA_WITH_AES_256_CBC_SHA256',
    'TLS_RSA_WITH_AES_128_GCM_SHA256',
    'TLS_RSA_WITH_AES_128_CBC_SHA256',
    'TLS_RSA_WITH_AES_256_CBC_SHA',
    'TLS_RSA_WITH_AES_128_CBC_SHA',
  ],
  'ds-9.6': ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  'ds-9.6-p2': ['TLS_RSA_WITH_AES_256_CBC_SHA', 'TLS_RSA_WITH_3DES_EDE_CBC_SHA', 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  'ds-9.6-sp1-p1-u5': [
    'TLS_RSA_WITH_AES_256_CBC_SHA256',
    'TLS_RSA_WITH_AES_128_GCM_SHA256',
    'TLS_RSA_WITH_AES_128_CBC_SHA256',
    'TLS_RSA_WITH_AES_256_CBC_SHA',
    'TLS_RSA_WITH_AES_128_CBC_SHA',
  ],
  'ds-10.0': ['TLS_RSA_WITH_AES_256_CBC_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA256'],
  'ds-10.0-u16': ['TLS_RSA_WITH_AES_256_CBC_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA256'],
  'ds-11.0': [
    'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
    'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
    'TLS_RSA_WITH_AES_256_CBC_SHA256',
    'TLS_RSA_WITH_AES_128_CBC_SHA256',
  ],
  'ds-11.0-u6': [
    'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
    'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  ],
  'ds-12.0': [
    'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
    'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  ],
  'ds-20': [
    'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384',
    'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256',
    'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384',
    'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256',
  ],
};

test('every Deep Security row offers exactly the suites the spec lists, in its order', () => {
  const ds = CIPHER_SUITE_ROWS.filter((r) => r.product === 'deep-security');
  assert.deepEqual(
    ds.map((r) => r.id),
    Object.keys(SPEC),
  );
  for (const row of ds) assert.deepEqual(row.suites, SPEC[row.id], row.id);
});

test('TLS versions: as the spec names them, otherwise what the suites require', () => {
  const expected: Record<string, [TlsProtocol, TlsProtocol, string]> = {
    'ds-9.5': ['TLSv1', 'TLSv1', 'spec'], // line 67 "TLS 1.0 cipher suites"
    'ds-9.5-sp1': ['TLSv1', 'TLSv1', 'suites'],
    'ds-9.5-sp1-p3-u3': ['TLSv1', 'TLSv1.2', 'suites'],
    'ds-9.6': ['TLSv1', 'TLSv1', 'spec'], // line 83
    'ds-9.6-p2': ['TLSv1', 'TLSv1', 'suites'],
    'ds-9.6-sp1-p1-u5': ['TLSv1', 'TLSv1.2', 'suites'],
    'ds-10.0': ['TLSv1.2', 'TLSv1.2', 'spec'], // line 99 "TLS 1.2 cipher suites"
    'ds-10.0-u16': ['TLSv1.2', 'TLSv1.2', 'spec'], // line 102
    'ds-11.0': ['TLSv1.2', 'TLSv1.2', 'suites'],
    'ds-11.0-u6': ['TLSv1.2', 'TLSv1.2', 'spec'], // line 113
    'ds-12.0': ['TLSv1.2', 'TLSv1.2', 'suites'],
    'ds-20': ['TLSv1.2', 'TLSv1.2', 'suites'],
    palisade: ['TLSv1.2', 'TLSv1.3', 'palisade'],
  };
  assert.deepEqual(
    CIPHER_SUITE_ROWS.map((r) => r.id),
    Object.keys(expected),
  );
  for (const row of CIPHER_SUITE_ROWS) {
    assert.deepEqual([row.minProtocol, row.maxProtocol, row.protocolSource], expected[row.id], row.id);
    // A row must be able to use each of its suites at some version it offers, and each version it
    // offers must have a suite (else the version would be a promise the agent cannot keep).
    for (const s of row.suites)
      assert.ok(
        rowProtocols(row).some((p) => suiteUsableAt(s, p)),
        `${row.id} ${s}`,
      );
    for (const p of rowProtocols(row))
      assert.ok(
        row.suites.some((s) => suiteUsableAt(s, p)),
        `${row.id} ${p}`,
      );
  }
});

function compareLevels(a: ReleaseLevel, b: ReleaseLevel): number {
  for (let i = 0; i < 5; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return 0;
}

test('Deep Security rows start in release order, ids are unique, through-bounds sit inside the row', () => {
  const ids = CIPHER_SUITE_ROWS.map((r) => r.id);
  assert.equal(new Set(ids).size, ids.length);
  const ds = CIPHER_SUITE_ROWS.filter((r) => r.from !== null);
  for (let i = 0; i < ds.length; i++) {
    const row = ds[i]!;
    const next = ds[i + 1];
    if (next) assert.equal(compareLevels(row.from!, next.from!), -1, `${row.id} before ${next.id}`);
    if (row.through === null) continue;
    assert.ok(compareLevels(row.from!, row.through) <= 0, `${row.id} through ≥ from`);
    if (next) assert.equal(compareLevels(row.through, next.from!), -1, `${row.id} through < ${next.id}`);
  }
  assert.equal(cipherSuiteRow('ds-11.0-u6')?.label, 'Deep Security Agent 11.0 Update 6 and later updates');
  assert.equal(cipherSuiteRow('ds-11.5'), undefined);
});

test('the Palisade row is TLS 1.3 plus the ECDHE suites of 12.0/20, no RSA key exchange', () => {
  const row = cipherSuiteRow('palisade')!;
  assert.deepEqual(row.suites, [...TLS13_SUITES, ...SPEC['ds-20']!]);
  assert.ok(row.suites.every((s) => CIPHER_SUITES[s].forwardSecret));
});

test('the OpenSSL name map covers every suite and reads both ways', () => {
  for (const row of CIPHER_SUITE_ROWS) for (const s of row.suites) assert.ok(s in CIPHER_SUITES, s);
  assert.equal(opensslName('TLS_RSA_WITH_AES_128_CBC_SHA'), 'AES128-SHA');
  assert.equal(opensslName('TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'), 'ECDHE-RSA-AES256-GCM-SHA384');
  assert.equal(opensslName('TLS_RSA_WITH_3DES_EDE_CBC_SHA'), 'DES-CBC3-SHA');
  for (const s of IANA_CIPHER_SUITES) assert.equal(ianaNameFromOpenssl(opensslName(s)), s);
  assert.equal(ianaNameFromOpenssl('ECDHE-ECDSA-AES128-GCM-SHA256'), undefined);
});

/** Throws "no cipher match" when this OpenSSL does not know the suite. */
function contextFor(suite: IanaCipherSuite): void {
  const name = opensslName(suite);
  // A TLS_-prefixed name goes to SSL_CTX_set_ciphersuites; `@SECLEVEL=0` alone would then leave
  // the TLS 1.2 list empty, which is itself "no cipher match". So only TLS ≤ 1.2 names get it.
  tls.createSecureContext({ ciphers: name.startsWith('TLS_') ? name : `${name}:@SECLEVEL=0` });
}

test('this OpenSSL knows every OpenSSL name in the map except 3DES, whatever the security level', () => {
  // The probe can fail: an unknown name of either kind throws.
  assert.throws(() => tls.createSecureContext({ ciphers: 'NOT-A-SUITE:@SECLEVEL=0' }), /no cipher match/);
  assert.throws(() => tls.createSecureContext({ ciphers: 'TLS_NOT_A_SUITE' }), /no cipher match/);
  for (const s of IANA_CIPHER_SUITES) {
    if (CIPHER_SUITES[s].availableInNode) contextFor(s);
    else assert.throws(() => contextFor(s), /no cipher match/, s);
  }
  assert.deepEqual(
    IANA_CIPHER_SUITES.filter((s) => !CIPHER_SUITES[s].availableInNode),
    ['TLS_RSA_WITH_3DES_EDE_CBC_SHA'],
  );
  // Not even as a server for TLS 1.0 (the measurement recorded in cipher-suites.ts).
  assert.throws(
    () => tls.createServer({ ciphers: 'DES-CBC3-SHA:@SECLEVEL=0', minVersion: 'TLSv1' }),
    /no cipher match/,
  );
});

// --- real handshakes -------------------------------------------------------------------------

let dir = '';
let key: Buffer;
let cert: Buffer;

before(() => {
  // A throwaway RSA certificate: every suite in the table authenticates with RSA.
  dir = mkdtempSync(join(tmpdir(), 'palisade-cipher-suites-'));
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

interface Negotiated {
  readonly protocol: string | null;
  readonly suite: string | null;
}

function handshake(server: tls.TlsOptions, client: tls.ConnectionOptions): Promise<Negotiated | { error: string }> {
  return new Promise((resolve) => {
    const srv = tls.createServer({ key, cert, ...server }, (socket) => socket.end());
    srv.on('tlsClientError', () => {});
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      const c = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false, ...client }, () => {
        resolve({ protocol: c.getProtocol(), suite: c.getCipher().standardName });
        c.end();
        srv.close();
      });
      c.on('error', (e: NodeJS.ErrnoException) => {
        resolve({ error: e.code ?? e.message });
        srv.close();
      });
    });
  });
}

test('a real handshake names each suite by its IANA key, and only at the versions the catalog allows', async (t) => {
  for (const suite of IANA_CIPHER_SUITES.filter((s) => CIPHER_SUITES[s].availableInNode)) {
    const name = opensslName(suite);
    const ciphers = name.startsWith('TLS_') ? name : `${name}:@SECLEVEL=0`;
    for (const protocol of TLS_PROTOCOLS) {
      const r = await handshake(
        { ciphers, minVersion: protocol, maxVersion: protocol },
        { ciphers, minVersion: protocol, maxVersion: protocol },
      );
      // At TLS 1.3 a TLS ≤ 1.2 list leaves Node's default 1.3 suites in place, so a handshake
      // there succeeds with another suite: "usable" means this suite was negotiated.
      const got = 'suite' in r && r.suite === suite && r.protocol === protocol;
      assert.equal(got, suiteUsableAt(suite, protocol), `${suite} at ${protocol}: ${JSON.stringify(r)}`);
    }
    t.diagnostic(`${suite} = ${name}: ${TLS_PROTOCOLS.filter((p) => suiteUsableAt(suite, p)).join(', ')}`);
  }
});
