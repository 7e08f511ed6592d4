import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { postgresConfig, redact } from './postgres-store.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-pgconf-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const password = async (c: ReturnType<typeof postgresConfig>) =>
  typeof c.password === 'function' ? c.password() : c.password;

test('the URL gives host, port, user, database; its password wins and is never shown', async () => {
  const c = postgresConfig('postgres://pal:s3cret%21@db.example:5433/fleet');
  assert.deepEqual([c.host, c.port, c.user, c.database], ['db.example', 5433, 'pal', 'fleet']);
  assert.equal(await password(c), 's3cret!');
  assert.equal(redact('postgres://pal:s3cret%21@db.example:5433/fleet'), 'postgres://pal:***@db.example:5433/fleet');
  assert.equal(redact('postgresql://pal@db/fleet'), 'postgresql://pal@db/fleet');
});

test('a password file (first line) or PGPASSWORD when the URL has none; both sources at once is refused', async () => {
  const file = join(dir, 'pw');
  writeFileSync(file, 'from-file\nignored\n');
  assert.equal(await password(postgresConfig('postgres://pal@db/fleet', { passwordFile: file })), 'from-file');
  assert.throws(() => postgresConfig('postgres://pal:x@db/fleet', { passwordFile: file }), /use one of them/);
  assert.throws(() => postgresConfig('postgres://pal@db/fleet', { passwordFile: join(dir, 'none') }), /ENOENT/);
  writeFileSync(join(dir, 'empty'), '\n');
  assert.throws(() => postgresConfig('postgres://pal@db/fleet', { passwordFile: join(dir, 'empty') }), /empty/);
  const saved = process.env.PGPASSWORD;
  try {
    process.env.PGPASSWORD = 'from-env';
    assert.equal(await password(postgresConfig('postgres://pal@db/fleet')), 'from-env');
    delete process.env.PGPASSWORD;
    await assert.rejects(
      password(postgresConfig('postgres://pal@db/fleet')) as Promise<string>,
      /none was given: put it in the --db URL, --db-password-file or PGPASSWORD/,
    );
  } finally {
    if (saved === undefined) delete process.env.PGPASSWORD;
    else process.env.PGPASSWORD = saved;
  }
});

test('TLS as libpq reads sslmode: none unless asked; require encrypts; verify-full checks the certificate', () => {
  assert.equal(postgresConfig('postgres://pal@db/fleet').ssl, undefined);
  assert.equal(postgresConfig('postgres://pal@db/fleet?sslmode=disable').ssl, false);
  assert.deepEqual(postgresConfig('postgres://pal@db/fleet?sslmode=require').ssl, { rejectUnauthorized: false });
  const ca = join(dir, 'ca.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
  const full = postgresConfig(`postgres://pal@db/fleet?sslmode=verify-full&sslrootcert=${ca}`).ssl as {
    ca: string;
    rejectUnauthorized?: boolean;
  };
  assert.equal(full.ca, '-----BEGIN CERTIFICATE-----\n');
  assert.notEqual(full.rejectUnauthorized, false);
  assert.throws(() => postgresConfig('postgres://pal@db/'), /name the database/);
});
