import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { openInitializedStore } from '../manager.js';
import { AgentPackages } from '../services/agent-packages.js';
import {
  describeLimits,
  issueActivationToken,
  revokeActivationToken,
  revokeApiKey,
  tokenStatus,
} from '../services/credentials.js';
import { createDeploymentScript } from '../services/deployment-service.js';
import { parseDuration, parseOptions, parsePort, parsePositiveInt, UsageError } from './arguments.js';
import { openCommandStore, STORE_OPTIONS, type StoreOptionValues } from './command-store.js';

type Out = { stdout: (s: string) => void; stderr: (s: string) => void };

/** Audit rows name changes made from the command line `cli` (whoever can run it holds the store). */
const CLI_ACTOR = 'cli';

const iso = (t: number | null) => (t === null ? '-' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));

async function withStore<T>(
  v: StoreOptionValues,
  fn: (s: Awaited<ReturnType<typeof openInitializedStore>>) => Promise<T>,
) {
  const opened = await openCommandStore(v, (s) => process.stderr.write(s));
  try {
    return await fn(opened);
  } finally {
    await opened.store.close();
  }
}

function idArgument(command: string, args: string[]): [number, string[]] {
  const [first, ...rest] = args;
  if (first === undefined || !/^[1-9][0-9]{0,15}$/.test(first))
    throw new UsageError(`${command}: give the ID to revoke (see "${command.replace('revoke', 'list')}")`);
  return [Number(first), rest];
}

/** `token create --policy NAME [--uses N|unlimited] [--expires 24h|never] [--description TEXT]`. */
export async function tokenCreate(args: string[], out: Out): Promise<number> {
  const v = parseOptions('token create', args, {
    ...STORE_OPTIONS,
    policy: { type: 'string' },
    uses: { type: 'string' },
    expires: { type: 'string' },
    description: { type: 'string' },
  });
  if (!v.policy) throw new UsageError('token create: --policy NAME is required (e.g. --policy "Base Policy")');
  const uses = v.uses === 'unlimited' ? null : (parsePositiveInt('uses', v.uses) ?? 1);
  const ttl = parseDuration('expires', v.expires ?? '24h');
  return withStore(v, async ({ store }) => {
    const policy = await store.policies.findByName(v.policy!);
    if (!policy) {
      const names = (await store.policies.list()).map((p) => `"${p.name}"`).join(', ');
      throw new Error(`no policy named "${v.policy}" (policies: ${names})`);
    }
    const now = Date.now();
    const t = await issueActivationToken(
      store,
      { policyId: policy.id, maxUses: uses, ttlMs: ttl, description: v.description ?? 'palisade-manager token create' },
      CLI_ACTOR,
      now,
    );
    out.stderr(
      `palisade-manager: activation token ${t.id} for "${policy.name}", ${describeLimits(uses, t.expiresAt)}\n`,
    );
    out.stdout(`${t.token}\n`);
    return 0;
  });
}

/** `token list [--json]`: every token with its status; never a secret. */
export async function tokenList(args: string[], out: Out): Promise<number> {
  const v = parseOptions('token list', args, { ...STORE_OPTIONS, json: { type: 'boolean' } });
  return withStore(v, async ({ store }) => {
    const now = Date.now();
    const tokens = (await store.activationTokens.list()).map((t) => ({
      ...t,
      status: tokenStatus(t, now),
    }));
    if (v.json) {
      out.stdout(`${JSON.stringify(tokens)}\n`);
      return 0;
    }
    out.stdout(`${['ID', 'STATUS', 'POLICY', 'USES', 'EXPIRES', 'CREATED', 'DESCRIPTION'].join('\t')}\n`);
    for (const t of tokens)
      out.stdout(
        `${[t.id, t.status, t.policyName ?? `#${t.policyId}`, `${t.uses}/${t.maxUses ?? '∞'}`, iso(t.expiresAt), iso(t.createdAt), t.description].join('\t')}\n`,
      );
    return 0;
  });
}

export async function tokenRevoke(args: string[], out: Out): Promise<number> {
  const [id, rest] = idArgument('token revoke', args);
  const v = parseOptions('token revoke', rest, { ...STORE_OPTIONS });
  return withStore(v, async ({ store }) => {
    await revokeActivationToken(store, id, CLI_ACTOR, Date.now());
    out.stdout(`Activation token ${id} revoked: activations with it are refused from now on.\n`);
    return 0;
  });
}

