import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { CIPHER_SUITE_ROWS } from '@palisade/core';
import { type ApiViews, openInitializedStore, type RunningManager, startManager } from '@palisade/manager';

import pino from 'pino';
import { loopbackManagerArgs, MANAGER_BIN, runCli, startManagerProcess } from './cli.js';

const temps: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'palisade-tlscli-'));
  temps.push(d);
  return d;
};
after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

const start = (dataDir: string, tlsPolicy?: 'modern' | 'compatible' | 'legacy') =>
  startManager({
    dataDir,
    hostnames: ['localhost'],
    apiPort: 0,
    heartbeatPort: 0,
    legacyTlsPort: 0,
    bindAddress: '127.0.0.1',
    ...(tlsPolicy ? { tlsPolicy } : {}),
    logger: pino({ level: 'silent' }),
  });

/** Whether a client offering only TLS 1.2 RSA key exchange (a Deep Security 10.0 agent) gets through. */
function rsaKexConnects(m: RunningManager): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tlsConnect({
      host: '127.0.0.1',
      port: m.heartbeatPort,
      servername: 'localhost',
      ca: m.ca.certificatePem,
      minVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      ciphers: 'AES256-SHA256:AES128-SHA256',
    });
    s.on('secureConnect', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

describe('TLS policy: CLI and the precedence of --tls-policy vs the stored setting', () => {
  test('unknown policy names are usage errors that list the valid ones', async () => {
    const d = tempDir();
    for (const args of [
      ['tls', 'check', '--policy', 'strict', '--data-dir', d],
      ['tls', 'set', '--policy', 'strict', '--data-dir', d],
      ['start', '--tls-policy', 'strict', '--data-dir', d],
    ]) {
      const r = await runCli(MANAGER_BIN, args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /"strict" is not a TLS policy; valid names: modern, compatible, legacy/);
    }
  });

  test('tls check prints every row of the table, the listener under legacy, and the enrolled computers; --json is the API shape', async () => {
    const d = tempDir();
    // Only `start` creates a store; the CLI commands need one there.
    await (await openInitializedStore(d)).store.close();
    const r = await runCli(MANAGER_BIN, ['tls', 'check', '--policy', 'legacy', '--data-dir', d]);
    assert.equal(r.code, 0, r.stderr);
    console.log(r.stdout);
    assert.match(r.stdout, /Stored policy in force: none stored, so modern/);
    for (const row of CIPHER_SUITE_ROWS) assert.ok(r.stdout.includes(row.label), row.label);
    assert.match(
      r.stdout,
      /Deep Security Agent 9\.5 \(without SPs, patches, or updates\)\s+connects\s+TLSv1\s+TLS_RSA_WITH_AES_256_CBC_SHA\s+4120 \(legacy context\)/,
    );
    assert.match(
      r.stdout,
      /Deep Security Agent 10\.0 up to Update 15\s+connects\s+TLSv1\.2\s+TLS_RSA_WITH_AES_256_CBC_SHA256\s+4120/,
    );
    assert.match(r.stdout, /TLS_RSA_WITH_3DES_EDE_CBC_SHA is not available/);
    assert.match(r.stdout, /Enrolled computers: 0/);
    assert.match(r.stdout, /Note: TLS policy "legacy" accepts TLS 1\.0/);

    const modern = await runCli(MANAGER_BIN, ['tls', 'check', '--data-dir', d]);
    assert.match(modern.stdout, /Deep Security Agent 10\.0 up to Update 15\s+CUT OFF \(no-shared-suite\)/);

    const j = await runCli(MANAGER_BIN, ['tls', 'check', '--policy', 'compatible', '--json', '--data-dir', d]);
    const report: ApiViews['TlsPreflight'] = JSON.parse(j.stdout);
    assert.equal(report.policy, 'compatible');
    assert.deepEqual(
      report.rows.map((x) => x.rowId),

      CIPHER_SUITE_ROWS.map((x) => x.id),
    );
    assert.deepEqual(report.computers.counts, { connects: 0, cutOff: 0, unknown: 0 });
  });

  test('the flag seeds the stored setting; once stored, the stored setting wins over a different flag', async () => {
    const d = tempDir();
    let m = await start(d, 'compatible');
    try {
      assert.equal(m.agentTls.policy, 'compatible');
      assert.equal(m.agentTls.policySource, 'start-option');
      assert.equal(await m.store.systemSettings.get('agentTlsPolicy'), 'compatible');
      assert.equal(await rsaKexConnects(m), true);
    } finally {
      await m.close();
    }
    m = await start(d, 'legacy');
    try {
      assert.equal(m.agentTls.policy, 'compatible', 'stored wins over the flag');
      assert.equal(m.agentTls.policySource, 'stored');
      assert.equal(m.agentTls.legacyPort, null, 'no legacy listener');
      // `tls set` from another process; a running node picks it up when it re-reads the setting
      // (every 30 s; called here directly).
      const r = await runCli(MANAGER_BIN, ['tls', 'set', '--policy', 'modern', '--data-dir', d]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'modern\n');
      assert.equal(await rsaKexConnects(m), true, 'not yet re-read');
      await m.agentTls.reload();
      assert.equal(m.agentTls.policy, 'modern');
      assert.equal(await rsaKexConnects(m), false, 'the running listener now refuses RSA key exchange');
    } finally {
      await m.close();
    }
  });

  test('without a flag and nothing stored the node runs modern and stores nothing', async () => {
    const d = tempDir();
    const m = await start(d);
    try {
      assert.equal(m.agentTls.policy, 'modern');
      assert.equal(m.agentTls.policySource, 'default');
      assert.equal(await m.store.systemSettings.get('agentTlsPolicy'), null);
    } finally {
      await m.close();
    }
  });

  test('start --tls-policy legacy: the warning is logged, the banner names the legacy port, and it closes cleanly', async () => {
    const d = tempDir();
    const p = await startManagerProcess([
      ...loopbackManagerArgs(d),
      '--legacy-tls-port',
      '0',
      '--tls-policy',
      'legacy',
    ]);
    try {
      const port = Number(/Agent TLS: +policy "legacy"; TLS 1\.0\/1\.1 listener on port (\d+)/.exec(p.banner)?.[1]);
      assert.ok(port > 0, p.banner);
      assert.match(p.stderr(), /TLS policy \\"legacy\\" accepts TLS 1\.0 and 1\.1/);
      // A Deep Security 9.5-style hello (TLS 1.0, AES-CBC-SHA) gets through on that port.
      const protocol = await new Promise<string | null>((resolve) => {
        const s = tlsConnect({
          host: '127.0.0.1',
          port,
          rejectUnauthorized: false,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1',
          ciphers: 'AES256-SHA:AES128-SHA:@SECLEVEL=0',
        });
        s.on('secureConnect', () => {
          resolve(s.getProtocol());
          s.destroy();
        });
        s.on('error', (e) => resolve(e.message));
      });
      assert.equal(protocol, 'TLSv1');
    } finally {
      assert.equal(await p.stop(), 0);
    }
  });
});
