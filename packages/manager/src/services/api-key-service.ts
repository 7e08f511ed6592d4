import { PalisadeError } from '../errors.js';
import { hashSecret, newSecret } from '../secrets.js';
import type { ApiKeyRecord, NewAuditEvent, Store } from '../store/store.js';
import { roleById, roleOf } from './roles.js';

/** What `/api/apikeys` writes, in Deep Security's member names; absent members are left as they are. */
export interface ApiKeyChanges {
  keyName?: string;
  description?: string;
  /** Deep Security's role ID (roles.ts): 1 Full Access, 2 Auditor. */
  roleID?: number;
  /** False locks the key: it is kept and refused until made active again. */
  active?: boolean;
  /** Kept and shown; no effect (Palisade's times are epoch ms, its messages English). */
  locale?: string;
  timeZone?: string;
  /** Epoch ms from which the key is refused; null: never. */
  expiryDate?: number | null;
}

/** A key with the secret it was just given: shown this once, stored only as its hash. */
export interface IssuedApiKey {
  key: ApiKeyRecord;
  secretKey: string;
}

const auditable = (k: ApiKeyRecord) =>
  JSON.stringify({
    keyName: k.name,
    description: k.description,
    roleID: roleOf(k.role).ID,
    active: k.active,
    locale: k.locale,
    timeZone: k.timeZone,
    expiryDate: k.expiresAt,
  });

/** The store's names for the members given. */
const stored = (c: ApiKeyChanges) => ({
  ...(c.keyName === undefined ? {} : { name: c.keyName }),
  ...(c.description === undefined ? {} : { description: c.description }),
  ...(c.roleID === undefined ? {} : { role: roleById(c.roleID, true).role }),
  ...(c.locale === undefined ? {} : { locale: c.locale }),
  ...(c.timeZone === undefined ? {} : { timeZone: c.timeZone }),
  ...(c.expiryDate === undefined ? {} : { expiresAt: c.expiryDate }),
  ...(c.active === undefined ? {} : { active: c.active }),
});

/**
 * API keys as Deep Security's `/api/apikeys` manages them: create (the secret returned once),
 * modify, delete (the key is revoked: refused from then on, its row kept so audit rows still name
 * it), and a new secret for a key. Each change is audited in its own transaction.
 */
export class ApiKeyService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** The keys that are not revoked (locked ones included), by ID. */
  async list(): Promise<ApiKeyRecord[]> {
    return (await this.store.apiKeys.list()).filter((k) => k.revokedAt === null);
  }

  async get(id: number): Promise<ApiKeyRecord> {
    const key = await this.store.apiKeys.get(id);
    if (!key) throw new PalisadeError('API_KEY_NOT_FOUND', `ID ${id}`);
    return key;
  }

  async create(c: ApiKeyChanges, actor: string): Promise<IssuedApiKey> {
    if (c.keyName === undefined)
      throw new PalisadeError('VALIDATION_FAILED', 'keyName is required to create an API key');
    const changes = stored(c);
    const secretKey = newSecret('apikey');
    const now = this.now();
    const key = await this.store.transaction(async (tx) => {
      const created = await tx.apiKeys.create({
        name: changes.name as string,
        keyPrefix: secretKey.slice(0, 8),
        secretHash: hashSecret(secretKey),
        role: changes.role ?? 'full-access',
        now,
      });
      await tx.apiKeys.update(created.id, changes);
      const key = (await tx.apiKeys.get(created.id)) as ApiKeyRecord;
      await tx.audit.insert([this.row(now, actor, 'apiKey.create', key.id, null, auditable(key))]);
      return key;
    });
    return { key, secretKey };
  }

  /** Changes the members given; a request that changes nothing writes no audit row. */
  async modify(id: number, c: ApiKeyChanges, actor: string): Promise<ApiKeyRecord> {
    const changes = stored(c);
    const now = this.now();
    return this.store.transaction(async (tx) => {
      const before = await tx.apiKeys.get(id);
      if (!before) throw new PalisadeError('API_KEY_NOT_FOUND', `ID ${id}`);
      await tx.apiKeys.update(id, changes);
      const after = (await tx.apiKeys.get(id)) as ApiKeyRecord;
      if (auditable(before) !== auditable(after))
        await tx.audit.insert([this.row(now, actor, 'apiKey.modify', id, auditable(before), auditable(after))]);
      return after;
    });
  }

  /** Revokes the key: requests with it get 401 from the next one on. */
  async delete(id: number, actor: string): Promise<void> {
    const now = this.now();
    await this.store.transaction(async (tx) => {
      if (!(await tx.apiKeys.revoke(id, now))) throw new PalisadeError('API_KEY_NOT_FOUND', `ID ${id}`);
      await tx.audit.insert([this.row(now, actor, 'apiKey.revoke', id, null, null)]);
    });
  }

  /** A new secret for the key; the old one is refused from the next request on. */
  async replaceSecret(id: number, actor: string): Promise<IssuedApiKey> {
    const secretKey = newSecret('apikey');
    const now = this.now();
    const key = await this.store.transaction(async (tx) => {
      if (!(await tx.apiKeys.replaceSecret(id, secretKey.slice(0, 8), hashSecret(secretKey))))
        throw new PalisadeError('API_KEY_NOT_FOUND', `ID ${id}`);
      await tx.audit.insert([this.row(now, actor, 'apiKey.secretkey', id, null, null)]);
      return (await tx.apiKeys.get(id)) as ApiKeyRecord;
    });
    return { key, secretKey };
  }

  private row(
    time: number,
    actor: string,
    action: NewAuditEvent['action'],
    id: number,
    oldValue: string | null,
    newValue: string | null,
  ): NewAuditEvent {
    return { time, actor, action, targetType: 'apiKey', targetId: id, setting: null, oldValue, newValue };
  }
}