/** `apikey list [--json]`: every key (revoked ones too) by ID, name, role, prefix; never a secret. */
export async function apikeyList(args: string[], out: Out): Promise<number> {
  const v = parseOptions('apikey list', args, { ...STORE_OPTIONS, json: { type: 'boolean' } });
  return withStore(v, async ({ store }) => {
    const keys = await store.apiKeys.list();
    if (v.json) {
      out.stdout(`${JSON.stringify(keys)}\n`);
      return 0;
    }
    out.stdout(`${['ID', 'STATUS', 'ROLE', 'PREFIX', 'LAST USED', 'CREATED', 'NAME'].join('\t')}\n`);
    for (const k of keys)
      out.stdout(
        `${[k.id, k.revokedAt === null ? 'active' : 'revoked', k.role, `${k.keyPrefix}…`, iso(k.lastUsedAt), iso(k.createdAt), k.name].join('\t')}\n`,
      );
    return 0;
  });
}

export async function apikeyRevoke(args: string[], out: Out): Promise<number> {
  const [id, rest] = idArgument('apikey revoke', args);
  const v = parseOptions('apikey revoke', rest, { ...STORE_OPTIONS });
  return withStore(v, async ({ store }) => {
    await revokeApiKey(store, id, CLI_ACTOR, Date.now());
    out.stdout(`API key ${id} revoked: requests with it are refused from now on.\n`);
    return 0;
  });
}

/** The first DNS name of the node's server certificate other than localhost: the name `start --hostname` gave first. */
function certificateHost(dataDir: string): string | null {
  try {
    const x = new X509Certificate(readFileSync(join(dataDir, 'tls', 'server.crt'), 'utf8'));
    const names = (x.subjectAltName ?? '')
      .split(', ')
      .filter((s) => s.startsWith('DNS:'))
      .map((s) => s.slice(4));
    return names.find((n) => n !== 'localhost') ?? names[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * `deployment-script --platform linux|macos [--policy NAME] [--no-activate] …`: the script
 * `POST /api/agentdeploymentscripts` answers, alone on stdout.
 */
export async function deploymentScriptCommand(args: string[], out: Out): Promise<number> {
  const v = parseOptions('deployment-script', args, {
    ...STORE_OPTIONS,
    platform: { type: 'string' },
    policy: { type: 'string' },
    'no-activate': { type: 'boolean' },
    'manager-host': { type: 'string' },
    'api-port': { type: 'string' },
    'heartbeat-port': { type: 'string' },
    uses: { type: 'string' },
    expires: { type: 'string' },
    'packages-dir': { type: 'string' },
  });
  const platform = v.platform;
  if (platform !== 'linux' && platform !== 'macos')
    throw new UsageError('deployment-script: --platform linux or --platform macos is required');
  const dataDir = v['data-dir'] ?? 'data';
  const host = v['manager-host'] ?? certificateHost(dataDir);
  if (!host)
    throw new UsageError(
      'deployment-script: --manager-host NAME is required (no server certificate in the data dir to take it from)',
    );
  if (v['no-activate'] && (v.policy || v.uses || v.expires))
    throw new UsageError('deployment-script: --policy, --uses and --expires make no sense with --no-activate');
  const uses = v.uses === 'unlimited' ? null : parsePositiveInt('uses', v.uses);
  const ttl = v.expires === undefined ? undefined : parseDuration('expires', v.expires);
  return withStore(v, async ({ store, ca }) => {
    let policyId: number | undefined;
    if (v.policy) {
      const policy = await store.policies.findByName(v.policy);
      if (!policy) throw new Error(`no policy named "${v.policy}"`);
      policyId = policy.id;
    }
    const r = await createDeploymentScript(
      {
        store,
        ca,
        packages: new AgentPackages(v['packages-dir'] ?? join(dataDir, 'agent-packages')),
        address: {
          host,
          apiPort: parsePort('api-port', v['api-port'], 4119),
          heartbeatPort: parsePort('heartbeat-port', v['heartbeat-port'], 4120),
        },
      },
      {
        platform,
        activate: !v['no-activate'],
        ...(policyId !== undefined ? { policyId } : {}),
        ...(uses !== undefined ? { tokenUses: uses } : {}),
        ...(ttl !== undefined ? { tokenHours: ttl === null ? null : Math.max(1, Math.round(ttl / 3_600_000)) } : {}),
        actor: CLI_ACTOR,
        now: Date.now(),
      },
    );
    out.stderr(
      `palisade-manager: ${platform} deployment script for ${host}${r.activationTokenId !== null ? `, activation token ${r.activationTokenId} (revoke: palisade-manager token revoke ${r.activationTokenId})` : ', without activation'}\n`,
    );
    out.stdout(r.scriptBody);
    return 0;
  });
}
