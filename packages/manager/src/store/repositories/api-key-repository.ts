import type { Selectable } from 'kysely';
import { num, numOrNull } from '../column-values.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

export interface ApiKeyRecord {
  id: number;
  name: string;
  keyPrefix: string;
  role: 'full-access' | 'read-only';
  createdAt: number;
  lastUsedAt: number | null;
  revokedAt: number | null;
}

function toApiKey(r: Selectable<Database['api_keys']>): ApiKeyRecord {
  return {
    id: num(r.id),
    name: r.name,
    keyPrefix: r.key_prefix,
    role: r.role === 'read-only' ? 'read-only' : 'full-access',
    createdAt: num(r.created_at),
    lastUsedAt: numOrNull(r.last_used_at),
    revokedAt: numOrNull(r.revoked_at),
  };
}

/** API keys, stored by the hash of their secret (the secret itself is shown once and never kept). */
export class ApiKeyRepository extends Repository {
  async create(k: {
    name: string;
    keyPrefix: string;
    secretHash: string;
    role: ApiKeyRecord['role'];
    now: number;
  }): Promise<ApiKeyRecord> {
    const r = await this.db
      .insertInto('api_keys')
      .values({
        name: k.name,
        key_prefix: k.keyPrefix,
        secret_hash: k.secretHash,
        role: k.role,
        created_at: k.now,
        last_used_at: null,
        revoked_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApiKey(r);
  }

  /** Looks a key up by the hash of its secret; revoked keys are not returned. */
  async findBySecretHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('secret_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return r ? toApiKey(r) : null;
  }

  async touch(id: number, now: number): Promise<void> {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return num(r.n);
  }

  /** Revokes a key; false if there is no such key or it was revoked already. */
  async revoke(id: number, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ revoked_at: now })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  /** Every key, revoked ones included (audit rows keep naming them). */
  async list(): Promise<ApiKeyRecord[]> {
    return (await this.db.selectFrom('api_keys').selectAll().orderBy('id').execute()).map(toApiKey);
  }
}
