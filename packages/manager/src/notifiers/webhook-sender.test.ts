import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { FEED_START } from '../store/feed-position.js';
import type { Notification } from './notification.js';
import { WebhookSender } from './webhook-sender.js';

const event = (id: string): Notification => ({
  kind: 'event',
  id,
  position: FEED_START,
  time: 0,
  severity: 'info',
  event: {
    ID: 0,
    computerID: 0,
    hostName: 'manager.test',
    epoch: null,
    seq: 0,
    type: 'notifier-test',
    severity: 'info',
    message: 'test',
    agentTime: 0,
    receivedAt: 0,
    data: {},
  },
});

/**
 * A receiver that answers the first request on each connection and resets the connection on
 * any later one without answering: what a receiver closing an idle kept-alive connection does to
 * a request sent on it at that moment, made certain.
 */
describe('webhook delivery over a kept-alive connection the receiver closed', () => {
  let server: Server;
  let url: string;
  const served = new WeakSet<Socket>();
  const taken: string[] = [];
  const reset: string[] = [];
  before(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const key = String(req.headers['idempotency-key']);
      if (served.has(req.socket)) {
        reset.push(key);
        req.socket.destroy();
        return;
      }
      served.add(req.socket);
      req.resume();
      req.on('end', () => {
        taken.push(key);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('a request reset on a reused connection is sent once more on a new one, and delivered', async () => {
    const sender = new WebhookSender(
      { ca: null, timeoutSeconds: 5 },
      { url, headers: {} },
      'manager.test',
      'palisade-test',
    );
    try {
      await sender.deliver([event('one'), event('two'), event('three')]);
      assert.deepEqual(taken, ['one', 'two', 'three'], 'every notification reached the receiver, in order');
      assert.deepEqual(reset, ['two', 'three'], 'the second and third were first sent on a reused connection');
    } finally {
      sender.close();
    }
  });

  test('a reset on a new connection is not sent again: the batch stops with the reason', async () => {
    const refusing = createServer((req) => req.socket.destroy());
    await new Promise<void>((r) => refusing.listen(0, '127.0.0.1', r));
    let requests = 0;
    refusing.on('request', () => {
      requests += 1;
    });
    const port = (refusing.address() as AddressInfo).port;
    const sender = new WebhookSender(
      { ca: null, timeoutSeconds: 5 },
      { url: `http://127.0.0.1:${port}/hook`, headers: {} },
      'manager.test',
      'palisade-test',
    );
    try {
      await assert.rejects(sender.deliver([event('lost')]), /socket hang up|ECONNRESET/);
      assert.equal(requests, 1, 'sent once');
    } finally {
      sender.close();
      await new Promise<void>((r) => refusing.close(() => r()));
    }
  });
});
