import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { MANAGER_BIN, readBanner } from '../cli.js';
import { type JsonReply, jsonReply } from '../harness.js';
import type { NetnsLab } from './netns-lab.js';

/** A `palisade-manager start` process in the lab's manager namespace, on 4119/4120, and its API. */
export interface LabManager {
  process: ChildProcess;
  /** The first-start banner (the activation command, the API key). */
  banner: string;
  apiKey: string;
  /** The manager CA, PEM. */
  ca: string;
  log(): string;
  api(method: string, path: string, body?: unknown): Promise<JsonReply>;
  /** `api` that fails the test unless the answer is 2xx; the body as `T`. */
  ok<T>(method: string, path: string, body?: unknown): Promise<T>;
}

/**
 * Starts the manager in the lab's manager namespace with `--hostname name` (the name the lab's
 * hosts file gives it) and waits for its banner; `lab.down()` stops it.
 */
export async function startLabManager(
  lab: NetnsLab,
  o: { name: string; dataDir: string; args?: string[]; env?: NodeJS.ProcessEnv },
): Promise<LabManager> {
  let log = '';
  const proc = lab.spawn(
    'manager',
    [
      process.execPath,
      MANAGER_BIN,
      'start',
      '--data-dir',
      o.dataDir,
      '--hostname',
      o.name,
      '--bind',
      lab.ip('manager'),
      '--api-port',
      '4119',
      '--heartbeat-port',
      '4120',
      ...(o.args ?? []),
    ],
    { ...process.env, PALISADE_LOG_LEVEL: 'warn', ...o.env },
  );
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const banner = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`manager did not start: ${log}`)), 90_000);
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (/palisade-agent start/.test(out)) {
        clearTimeout(timer);
        resolve(out);
      }
    });
    proc.once('exit', (code) => reject(new Error(`manager exited with ${code}: ${log}`)));
  });
  const { apiKey } = readBanner(banner);
  const ca = readFileSync(join(o.dataDir, 'tls', 'ca.crt'), 'utf8');

  function api(method: string, path: string, body?: unknown): Promise<JsonReply> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      const req = request(
        {
          host: lab.ip('manager'),
          port: 4119,
          path,
          method,
          servername: o.name,
          ca,
          agent: false,
          headers: {
            'api-secret-key': apiKey,
            ...(payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              /* 204 */
            }
            resolve(jsonReply(res.statusCode ?? 0, parsed));
          });
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  return {
    process: proc,
    banner,
    apiKey,
    ca,
    log: () => log,
    api,
    async ok<T>(method: string, path: string, body?: unknown): Promise<T> {
      const r = await api(method, path, body);
      assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
      return r.json<T>();
    },
  };
}
