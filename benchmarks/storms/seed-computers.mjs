#!/usr/bin/env node
// Enrols N computers straight into a manager's store (its data dir), through the store's own
// repositories, for the memory measurement of bench.mjs: activating 100,000 agents over TLS
// would take the better part of an hour on a small machine, and memory depends on the rows, not
// on how they came. Run it with the manager stopped.
//   node seed-computers.mjs --data-dir DIR --count 100000
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = fileURLToPath(new URL('../../', import.meta.url));
const { openInitializedStore, issueActivationToken } = await import(join(root, 'packages/manager/dist/index.js'));
const { values } = parseArgs({ options: { 'data-dir': { type: 'string' }, count: { type: 'string' } } });
const count = Math.min(Number(values.count ?? 100_000), 1_000_000);
const { store } = await openInitializedStore(values['data-dir']);
try {
  const now = Date.now();
  const base = await store.policies.ensureBase(now);
  const { id } = await issueActivationToken(
    store,
    { policyId: base.id, maxUses: null, ttlMs: 3_600_000, description: 'seed' },
    'bench',
    now,
  );
  const fingerprint = `sha256:${'0'.repeat(64)}`;
  for (let done = 0; done < count; ) {
    const n = Math.min(10_000, count - done);
    await store.transaction(async (tx) => {
      for (let i = 0; i < n; i++) {
        const k = done + i;
        await tx.computers.activate(id, {
          hostName: `seeded-${String(k).padStart(7, '0')}`,
          platform: 'linux',
          agentVersion: '0.1.0',
          policyId: base.id,
          certSerial: `5EED${k.toString(16).toUpperCase().padStart(12, '0')}`,
          expectedFingerprint: fingerprint,
          now,
        });
      }
    });
    done += n;
  }
  process.stdout.write(`${JSON.stringify({ seeded: count })}\n`);
} finally {
  await store.close();
}
