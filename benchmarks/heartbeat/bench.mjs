#!/usr/bin/env node
// Heartbeat throughput of one real agent against one real manager on loopback (mutual TLS,
// SQLite with synchronous=FULL), printed as ratios against baselines measured in the same run:
//   in-process heartbeats/s   vs  TLS handshake + GET /healthz per request (new connection each)
//   `palisade-agent heartbeat` CLI runs/s  vs  `node -e ""` process starts/s
// Bounded: each loop stops at its count or its time budget, whichever comes first.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
// The agent under test must not rewrite this host's firewall (its nftables engine runs as root).
process.env.PALISADE_AGENT_FIREWALL ??= 'off';
const { startManager } = await import(join(root, 'packages/manager/dist/index.js'));
const { activate, heartbeat, StateDir } = await import(join(root, 'packages/agent/dist/index.js'));
const pino = (await import(join(root, 'node_modules/pino/pino.js'))).default;

async function rate(label, maxCount, maxMs, fn) {
  const start = performance.now();
  let n = 0;
  while (n < maxCount && performance.now() - start < maxMs) {
    await fn();
    n++;
  }
  const perSecond = n / ((performance.now() - start) / 1000);
  console.log(`  ${label.padEnd(44)} ${perSecond.toFixed(1).padStart(8)} /s  (${n} runs)`);
  return perSecond;
}

const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-'));
const m = await startManager({
  dataDir: join(dir, 'data'),
  hostnames: ['localhost'],
  apiPort: 0,
  heartbeatPort: 0,
  bindAddress: '127.0.0.1',
  logger: pino({ level: 'silent' }),
});
try {
  const state = new StateDir(join(dir, 'agent'));
  await activate(state, {
    managerUrl: `dsm://localhost:${m.heartbeatPort}/`,
    token: m.firstRun.activationToken,
    caFingerprint: m.caFingerprint,
  });
  await heartbeat(state);

  console.log('heartbeat throughput (one agent, loopback):');
  const healthz = () =>
    new Promise((resolve, reject) => {
      const req = request(
        { host: 'localhost', port: m.apiPort, path: '/healthz', ca: m.ca.certificatePem, agent: false },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
  const base = await rate('baseline: TLS connect + GET /healthz', 300, 8_000, healthz);
  const inproc = await rate('in-process heartbeat (mTLS + 1 txn + spool)', 300, 8_000, () => heartbeat(state));
  console.log(`  ratio heartbeat / baseline: ${(inproc / base).toFixed(2)}`);

  const agentBin = join(root, 'packages/agent/bin/palisade-agent.js');
  // Async: the manager runs in this process and must keep answering while the CLI runs.
  const run = promisify(execFile);
  const procBase = await rate('baseline: node -e "" process start', 20, 15_000, () =>
    run(process.execPath, ['-e', '']),
  );
  const cli = await rate('palisade-agent heartbeat (CLI process)', 20, 30_000, () =>
    run(process.execPath, [agentBin, 'heartbeat', '--state-dir', state.dir]),
  );
  console.log(`  ratio CLI heartbeat / process start: ${(cli / procBase).toFixed(2)}`);
} finally {
  await m.close();
  rmSync(dir, { recursive: true, force: true });
}
