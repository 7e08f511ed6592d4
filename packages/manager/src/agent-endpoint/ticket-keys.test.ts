import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { TICKET_KEY_ROTATION_MS, TicketKeys, type TicketSecretStore } from './ticket-keys.js';

/** A store in memory, counting writes: the contract the database-backed one fulfils. */
function memoryStore(): TicketSecretStore & { saves: number; value: Buffer | null } {
  return {
    saves: 0,
    value: null,
    async load() {
      return this.value;
    },
    async save(secret: Buffer) {
      this.saves++;
      this.value = Buffer.from(secret);
    },
  };
}

const logger = pino({ level: 'silent' });

test('the first node creates the secret; later ones (and restarts) derive the very same keys from it', async () => {
  const store = memoryStore();
  let now = 5 * TICKET_KEY_ROTATION_MS + 1_000;
  const a = await TicketKeys.open(store, logger, () => now);
  const b = await TicketKeys.open(store, logger, () => now);
  assert.equal(store.saves, 1, 'created once');
  assert.equal(a.keysFor('modern').length, 48, "Node's ticket key set: name, HMAC key, AES key");
  assert.deepEqual(a.keysFor('modern'), b.keysFor('modern'));
  assert.notDeepEqual(a.keysFor('modern'), a.keysFor('compatible'), 'each context its own keys');
  assert.notDeepEqual(a.keysFor('modern'), a.keysFor('legacy'));
  const before = a.keysFor('modern');
  assert.equal(a.msUntilRotation(), TICKET_KEY_ROTATION_MS - 1_000);
  now += TICKET_KEY_ROTATION_MS;
  assert.notDeepEqual(a.keysFor('modern'), before, 'rotated with the period');
  assert.deepEqual(a.keysFor('modern'), b.keysFor('modern'), 'both nodes rotate together');
});

test('reload picks up a secret another node stored', async () => {
  const store = memoryStore();
  const a = await TicketKeys.open(store, logger);
  const keys = a.keysFor('modern');
  assert.equal(await a.reload(), false, 'unchanged');
  store.value = Buffer.alloc(32, 9);
  assert.equal(await a.reload(), true);
  assert.notDeepEqual(a.keysFor('modern'), keys);
});
