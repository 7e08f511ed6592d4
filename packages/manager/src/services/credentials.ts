import { PalisadeError } from '../errors.js';
import { hashSecret, newSecret } from '../secrets.js';
import type { ActivationTokenRecord, Store } from '../store/store.js';

/** What a new activation token allows. */
export interface TokenLimits {
  policyId: number;
  /** null: unlimited (allowed, never the default). */
  maxUses: number | null;
  /** Lifetime in ms; null: never expires. */
  ttlMs: number | null;
  /** What it is for, shown in the token list (`deployment script (linux)`, `first run`, …). */
  description: string;
}

/** Whether a token would activate now, or why not. */
export function tokenStatus(k: ActivationTokenRecord, now: number): 'valid' | 'expired' | 'used-up' | 'revoked' {
  if (k.revokedAt !== null) return 'revoked';
  if (k.expiresAt !== null && k.expiresAt <= now) return 'expired';
  if (k.maxUses !== null && k.uses >= k.maxUses) return 'used-up';
  return 'valid';
}

/** "100 uses, expires 2026-…Z": the limits in words, for banners, scripts and CLI messages. */
export function describeLimits(maxUses: number | null, expiresAt: number | null): string {
  const uses = maxUses === null ? 'unlimited uses' : `${maxUses} use${maxUses === 1 ? '' : 's'}`;
  return `${uses}, ${expiresAt === null ? 'never expires' : `expires ${new Date(expiresAt).toISOString()}`}`;
}

/**
 * Makes an activation token and audits it in one transaction. The secret is returned once and
 * stored only as its hash. `actor` as audit rows name it (`apikey:<id>`, `cli`, `system`).
 */
export async function issueActivationToken(
  store: Store,
  limits: TokenLimits,
  actor: string,
  now: number,
): Promise<{ token: string; id: number; expiresAt: number | null }> {
  const token = newSecret('token');
  const expiresAt = limits.ttlMs === null ? null : now + limits.ttlMs;
  const id = await store.transaction(async (tx) => {
    const id = await tx.activationTokens.create({
      tokenHash: hashSecret(token),
      policyId: limits.policyId,
      maxUses: limits.maxUses,
      expiresAt,
      description: limits.description,
      now,
    });
    await tx.audit.insert([
      {
        time: now,
        actor,
        action: 'activationToken.create',
        targetType: 'activationToken',
        targetId: id,
        setting: null,
        oldValue: null,
        newValue: JSON.stringify({
          policyID: limits.policyId,
          maxUses: limits.maxUses,
          expires: expiresAt,
          description: limits.description,
        }),
      },
    ]);
    return id;
  });
  return { token, id, expiresAt };
}

/** Revokes a token (activation with it is refused from the next request on) and audits it. */
export async function revokeActivationToken(store: Store, id: number, actor: string, now: number): Promise<void> {
  await store.transaction(async (tx) => {
    const t = await tx.activationTokens.get(id);
    if (!t) throw new PalisadeError('ACTIVATION_TOKEN_NOT_FOUND', `ID ${id}`);
    if (!(await tx.activationTokens.revoke(id, now)))
      throw new PalisadeError('ACTIVATION_TOKEN_REVOKED_ALREADY', `ID ${id}`);
    await tx.audit.insert([
      {
        time: now,
        actor,
        action: 'activationToken.revoke',
        targetType: 'activationToken',
        targetId: id,
        setting: null,
        oldValue: null,
        newValue: null,
      },
    ]);
  });
}

/** Revokes an API key (requests with it get 401 from the next one on) and audits it. */
export async function revokeApiKey(store: Store, id: number, actor: string, now: number): Promise<void> {
  await store.transaction(async (tx) => {
    const key = (await tx.apiKeys.list()).find((k) => k.id === id);
    if (!key) throw new PalisadeError('API_KEY_NOT_FOUND', `ID ${id}`);
    if (!(await tx.apiKeys.revoke(id, now))) throw new PalisadeError('API_KEY_REVOKED_ALREADY', `ID ${id}`);
    await tx.audit.insert([
      {
        time: now,
        actor,
        action: 'apiKey.revoke',
        targetType: 'apiKey',
        targetId: id,
        setting: null,
        oldValue: null,
        newValue: null,
      },
    ]);
  });
}
