import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import pino from 'pino';
import type { SealedSecret } from '../keys/secret-box.js';
import { type ApiFixture, startApiFixture } from '../testing/api-fixture.js';
import { errorOf } from '../testing/json-reply.js';
import { RetentionPruner } from './retention-pruner.js';

const DAY = 86_400_000;
const NOW = 1_000 * DAY;
type Settings = Record<string, { value: string }>;

describe('retention: settings through /api/systemsettings, pruning in the background', () => {
  let f: ApiFixture;
  const lines: Array<{ level: number; msg: string; undelivered?: { events: number } }> = [];
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    }),
  );
  before(async () => {
    f = await startApiFixture({ now: () => NOW });
  });
  after(() => f.close());

  test('the settings are listed with their defaults; bad values are refused whole and change nothing', async () => {
    const all = (await f.request('GET', '/api/systemsettings')).json<Settings>();
    assert.deepEqual(all.firewallSettingRetainEventDuration, { value: '7 Days' });
    assert.deepEqual(all.platformSettingRetainSystemEventDuration, { value: '53 Weeks' });
    assert.deepEqual(all.palisadeSettingRetainEventMax, { value: '1000000' });
    for (const [name, value] of [
      ['firewallSettingRetainEventDuration', '7'],
      ['firewallSettingRetainEventDuration', '0 Days'],
      ['palisadeSettingRetainEventMax', '-5'],
      ['palisadeSettingRetainAlertMax', '1e6'],
      ['platformSettingRetainSystemEventDuration', 'forever'],
    ] as const) {
      const r = await f.request('POST', '/api/systemsettings', {
        palisadeSettingRetainNotifierOutboxMax: { value: '500' },
        [name]: { value },
      });
      assert.deepEqual([r.status, errorOf(r).code], [400, 'SYSTEM_SETTING_VALUE_INVALID'], `${name}=${value}`);
      assert.match(errorOf(r).message, new RegExp(name));
      assert.deepEqual((await f.request('GET', '/api/systemsettings')).json<Settings>(), all, 'nothing written');
    }
  });

  test('a pass prunes rows older than the setting, keeps newer ones, honours the row cap, and reports drops', async () => {
    const set = await f.request('POST', '/api/systemsettings', {
      firewallSettingRetainEventDuration: { value: '2 Days' },
      palisadeSettingRetainEventMax: { value: '15' },
      platformSettingRetainSystemEventDuration: { value: '12 Hours' },
    });
    assert.equal(set.status, 200);
    const c = await f.addComputer({ hostName: 'pruned' });
    let seq = 0;
    const store = async (n: number, at: number) =>
      f.store.events.insertReported(
        c.id,
        Array.from({ length: n }, () => ({ seq: ++seq, time: at, type: 'firewall', severity: 'info', message: 'm' })),
        at,
      );
    await store(10, NOW - 3 * DAY);
    await store(10, NOW - DAY);
    const pruner = new RetentionPruner({ store: f.store, logger, now: () => NOW, batchSize: 3 });
    const first = await pruner.runOnce();
    assert.equal(first.pruned.events, 10, 'the 10 older than 2 days');
    assert.equal(first.pruned.audit, 0, 'the audit rows of the settings just written are newer than 12 hours');
    const kept = await f.store.events.query({ order: 'asc', limit: 100 });
    assert.deepEqual(
      kept.map((e) => e.receivedAt),
      Array(10).fill(NOW - DAY),
    );

    // A notifier that delivered none of what follows: by age nothing of it goes; by the cap of 15, 5 do, logged.
    await f.store.notifiers.create({
      name: 'slow',
      settings: {
        kind: 'webhook',
        sources: ['events'],
        minSeverity: 'info',
        webhook: {
          url: 'https://127.0.0.1:1/',
          headerNames: [],
          secret: 's' as SealedSecret,
          ca: null,
          timeoutSeconds: 5,
        },
      },
      enabled: true,
      now: NOW,
    });
    await store(10, NOW - 3 * DAY);
    const second = await pruner.runOnce();
    assert.deepEqual([second.pruned.events, second.undelivered.events], [5, 0], 'the 5 oldest, all delivered');
    await store(10, NOW);
    const third = await pruner.runOnce();
    assert.deepEqual([third.pruned.events, third.undelivered.events], [10, 5], '5 delivered, then 5 waiting');
    assert.equal((await f.store.events.query({ order: 'asc', limit: 100 })).length, 15);
    const warn = lines.find((l) => l.level === 40 && /row caps dropped/.test(l.msg));
    assert.equal(warn?.undelivered?.events, 5, 'the drop is logged, with its count');
    await pruner.close();
  });
});
