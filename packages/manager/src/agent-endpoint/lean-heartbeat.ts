import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { MAX_BODY_BYTES } from '@palisade/protocol';
import secureJson from 'secure-json-parse';
import { PalisadeError } from '../errors.js';

/*
 * The HTTP half of the heartbeat's own path on the agent endpoint. A heartbeat is most of what
 * 4120 serves — every agent, every ten minutes — and Fastify's request pipeline (routing, hook
 * iteration, the content-type parser, reply and its hooks, a child logger per request) cost
 * about 50–70 µs of CPU per heartbeat under load, some 4 % of the manager's CPU per resumed
 * heartbeat (docs/capacity.md "The heartbeat beside Fastify"). So the endpoint's server answers
 * the ordinary heartbeat itself — POST, a JSON body whose length is announced and within the
 * limit — and leaves everything else to Fastify, untouched: other routes and methods, chunked or
 * empty bodies, other media types, oversize announcements (Fastify's 404, 405, 411–415 and 413
 * answers stay the only ones). What it answers, it answers as Fastify would: the same checks in
 * the same order, the same codes and messages.
 */

/** The media type Fastify's JSON parser takes, with the one parameter agents send. */
const JSON_TYPES: ReadonlySet<string> = new Set(['application/json', 'application/json; charset=utf-8']);

/**
 * The body length of a request this path reads itself: a JSON media type and a `content-length`
 * between 1 and the body limit, without `transfer-encoding`. Null: the request is Fastify's.
 */
export function leanJsonLength(headers: IncomingHttpHeaders): number | null {
  const type = headers['content-type'];
  if (type === undefined || !JSON_TYPES.has(type.toLowerCase().replace(/;\s*/, '; ').trim())) return null;
  if (headers['transfer-encoding'] !== undefined) return null;
  const declared = headers['content-length'];
  if (declared === undefined || !/^[0-9]{1,9}$/.test(declared)) return null;
  const length = Number(declared);
  return length > 0 && length <= MAX_BODY_BYTES ? length : null;
}

/** What {@link readJsonBody} read: the parsed value, or why there is none (null: the client left). */
export type JsonBody = { ok: true; value: unknown } | { ok: false; error: PalisadeError | null };

/** Fastify's answer to a body that is not JSON (its FST_ERR_CTP_INVALID_JSON_BODY, as error-handling.ts words it). */
const NOT_JSON = "Body is not valid JSON but content-type is set to 'application/json'";

/**
 * Reads a body of `length` bytes (HTTP's parser holds the peer to its `content-length`) and
 * parses it as Fastify's default JSON parser does: `__proto__` and `constructor.prototype`
 * members are refused, not parsed. A client that leaves before the end gets no answer.
 */
export function readJsonBody(req: IncomingMessage, length: number): Promise<JsonBody> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      received += chunk.length;
    };
    const finish = (body: JsonBody) => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onGone);
      req.off('close', onGone);
      resolve(body);
    };
    const onGone = () => finish({ ok: false, error: null });
    const onEnd = () => {
      if (received !== length) return finish({ ok: false, error: null });
      const text = (chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, received)).toString('utf8');
      try {
        finish({
          ok: true,
          value: secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
        });
      } catch {
        finish({ ok: false, error: new PalisadeError('INVALID_JSON', NOT_JSON) });
      }
    };
    req.on('data', onData);
    req.once('end', onEnd);
    req.once('error', onGone);
    req.once('close', onGone);
  });
}

/** Answers `body` as JSON, the way Fastify's reply serializes an object without a response schema. */
export function sendJson(res: ServerResponse, status: number, body: unknown, closeConnection = false): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  // After a body it could not parse, Fastify closes the connection: the client may send more.
  if (closeConnection) res.setHeader('connection', 'close');
  res.end(text);
}
