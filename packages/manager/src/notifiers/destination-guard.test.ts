import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { SecretBox } from '../keys/secret-box.js';
import { openInitializedStore } from '../manager.js';
import type { Store } from '../store/store.js';
import { NOTIFIER_ALLOW_LIST_SETTING } from './destination-guard.js';
import { notifierSettingsFrom } from './notifier-config.js';
import { NotifierDispatcher } from './notifier-dispatcher.js';

/** Polls `check` every 20 ms until it is truthy, for at most `ms`. */
async function until<T>(check: () => Promise<T>, what: string, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('notifier destinations are checked where the connection is made', () => {
  let dir: string;
  let store: Store;
  let secrets: SecretBox;
  let receiver: Server;
  let port: number;
  let dispatcher: NotifierDispatcher;
  const got: string[] = [];
  let subjects = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'palisade-destinations-'));
    ({ store, secrets } = await openInitializedStore(dir));
    receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        got.push(`${req.url} ${JSON.parse(body).alert?.subject}`);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    port = (receiver.address() as AddressInfo).port;
    dispatcher = new NotifierDispatcher({
      store,
      secrets,
      logger: pino({ level: 'silent' }),
      manager: 'manager.test',
      pollMs: 50,
      retryBaseMs: 50,
      retryMaxMs: 100,
    });
    dispatcher.start();
  });
  after(async () => {
    await dispatcher.close();
    await store.close();
    await new Promise((r) => receiver.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const notifier = async (name: string, url: string) => {
    const r = notifierSettingsFrom({ name, kind: 'webhook', sources: ['alerts'], webhook: { url } }, secrets);
    if ('problem' in r) throw new Error(r.problem);
    const n = await store.notifiers.create({ name, settings: r.settings, enabled: true, now: Date.now() });
    if (n === 'name-taken') throw new Error('taken');
    return n.id;
  };
  const alert = async () => {
    const subject = `node-${++subjects}`;
    await store.alerts.raise([{ type: 'manager-offline', computerId: null, subject, message: 'm' }], Date.now());
    dispatcher.wake();
    return subject;
  };
  const lastError = async (id: number) => (await store.notifiers.get(id))?.lastError ?? '';

  test('an existing notifier whose destination becomes disallowed is not delivered to, and says why; allowed again, its backlog drains', async () => {
    await store.systemSettings.set(NOTIFIER_ALLOW_LIST_SETTING, '127.0.0.0/8');
    const id = await notifier('by-address', `http://127.0.0.1:${port}/a`);
    const first = await alert();
    await until(async () => got.includes(`/a ${first}`), 'the first delivery');

    await store.systemSettings.set(NOTIFIER_ALLOW_LIST_SETTING, '');
    const second = await alert();
    const why = await until(() => lastError(id), 'the refusal');
    assert.match(why, new RegExp(`destination refused: 127\\.0\\.0\\.1:${port} is a loopback address`));
    assert.ok(!got.includes(`/a ${second}`), 'not delivered');

    await store.systemSettings.set(NOTIFIER_ALLOW_LIST_SETTING, `127.0.0.1:${port}`);
    dispatcher.wake();
    await until(async () => got.includes(`/a ${second}`), 'the backlog after the allow-list has it again');
  });

  test('a host name is judged by the address it resolves to when the connection is made', async () => {
    await store.systemSettings.set(NOTIFIER_ALLOW_LIST_SETTING, '');
    // "localhost" is not an address: created behind the API's back, it is refused only once resolved.
    const id = await notifier('by-name', `http://localhost:${port}/n`);
    const subject = await alert();
    const why = await until(() => lastError(id), 'the refusal');
    assert.match(
      why,
      new RegExp(`destination refused: localhost \\((127\\.0\\.0\\.1|::1)\\) port ${port} is a loopback`),
    );
    assert.ok(!got.includes(`/n ${subject}`));
    // Listed by the address it resolves to (not by name), it is delivered.
    await store.systemSettings.set(NOTIFIER_ALLOW_LIST_SETTING, `127.0.0.0/8:${port} [::1]:${port}`);
    dispatcher.wake();
    await until(async () => got.includes(`/n ${subject}`), 'delivery once its address is listed');
  });
});
