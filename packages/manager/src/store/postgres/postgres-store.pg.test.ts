import assert from 'node:assert/strict';
import { chownSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sql } from 'kysely';
import { CertificateAuthority, createCertificateAuthority } from '../../pki/certificate-authority.js';
import { PostgresTestServer, postgresSkipReason } from '../../testing/postgres-test-server.js';
import { openPostgresStore } from './postgres-store.js';

/**
 * The connection itself against a real server: the password from where the URL says, TLS when
 * the URL asks (a server with a certificate from a CA of the test's own).
 */
const skip = postgresSkipReason();

describe('opening a PostgreSQL store', { skip: skip ?? false }, () => {
  let server: PostgresTestServer;
  let dir: string;
  let caFile: string;
  let otherCaFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-pgtls-'));
    const ca = await CertificateAuthority.load(await createCertificateAuthority('Test DB CA'));
    const leaf = await ca.issueServerCertificate(['localhost']);
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, ca.certificatePem);
    otherCaFile = join(dir, 'other-ca.pem');
    writeFileSync(otherCaFile, (await createCertificateAuthority('Someone else')).certificate);
    // The server reads its key as its own user, and refuses a key others can read.
    const cert = join(dir, 'server.crt');
    const key = join(dir, 'server.key');
    writeFileSync(cert, leaf.certificate);
    writeFileSync(key, leaf.privateKey, { mode: 0o600 });
    const owner = PostgresTestServer.serverUser();
    if (owner) for (const f of [dir, cert, key]) chownSync(f, owner.uid, owner.gid);
    server = await PostgresTestServer.start({ settings: { ssl: 'on', ssl_cert_file: cert, ssl_key_file: key } });
  });
  after(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Opens, migrates, and says whether the connection is encrypted (the server's own view). */
  const opens = async (url: string) => {
    const s = openPostgresStore(url);
    try {
      await s.migrate();
      await s.policies.ensureBase(1);
      const r = await sql<{ ssl: boolean }>`select ssl from pg_stat_ssl where pid = pg_backend_pid()`.execute(s.db);
      return r.rows[0]?.ssl ? 'tls' : 'plain';
    } finally {
      await s.close();
    }
  };

  test('with the password in the URL; a wrong one is refused by the server', async () => {
    const url = await server.createDatabase('pw');
    assert.equal(await opens(url), 'plain');
    await assert.rejects(opens(url.replace(/:[^:@]*@/, ':wrong@')), /password authentication failed/);
  });

  test('TLS when the URL asks: verify-full against the right CA connects, another CA is refused', async () => {
    const url = await server.createDatabase('tls');
    const byName = url.replace('127.0.0.1', 'localhost');
    assert.equal(await opens(`${byName}?sslmode=verify-full&sslrootcert=${caFile}`), 'tls');
    assert.equal(await opens(`${byName}?sslmode=require`), 'tls', 'require: encrypted, certificate not checked');
    await assert.rejects(opens(`${byName}?sslmode=verify-full&sslrootcert=${otherCaFile}`), /certificate/);
  });
});
