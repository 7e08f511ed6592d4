import { num, numOrNull } from '../column-values.js';
import { Repository } from './repository.js';

export type TokenCheck =
  | { ok: true; tokenId: number; policyId: number }
  | { ok: false; reason: 'unknown' | 'expired' | 'used-up' | 'revoked' };

/** An activation token as listed: never its secret (only its hash is stored). */
export interface ActivationTokenRecord {
  id: number;
  policyId: number;
  /** The policy's name; null if it was deleted meanwhile. */
  policyName: string | null;
  /** What it was made for (`deployment script (linux)`, `first run`, …); empty when nothing was said. */
  description: string;
  /** null: unlimited. */
  maxUses: number | null;
  uses: number;
  /** null: never expires. */
  expiresAt: number | null;
  createdAt: number;
  revokedAt: number | null;
}

/**
 * Activation tokens, stored by hash. A use is counted when a computer is created with it
 * (ComputerRepository.activate), in the same transaction. The check that admits a token reads
 * its revocation on every use, so a revocation takes effect with the next activation.
 */
export class ActivationTokenRepository extends Repository {
  /** `maxUses` null: any number; `expiresAt` null: never; `description` default empty. Returns the token's ID. */
  async create(t: {
    tokenHash: string;
    policyId: number;
    maxUses: number | null;
    expiresAt: number | null;
    description?: string;
    now: number;
  }): Promise<number> {
    const r = await this.db
      .insertInto('activation_tokens')
      .values({
        token_hash: t.tokenHash,
        policy_id: t.policyId,
        max_uses: t.maxUses,
        uses: 0,
        expires_at: t.expiresAt,
        created_at: t.now,
        revoked_at: null,
        description: t.description ?? '',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return num(r.id);
  }

  async check(tokenHash: string, now: number): Promise<TokenCheck> {
    const t = await this.db
      .selectFrom('activation_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!t) return { ok: false, reason: 'unknown' };
    if (t.revoked_at !== null) return { ok: false, reason: 'revoked' };
    if (t.expires_at !== null && num(t.expires_at) <= now) return { ok: false, reason: 'expired' };
    if (t.max_uses !== null && num(t.uses) >= num(t.max_uses)) return { ok: false, reason: 'used-up' };
    return { ok: true, tokenId: num(t.id), policyId: num(t.policy_id) };
  }

  /** Every token, revoked and expired ones included, oldest first (`id`: that one only). */
  async list(id?: number): Promise<ActivationTokenRecord[]> {
    let q = this.db
      .selectFrom('activation_tokens as t')
      .leftJoin('policies as p', 'p.id', 't.policy_id')
      .select([
        't.id',
        't.policy_id',
        'p.name as policy_name',
        't.description',
        't.max_uses',
        't.uses',
        't.expires_at',
        't.created_at',
        't.revoked_at',
      ]);
    if (id !== undefined) q = q.where('t.id', '=', id);
    const rows = await q.orderBy('t.id').execute();
    return rows.map((r) => ({
      id: num(r.id),
      policyId: num(r.policy_id),
      policyName: r.policy_name ?? null,
      description: r.description,
      maxUses: numOrNull(r.max_uses),
      uses: num(r.uses),
      expiresAt: numOrNull(r.expires_at),
      createdAt: num(r.created_at),
      revokedAt: numOrNull(r.revoked_at),
    }));
  }

  async get(id: number): Promise<ActivationTokenRecord | null> {
    return (await this.list(id))[0] ?? null;
  }

  /** Revokes a token; false if there is no such token or it was revoked already. */
  async revoke(id: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('activation_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
