import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { test } from 'node:test';
import { connect, type SecureVersion } from 'node:tls';
import { MAX_CLIENT_HELLO_BYTES, peekClientHello, TLS_VERSION_CODES } from './tls-client-hello.js';

/** The first bytes a real Node/OpenSSL client sends when offering `min`..`max`. */
async function clientHello(
  min: SecureVersion,
  max: SecureVersion,
  extra: Record<string, unknown> = {},
): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  const got = new Promise<Buffer>((resolve) => {
    server.once('connection', (s: Socket) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => {
        chunks.push(c);
        const all = Buffer.concat(chunks);
        if (all.length >= 5 && all.length >= 5 + all.readUInt16BE(3)) {
          resolve(all);
          s.destroy();
        }
      });
    });
  });
  const c = connect({
    port,
    host: '127.0.0.1',
    minVersion: min,
    maxVersion: max,
    rejectUnauthorized: false,
    ciphers: 'DEFAULT@SECLEVEL=0',
    ...extra,
  });
  c.on('error', () => {});
  const hello = await got;
  c.destroy();
  server.close();
  return hello;
}

test('reads the highest offered version from real ClientHellos, TLS 1.0 to 1.3', async () => {
  const cases: Array<[SecureVersion, SecureVersion, number]> = [
    ['TLSv1', 'TLSv1', TLS_VERSION_CODES.TLSv1],
    ['TLSv1', 'TLSv1.1', TLS_VERSION_CODES['TLSv1.1']],
    ['TLSv1', 'TLSv1.2', TLS_VERSION_CODES['TLSv1.2']],
    ['TLSv1.2', 'TLSv1.2', TLS_VERSION_CODES['TLSv1.2']],
    ['TLSv1.2', 'TLSv1.3', TLS_VERSION_CODES['TLSv1.3']],
    ['TLSv1', 'TLSv1.3', TLS_VERSION_CODES['TLSv1.3']],
  ];
  for (const [min, max, expected] of cases) {
    const hello = await clientHello(min, max);
    assert.deepEqual(peekClientHello(hello), { kind: 'hello', maxVersion: expected }, `${min}..${max}`);
    // Byte by byte, it waits until the record is whole.
    for (const cut of [0, 1, 4, 5, 40, hello.length - 1])
      assert.deepEqual(peekClientHello(hello.subarray(0, cut)), { kind: 'incomplete' }, `${min}..${max} cut ${cut}`);
  }
});

test('GREASE values in supported_versions are ignored (RFC 8701)', async () => {
  const hello = Buffer.from(await clientHello('TLSv1.2', 'TLSv1.3'));
  // Rewrite the first listed version as a GREASE value higher than any real one.
  const at = hello.indexOf(Buffer.from([0x00, 0x2b]), 5 + 4 + 2 + 32);
  assert.ok(at > 0);
  hello[at + 5] = 0x7a;
  hello[at + 6] = 0x7a;
  const r = peekClientHello(hello);
  assert.equal(r.kind, 'hello');
  assert.notEqual((r as { maxVersion: number }).maxVersion, 0x7a7a);
});

test('not TLS, or malformed: unreadable (the modern context then refuses it)', () => {
  assert.deepEqual(peekClientHello(Buffer.from('GET / HTTP/1.1\r\n')), { kind: 'unreadable' });
  assert.deepEqual(
    peekClientHello(Buffer.from([22, 3, 1, 0, 2, 1, 0])),
    { kind: 'unreadable' },
    'record too short for a hello',
  );
  assert.deepEqual(
    peekClientHello(Buffer.from([22, 3, 1, 0x40, 0x01])),
    { kind: 'unreadable' },
    'record longer than 2^14',
  );
  const notHello = Buffer.alloc(5 + 40);
  notHello.set([22, 3, 1, 0, 40, 2]);
  assert.deepEqual(peekClientHello(notHello), { kind: 'unreadable' }, 'a ServerHello');
  assert.equal(MAX_CLIENT_HELLO_BYTES, 16_389);
});
