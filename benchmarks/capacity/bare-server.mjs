#!/usr/bin/env node
// The capacity benchmark's baseline: a bare Node mutual-TLS server holding the manager's own
// agent-endpoint certificates and TLS settings (read from its data dir), that parses each
// heartbeat body and answers a reply of the same shape and size as the manager's (the next
// continuity token included, for an agent that presents one) — and does nothing else. What the
// manager achieves against it is the cost of everything it does beyond TLS and HTTP:
// authentication lookups, the store, alerts.
//   node bare-server.mjs --data-dir DIR [--port 0]    prints {"port": N} on stdout when listening
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { tlsContextOptions } = await import(join(root, 'packages/core/dist/index.js'));
// The manager's session settings (ticket lifetime, session ID context), so both resume alike.
const { AGENT_TLS_SESSION_OPTIONS } = await import(join(root, 'packages/manager/dist/index.js'));
// The manager's own token source, for the continuity token it hands an agent that holds one.
const { randomToken } = await import(join(root, 'packages/manager/dist/secrets.js'));
const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, port: { type: 'string' } } });
const dir = join(values['data-dir'], 'tls');
const read = (name) => readFileSync(join(dir, name), 'utf8');
const ca = read('ca.crt');
// Every key/certificate pair the manager serves on its agent port (one RSA; ECDSA beside it
// once the manager has one), each chain leaf then CA, as the manager sends them.
const pairs = [
  ['server.key', 'server.crt'],
  ['server-ecdsa.key', 'server-ecdsa.crt'],
]
  .filter(([k, c]) => existsSync(join(dir, k)) && existsSync(join(dir, c)))
  .map(([k, c]) => ({ key: read(k), cert: `${read(c).trim()}\n${ca.trim()}\n` }));

const server = createServer(
  {
    key: pairs.map((p) => p.key),
    cert: pairs.map((p) => p.cert),
    ca,
    ...tlsContextOptions('modern'),
    ...AGENT_TLS_SESSION_OPTIONS,
    requestCert: true,
    rejectUnauthorized: false,
  },
  (req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const send = (status, body) => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
      };
      if (!req.socket.authorized) return send(401, { error: { code: 'CLIENT_CERTIFICATE_REQUIRED', message: 'no' } });
      let report;
      try {
        report = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(400, { error: { code: 'INVALID_REQUEST', message: 'body is not JSON' } });
      }
      send(200, {
        protocolVersion: 1,
        computerId: 1,
        serverTime: Date.now(),
        eventsAckedThrough: report.events?.at(-1)?.seq ?? 0,
        eventsStored: report.events?.length ?? 0,
        operations: [],
        heartbeatIntervalSeconds: 600,
        policyId: 1,
        policyName: 'Base Policy',
        exchangeId: randomUUID(),
        // An agent with a host identity is handed its next continuity token, as the manager does.
        ...(typeof report.continuity === 'string' ? { continuity: randomToken(32) } : {}),
      });
    });
  },
);
// The same idle limit fastify gives the manager's server.
server.keepAliveTimeout = 72_000;
server.listen(Number(values.port ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
