#!/usr/bin/env node
// The web console's cost, as ratios against baselines measured in the same run:
//   first load: bytes a browser transfers (gzip) for index.html and what it loads, vs the same
//     for a "hello world" React page built by the same Vite (the floor any React console pays)
//   computers page: GET /api/computers?limit=25&… (the page the console asks for) with 100,000
//     computers in the store, vs the same query with 1,000 (how the page scales with the fleet)
// Bounded: each loop stops at its count or its time budget, whichever comes first.
// `--first-load` measures the first load only (no fleet is built).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dist = join(root, 'packages/console/dist');
const { openInitializedStore } = await import(join(root, 'packages/manager/dist/index.js'));
const { createApiServer } = await import(join(root, 'packages/manager/dist/api/api-server.js'));
const { ConfigurationService } = await import(join(root, 'packages/manager/dist/services/configuration-service.js'));
const { hashSecret, newSecret } = await import(join(root, 'packages/manager/dist/secrets.js'));
const pino = (await import(join(root, 'node_modules/pino/pino.js'))).default;

// ----- first load ------------------------------------------------------------------------------

/** gzip bytes of index.html and every script, stylesheet and icon it names (what the first load fetches). */
function firstLoadBytes(dir) {
  const html = readFileSync(join(dir, 'index.html'));
  let total = gzipSync(html, { level: 9 }).length;
  const names = [...html.toString().matchAll(/(?:src|href)="\/([^"]+)"/g)].map((m) => m[1]);
  for (const n of new Set(names)) total += gzipSync(readFileSync(join(dir, n)), { level: 9 }).length;
  return { total, files: names.length + 1 };
}

const baselineDir = mkdtempSync(join(tmpdir(), 'palisade-bench-react-'));
mkdirSync(join(baselineDir, 'src'));
writeFileSync(
  join(baselineDir, 'index.html'),
  '<!doctype html><html><body><div id="root"></div><script type="module" src="/src/main.jsx"></script></body></html>',
);
writeFileSync(
  join(baselineDir, 'src/main.jsx'),
  "import { createRoot } from 'react-dom/client';\ncreateRoot(document.getElementById('root')).render(<h1>Hello</h1>);\n",
);
writeFileSync(
  join(baselineDir, 'vite.config.mjs'),
  `export default { root: ${JSON.stringify(baselineDir)}, logLevel: 'silent', oxc: { jsx: { runtime: 'automatic' } }, resolve: { alias: { react: ${JSON.stringify(join(root, 'node_modules/react'))}, 'react-dom': ${JSON.stringify(join(root, 'node_modules/react-dom'))} } } };\n`,
);
execFileSync(
  process.execPath,
  [join(root, 'node_modules/vite/bin/vite.js'), 'build', '--config', join(baselineDir, 'vite.config.mjs')],
  {
    cwd: join(root, 'packages/console'),
    stdio: 'inherit',
  },
);
const baseline = firstLoadBytes(join(baselineDir, 'dist'));
const ours = firstLoadBytes(dist);
rmSync(baselineDir, { recursive: true, force: true });
console.log('first load (gzip bytes transferred)');
console.log(`  React "hello world" (baseline)   ${String(baseline.total).padStart(8)} B  (${baseline.files} files)`);
console.log(`  Palisade console                 ${String(ours.total).padStart(8)} B  (${ours.files} files)`);
console.log(`  ratio console / baseline         ${(ours.total / baseline.total).toFixed(2).padStart(8)}`);

if (process.argv.includes('--first-load')) process.exit(0);

// ----- computers page API ----------------------------------------------------------------------

async function fleet(n) {
  const dir = mkdtempSync(join(tmpdir(), 'palisade-bench-console-'));
  const { store, ca } = await openInitializedStore(dir);
  const cert = await ca.issueServerCertificate(['localhost']);
  const now = Date.now();
  const statuses = ['online', 'offline', 'pending', 'stopped'];
  // Rows as activation and heartbeats leave them, written in bulk (this measures reads, not activation).
  for (let i = 0; i < n; i += 1000) {
    const rows = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) {
      const kind = statuses[j % statuses.length];
      rows.push({
        host_name: `host-${String((j * 7919) % n).padStart(6, '0')}.example.test`,
        platform: j % 10 === 0 ? 'win32' : 'linux',
        agent_version: j % 3 === 0 ? '20.0.1' : '0.1.0',
        policy_id: 1,
        state: 'active',
        cert_serial: `bench-${n}-${j}`,
        activated_at: now - 86_400_000,
        last_communication: now - (j % 600) * 1000,
        offline_deadline: kind === 'offline' ? now - 1000 : now + 1_800_000,
        last_ip: `198.18.${(j >> 8) & 255}.${j & 255}`,
        drivers: '[]',
        counters: '{}',
        expected_fingerprint: 'sha256:a',
        applied_fingerprint: kind === 'pending' ? 'sha256:old' : 'sha256:a',
        events_acked_through: 0,
        vm_state: kind === 'stopped' ? 'stopped' : null,
      });
    }
    await store.db.insertInto('computers').values(rows).execute();
  }
  const app = createApiServer({
    store,
    logger: pino({ level: 'silent' }),
    tls: { key: cert.privateKey, cert: cert.certificate },
    configurations: new ConfigurationService(store, 600),
  });
  await app.ready();
  const key = newSecret('apikey');
  await store.createApiKey({
    name: 'bench',
    keyPrefix: key.slice(0, 8),
    secretHash: hashSecret(key),
    role: 'full-access',
    now,
  });
  return {
    get: async (url) => {
      const r = await app.inject({ url, headers: { 'api-secret-key': key } });
      if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
      return r.json();
    },
    async close() {
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function perRequestMs(f, url, maxCount = 200, maxMs = 8000) {
  await f.get(url); // warm
  const start = performance.now();
  let n = 0;
  while (n < maxCount && performance.now() - start < maxMs) {
    await f.get(url);
    n++;
  }
  return (performance.now() - start) / n;
}

const QUERIES = [
  ['first page, by host name', '/api/computers?limit=25&sortBy=hostName'],
  ['page 2000, by host name', '/api/computers?limit=25&offset=49975&sortBy=hostName'],
  ['newest contact first', '/api/computers?limit=25&sortBy=lastAgentCommunication&sortOrder=desc'],
  ['status Offline, by status', '/api/computers?limit=25&status=Offline&sortBy=status'],
  ['search "host-0421"', '/api/computers?limit=25&search=host-0421'],
];
const small = await fleet(1_000);
const large = await fleet(100_000);
console.log('\ncomputers page API (ms per request; 25 rows, filters and sort by the manager)');
console.log(`  ${'query'.padEnd(30)} ${'1,000'.padStart(9)} ${'100,000'.padStart(9)}  ratio`);
for (const [label, url] of QUERIES) {
  // Offset past the small fleet: both read the last page of their own fleet instead.
  const smallUrl = url.replace('offset=49975', 'offset=475');
  const a = await perRequestMs(small, smallUrl);
  const b = await perRequestMs(large, url);
  console.log(
    `  ${label.padEnd(30)} ${a.toFixed(2).padStart(9)} ${b.toFixed(2).padStart(9)}  ${(b / a).toFixed(1).padStart(5)}`,
  );
}
const total = (await large.get('/api/computers?limit=1')).total;
console.log(`  (the large store holds ${total.toLocaleString()} computers)`);
await small.close();
await large.close();
