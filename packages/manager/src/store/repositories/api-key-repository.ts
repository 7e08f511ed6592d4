import type { Selectable } from 'kysely';
import { num, numOrNull } from '../column-values.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

export interface ApiKeyRecord {
  id: number;
  name: string;
  keyPrefix: string;
  role: 'full-access' | 'read-only';
  /** What it is for; empty when none was given. */
  description: string;
  /** Deep Security's `locale` and `timeZone`: kept and shown, no effect (times are epoch ms). */
  locale: string;
  timeZone: string;
  /** From then on the key is refused; null: never expires. */
  expiresAt: number | null;
  /** False: locked (Deep Security's `active: false`), refused until made active again. */
  active: boolean;
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
    description: r.description,
    locale: r.locale,
    timeZone: r.time_zone,
    expiresAt: numOrNull(r.expires_at),
    active: num(r.locked) === 0,
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
    description?: string;
    locale?: string;
    timeZone?: string;
    expiresAt?: number | null;
    now: number;
  }): Promise<ApiKeyRecord> {
    const r = await this.db
      .insertInto('api_keys')
      .values({
        name: k.name,
        key_prefix: k.keyPrefix,
        secret_hash: k.secretHash,
        role: k.role,
        description: k.description ?? '',
        locale: k.locale ?? 'en-US',
        time_zone: k.timeZone ?? 'UTC',
        expires_at: k.expiresAt ?? null,
        created_at: k.now,
        last_used_at: null,
        revoked_at: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toApiKey(r);
  }

  /** Looks a key up by the hash of its secret; revoked and locked keys are not returned (expired ones are: the caller has the clock). */
  async findBySecretHash(hash: string): Promise<ApiKeyRecord | null> {
    const r = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('secret_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .where('locked', '=', 0)
      .executeTakeFirst();
    return r ? toApiKey(r) : null;
  }

  /** One key that is not revoked; null when there is none with that ID. */
  async get(id: number): Promise<ApiKeyRecord | null> {
    const r = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return r ? toApiKey(r) : null;
  }

  /** Changes what is given of a key that is not revoked. */
  async update(
    id: number,
    c: {
      name?: string;
      description?: string;
      role?: ApiKeyRecord['role'];
      locale?: string;
      timeZone?: string;
      expiresAt?: number | null;
      active?: boolean;
    },
  ): Promise<void> {
    const set = {
      ...(c.name === undefined ? {} : { name: c.name }),
      ...(c.description === undefined ? {} : { description: c.description }),
      ...(c.role === undefined ? {} : { role: c.role }),
      ...(c.locale === undefined ? {} : { locale: c.locale }),
      ...(c.timeZone === undefined ? {} : { time_zone: c.timeZone }),
      ...(c.expiresAt === undefined ? {} : { expires_at: c.expiresAt }),
      ...(c.active === undefined ? {} : { locked: c.active ? 0 : 1 }),
    };
    if (Object.keys(set).length === 0) return;
    await this.db.updateTable('api_keys').set(set).where('id', '=', id).where('revoked_at', 'is', null).execute();
  }

  /** A new secret for a key (the old one is refused from now on); false when it is revoked or absent. */
  async replaceSecret(id: number, keyPrefix: string, secretHash: string): Promise<boolean> {
    const r = await this.db
      .updateTable('api_keys')
      .set({ key_prefix: keyPrefix, secret_hash: secretHash })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
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
