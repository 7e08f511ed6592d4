import type { Kysely } from 'kysely';
import { num, numOrNull } from './column-values.js';
import { KyselyStore } from './kysely-store.js';
import type { Database } from './schema.js';
import type { Store } from './store.js';

/** Columns 0008_agent_lifecycle adds to activation_tokens. */
export interface CredentialTables {
  activation_tokens: Database['activation_tokens'] & { revoked_at: number | null; description: string };
}
export type CredentialDatabase = Omit<Database, 'activation_tokens'> & CredentialTables;

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
 * Activation tokens and API keys as the operator manages them: list, revoke, describe. Both
 * checks that admit a token or a key read the revocation on every use, so a revocation takes
 * effect with the next request.
 */
export class CredentialsStore {
  constructor(readonly db: Kysely<CredentialDatabase>) {}

  /** The credentials store beside `store`, inside its transaction when it is bound to one. */
  static over(store: Store): CredentialsStore {
    if (!(store instanceof KyselyStore)) throw new Error('credentials need the Kysely store (SQLite or PostgreSQL)');
    return new CredentialsStore(store.db as unknown as Kysely<CredentialDatabase>);
  }

  async createActivationToken(t: {
    tokenHash: string;
    policyId: number;
    maxUses: number | null;
    expiresAt: number | null;
    description: string;
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
        description: t.description,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return num(r.id);
  }

  /** Every token, revoked and expired ones included, oldest first. */
  async listActivationTokens(): Promise<ActivationTokenRecord[]> {
    const rows = await this.db
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
      ])
      .orderBy('t.id')
      .execute();
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

  async getActivationToken(id: number): Promise<ActivationTokenRecord | null> {
    return (await this.listActivationTokens()).find((t) => t.id === id) ?? null;
  }

  /** Revokes a token; false if there is no such token or it was revoked already. */
  async revokeActivationToken(id: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('activation_tokens')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Revokes an API key; false if there is no such key or it was revoked already. */
  async revokeApiKey(id: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }
}
