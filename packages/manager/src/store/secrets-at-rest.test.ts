import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { SealedTicketSecretStore } from '../agent-endpoint/sealed-ticket-secret-store.js';
import { TICKET_SECRET_SETTING, TicketKeys } from '../agent-endpoint/ticket-keys.js';
import { openInitializedStore } from '../manager.js';
import { notifierSettingsFrom, openWebhook } from '../notifiers/notifier-config.js';
import { createCertificateAuthority } from '../pki/certificate-authority.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';

const HEADER_SECRET = 'Bearer hdr-3f9c1d7e-secret';
const URL_PASSWORD = 'urlpw-81be2c';
const mode = (p: string) => statSync(p).mode & 0o777;

/** Every byte the store left on disk (database, WAL, shared memory), as text to grep. */
function storeBytes(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.startsWith('palisade.db'))
    .map((f) => readFileSync(join(dir, f)).toString('latin1'))
    .join('\n');
}

describe('secrets at rest (issue 12, item 1)', () => {
  const root = mkdtempSync(join(tmpdir(), 'palisade-secrets-'));
  after(() => rmSync(root, { recursive: true, force: true }));

  test('a first start: data dir 0700, database files and master key 0600, no secret readable in the files', async () => {
    const dir = join(root, 'fresh');
    const { store, secrets } = await openInitializedStore(dir);
    const tickets = await TicketKeys.open(new SealedTicketSecretStore(store, secrets), pino({ level: 'silent' }));
    const r = notifierSettingsFrom(
      {
        name: 'hook',
        kind: 'webhook',
        webhook: { url: `https://ops:${URL_PASSWORD}@hooks.example/in`, headers: { authorization: HEADER_SECRET } },
      },
      secrets,
    );
    assert.ok('settings' in r);
    await store.notifiers.create({ name: 'hook', settings: r.settings, enabled: true, now: Date.now() });
    const ticketSecret = await new SealedTicketSecretStore(store, secrets).load();
    assert.ok(ticketSecret && tickets.keysFor('modern').length === 48);
    assert.equal(mode(dir), 0o700);
    for (const f of ['palisade.db', 'palisade.db-wal', 'palisade.db-shm', 'master.key'])
      assert.equal(mode(join(dir, f)), 0o600, f);
    await store.close();
    const bytes = storeBytes(dir);
    assert.ok(!bytes.includes('PRIVATE KEY'), 'the database holds no PEM private key');
    assert.ok(!bytes.includes(HEADER_SECRET) && !bytes.includes(URL_PASSWORD), 'nor webhook credentials');
    assert.ok(!bytes.includes(ticketSecret.toString('base64')), 'nor the ticket secret');
  });

  test('an upgrade: modes tightened, plaintext secrets sealed in place and gone from the file', async () => {
    const dir = join(root, 'upgrade');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const file = join(dir, 'palisade.db');
    // The store as a release before secrets were sealed left it: plaintext rows, mode 0644.
    writeFileSync(file, '', { mode: 0o644 });
    chmodSync(file, 0o644);
    const legacy = openSqliteStore(file);
    await legacy.migrate();
    const ca = await createCertificateAuthority();
    const ticket = randomBytes(32);
    await legacy.db
      .insertInto('certificate_authority')
      .values({ id: 1, certificate: ca.certificate, private_key: ca.privateKey, created_at: Date.now() })
      .execute();
    await legacy.systemSettings.set(TICKET_SECRET_SETTING, ticket.toString('base64'));
    const config = {
      sources: ['alerts', 'events'],
      minSeverity: 'info',
      kind: 'webhook',
      webhook: {
        url: `https://ops:${URL_PASSWORD}@hooks.example/in`,
        headers: { authorization: HEADER_SECRET },
        ca: null,
        timeoutSeconds: 10,
      },
    };
    await legacy.db
      .insertInto('notifiers')
      .values({
        name: 'old hook',
        kind: 'webhook',
        config: JSON.stringify(config),
        enabled: 1,
        created_at: 1,
        updated_at: 1,
        alert_cursor: 0,
        event_cursor: 0,
        last_delivered_at: null,
        last_error: null,
        last_error_at: null,
        lease_owner: null,
        lease_until: null,
      })
      .execute();
    await legacy.close();
    assert.ok(storeBytes(dir).includes('PRIVATE KEY'), 'the old store holds the key in plaintext');

    const repaired: string[] = [];
    const opened = await openInitializedStore(dir, undefined, { log: (m) => repaired.push(m) });
    assert.equal(mode(dir), 0o700);
    for (const f of ['palisade.db', 'palisade.db-wal', 'palisade.db-shm', 'master.key'])
      assert.equal(mode(join(dir, f)), 0o600, f);
    assert.match(repaired.join('\n'), /3 stored secret\(s\) sealed/);
    assert.equal(opened.ca.certificatePem, ca.certificate, 'the same CA, its key opened from the seal');
    const n = (await opened.store.notifiers.list())[0]!;
    assert.ok(n.settings.kind === 'webhook');
    assert.deepEqual(openWebhook(opened.secrets, n.settings.webhook), {
      url: config.webhook.url,
      headers: config.webhook.headers,
    });
    assert.equal(n.settings.webhook.url, 'https://****:****@hooks.example/in');
    assert.deepEqual(await new SealedTicketSecretStore(opened.store, opened.secrets).load(), ticket);
    await opened.store.close();
    const bytes = storeBytes(dir);
    assert.ok(!bytes.includes('PRIVATE KEY'), 'no PEM private key left in the file, its WAL or free pages');
    assert.ok(!bytes.includes(HEADER_SECRET) && !bytes.includes(URL_PASSWORD));
    assert.ok(!bytes.includes(ticket.toString('base64')));
  });

  test('sealed secrets without their master key: a clear error, never a new key', async () => {
    const dir = join(root, 'fresh');
    const keyFile = join(dir, 'master.key');
    const saved = readFileSync(keyFile);
    rmSync(keyFile);
    await assert.rejects(openInitializedStore(dir), /master key file .*master\.key is missing/);
    assert.throws(() => statSync(keyFile), /ENOENT/);
    const other = join(root, 'other.key');
    writeFileSync(other, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    await assert.rejects(
      openInitializedStore(dir, undefined, { masterKeyFile: other }),
      /sealed with master key [0-9a-f]{16}, but the master key file holds [0-9a-f]{16}/,
    );
    writeFileSync(keyFile, saved, { mode: 0o600 });
    const back = await openInitializedStore(dir);
    await back.store.close();
  });

  test('commands other than start never create a store or data dir', async () => {
    const missing = join(root, 'typo');
    await assert.rejects(openInitializedStore(missing, undefined, { create: false }), /no data dir at/);
    mkdirSync(missing);
    await assert.rejects(openInitializedStore(missing, undefined, { create: false }), /no store at/);
    assert.deepEqual(readdirSync(missing), []);
  });
});
