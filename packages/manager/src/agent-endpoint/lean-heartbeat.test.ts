import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import { MAX_BODY_BYTES } from '@palisade/protocol';
import { leanJsonLength, readJsonBody } from './lean-heartbeat.js';

describe('the heartbeat path beside Fastify', () => {
  test('reads only a JSON body of announced length within the limit; the rest is left to Fastify', () => {
    const json = { 'content-type': 'application/json' };
    assert.equal(leanJsonLength({ ...json, 'content-length': '120' }), 120);
    assert.equal(leanJsonLength({ 'content-type': 'Application/JSON;charset=UTF-8', 'content-length': '7' }), 7);
    assert.equal(leanJsonLength({ ...json, 'content-length': String(MAX_BODY_BYTES) }), MAX_BODY_BYTES);
    for (const [why, headers] of [
      ['no content type', { 'content-length': '5' }],
      ['another media type', { 'content-type': 'text/plain', 'content-length': '5' }],
      ['another charset', { 'content-type': 'application/json; charset=latin1', 'content-length': '5' }],
      ['a JSON-like type', { 'content-type': 'application/json-patch+json', 'content-length': '5' }],
      ['no length (chunked)', { ...json, 'transfer-encoding': 'chunked' }],
      ['a length and chunked', { ...json, 'content-length': '5', 'transfer-encoding': 'chunked' }],
      ['an empty body', { ...json, 'content-length': '0' }],
      ['over the limit', { ...json, 'content-length': String(MAX_BODY_BYTES + 1) }],
      ['a length that is no number', { ...json, 'content-length': '5x' }],
      ['a huge length', { ...json, 'content-length': '99999999999999999999' }],
    ] as const)
      assert.equal(leanJsonLength(headers), null, why);
  });

  const body = (chunks: string[], end = true) => {
    const s = new PassThrough();
    for (const c of chunks) s.write(c);
    if (end) s.end();
    return s as unknown as IncomingMessage;
  };

  test('parses the body as Fastify does, refusing prototype members', async () => {
    assert.deepEqual(await readJsonBody(body(['{"a":', '[1,2]}']), 11), { ok: true, value: { a: [1, 2] } });
    for (const text of ['{"a":', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}']) {
      const r = await readJsonBody(body([text]), Buffer.byteLength(text));
      assert.equal(r.ok, false, text);
      assert.equal(!r.ok && r.error?.code, 'INVALID_JSON', text);
    }
  });

  test('a body cut short is no request to answer', async () => {
    const cut = body(['{"a":1'], false);
    const r = readJsonBody(cut, 20);
    (cut as unknown as PassThrough).destroy();
    assert.deepEqual(await r, { ok: false, error: null });
    assert.deepEqual(await readJsonBody(body(['{"a":1}']), 20), { ok: false, error: null });
  });
});
