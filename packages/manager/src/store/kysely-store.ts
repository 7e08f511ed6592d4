import type { SettingOverrides } from '@palisade/core';
import { type Kysely, Migrator, type Selectable } from 'kysely';
import { num, numOrNull } from './column-values.js';
import { type MigrationDialect, migrationProvider } from './migrations/migration-provider.js';
import type { Database } from './schema.js';
import type {
  ApiKeyRecord,
  AuditAction,
  AuditEventRecord,
  ComputerRecord,
  EventRecord,
  HeartbeatStored,
  HeartbeatWrite,
  NewAuditEvent,
  NewComputer,
  OperationRecord,
  PolicyRecord,
  Store,
  TokenCheck,
} from './store.js';
import { AUDIT_TARGET_TYPES, type AuditTargetType } from './store.js';

export const BASE_POLICY_NAME = 'Base Policy';

function toPolicy(r: Selectable<Database['policies']>): PolicyRecord {
  return {
    id: num(r.id),
    parentId: numOrNull(r.parent_id),
    name: r.name,
    description: r.description,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toComputer(r: Selectable<Database['computers']>): ComputerRecord {
  return {
    id: num(r.id),
    hostName: r.host_name,
    platform: r.platform,
    agentVersion: r.agent_version,
    policyId: num(r.policy_id),
    state: r.state === 'deactivated' ? 'deactivated' : 'active',
    certSerial: r.cert_serial,
    activatedAt: num(r.activated_at),
    deactivatedAt: numOrNull(r.deactivated_at),
    lastCommunication: numOrNull(r.last_communication),
    offlineDeadline: numOrNull(r.offline_deadline),
    lastIp: r.last_ip,
    clockOffsetMs: numOrNull(r.clock_offset_ms),
    uptimeSeconds: numOrNull(r.uptime_seconds),
    drivers: JSON.parse(r.drivers),
    counters: JSON.parse(r.counters),
    expectedFingerprint: r.expected_fingerprint,
    appliedFingerprint: r.applied_fingerprint,
    eventsAckedThrough: num(r.events_acked_through),
    tlsProtocol: r.tls_protocol,
    tlsCipherSuite: r.tls_cipher_suite,
    offlineSince: numOrNull(r.offline_since),
    vmState: r.vm_state === 'stopped' || r.vm_state === 'running' ? r.vm_state : null,
    clockOffsetChangeMs: numOrNull(r.clock_offset_change_ms),
  };
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

function toOperation(r: Selectable<Database['operations']>): OperationRecord {
  return {
    id: num(r.id),
    computerId: num(r.computer_id),
    type: 'applyConfiguration',
    fingerprint: r.fingerprint,
    payload: JSON.parse(r.payload),
    status: r.status as OperationRecord['status'],
    createdAt: num(r.created_at),
    sentAt: numOrNull(r.sent_at),
    completedAt: numOrNull(r.completed_at),
    reason: r.reason,
  };
}

function toAuditEvent(r: Selectable<Database['audit_events']>): AuditEventRecord {
  return {
    id: num(r.id),
    time: num(r.time),
    actor: r.actor,
    action: r.action as AuditAction,
    targetType: (AUDIT_TARGET_TYPES as readonly string[]).includes(r.target_type)
      ? (r.target_type as AuditTargetType)
      : 'policy',
    // `system` rows have no target ID: stored as '' (the column is NOT NULL).
    targetId: r.target_id === '' ? null : num(r.target_id),
    setting: r.setting,
    oldValue: r.old_value,
    newValue: r.new_value,
  };
}

/**
 * Splits long ID lists: engines cap bound parameters per statement (SQLite 32766, PostgreSQL
 * 65535), and a fleet-wide recompute can name more computers than that.
 */
function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * The one Store implementation, over Kysely. The engine comes in as a Kysely instance plus the
 * DDL capabilities of its dialect; nothing below branches on which engine it is.
 */
export class KyselyStore implements Store {
  constructor(
    readonly db: Kysely<Database>,
    private readonly dialect: MigrationDialect,
  ) {}

  async migrate(): Promise<void> {
    const { error, results } = await new Migrator({
      db: this.db,
      provider: migrationProvider(this.dialect),
    }).migrateToLatest();
    if (error) {
      const failed = results?.find((r) => r.status === 'Error');
      throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? error}`);
    }
  }

  close(): Promise<void> {
    if (this.db.isTransaction) throw new Error('close() on a transaction-bound store');
    return this.db.destroy();
  }

  transaction<T>(fn: (tx: Store) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return fn(this);
    return this.db.transaction().execute((trx) => fn(new KyselyStore(trx, this.dialect)));
  }

  /** Runs `fn` in a transaction, or in the enclosing one when this store is bound to one. */
  private atomically<T>(fn: (db: Kysely<Database>) => Promise<T>): Promise<T> {
    return this.db.isTransaction ? fn(this.db) : this.db.transaction().execute(fn);
  }

  async lockPolicyTree(): Promise<void> {
    if (!this.db.isTransaction) throw new Error('lockPolicyTree() outside a transaction locks nothing');
    await this.db
      .updateTable('policies')
      .set((eb) => ({ updated_at: eb.ref('updated_at') }))
      .where('parent_id', 'is', null)
      .execute();
  }

  async getSystemSetting(key: string): Promise<string | null> {
    const r = await this.db.selectFrom('system_settings').select('value').where('key', '=', key).executeTakeFirst();
    return r?.value ?? null;
  }

  async setSystemSetting(key: string, value: string): Promise<void> {
    await this.db
      .insertInto('system_settings')
      .values({ key, value })
      .onConflict((oc) => oc.column('key').doUpdateSet({ value }))
      .execute();
  }

  async getCertificateAuthority() {
    const r = await this.db.selectFrom('certificate_authority').selectAll().where('id', '=', 1).executeTakeFirst();
    return r ? { certificate: r.certificate, privateKey: r.private_key } : null;
  }

  async saveCertificateAuthorityIfAbsent(ca: { certificate: string; privateKey: string }, now: number) {
    await this.db
      .insertInto('certificate_authority')
      .values({ id: 1, certificate: ca.certificate, private_key: ca.privateKey, created_at: now })
      .onConflict((oc) => oc.column('id').doNothing())
      .execute();
    const stored = await this.getCertificateAuthority();
    if (!stored) throw new Error('certificate authority vanished after insert');
    return stored;
  }

  async ensureBasePolicy(now: number): Promise<PolicyRecord> {
    const existing = await this.db
      .selectFrom('policies')
      .selectAll()
      .where('parent_id', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    if (existing) return toPolicy(existing);
    await this.db
      .insertInto('policies')
      .values({
        parent_id: null,
        name: BASE_POLICY_NAME,
        description: 'The root of the policy tree: every setting has a value here.',
        created_at: now,
        updated_at: now,
      })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db
      .selectFrom('policies')
      .selectAll()
      .where('name', '=', BASE_POLICY_NAME)
      .executeTakeFirstOrThrow();
    return toPolicy(row);
  }

  async getPolicy(id: number) {
    const r = await this.db.selectFrom('policies').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toPolicy(r) : null;
  }

  async findPolicyByName(name: string) {
    const r = await this.db.selectFrom('policies').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toPolicy(r) : null;
  }

  async listPolicies() {
    return (await this.db.selectFrom('policies').selectAll().orderBy('id').execute()).map(toPolicy);
  }

  async policyOverrides(): Promise<Map<number, SettingOverrides>> {
    const rows = await this.db.selectFrom('policy_settings').selectAll().execute();
    const out = new Map<number, SettingOverrides>();
    for (const r of rows) {
      const id = num(r.policy_id);
      const o = out.get(id) ?? {};
      (o as Record<string, string>)[r.name] = r.value;
      out.set(id, o);
    }
    return out;
  }

  async computerOverrides(computerId: number): Promise<SettingOverrides> {
    const rows = await this.db
      .selectFrom('computer_settings')
      .selectAll()
      .where('computer_id', '=', computerId)
      .execute();
    return Object.fromEntries(rows.map((r) => [r.name, r.value])) as SettingOverrides;
  }

  async computerOverridesByComputer(computerIds?: readonly number[]): Promise<Map<number, SettingOverrides>> {
    const rows =
      computerIds === undefined
        ? await this.db.selectFrom('computer_settings').selectAll().execute()
        : (
            await Promise.all(
              chunks(computerIds).map((ids) =>
                this.db.selectFrom('computer_settings').selectAll().where('computer_id', 'in', ids).execute(),
              ),
            )
          ).flat();
    const out = new Map<number, SettingOverrides>();
    for (const r of rows) {
      const id = num(r.computer_id);
      const o = (out.get(id) ?? {}) as Record<string, string>;
      o[r.name] = r.value;
      out.set(id, o as SettingOverrides);
    }
    return out;
  }

  async createPolicy(p: { parentId: number; name: string; description: string; now: number }): Promise<PolicyRecord> {
    const r = await this.db
      .insertInto('policies')
      .values({ parent_id: p.parentId, name: p.name, description: p.description, created_at: p.now, updated_at: p.now })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toPolicy(r);
  }

  async updatePolicy(
    id: number,
    patch: { parentId?: number; name?: string; description?: string },
    now: number,
  ): Promise<PolicyRecord | null> {
    const r = await this.db
      .updateTable('policies')
      .set({
        updated_at: now,
        ...(patch.parentId !== undefined ? { parent_id: patch.parentId } : {}),
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.description !== undefined ? { description: patch.description } : {}),
      })
      .where('id', '=', id)
      .returningAll()
      .executeTakeFirst();
    return r ? toPolicy(r) : null;
  }

  async deletePolicy(id: number): Promise<{ deleted: boolean; activationTokensDeleted: number }> {
    return this.atomically(async (db) => {
      const tokens = await db.deleteFrom('activation_tokens').where('policy_id', '=', id).executeTakeFirst();
      // Explicit rather than relying on ON DELETE CASCADE, which SQLite honours only with foreign_keys on.
      await db.deleteFrom('policy_settings').where('policy_id', '=', id).execute();
      const r = await db.deleteFrom('policies').where('id', '=', id).executeTakeFirst();
      return { deleted: Number(r.numDeletedRows) === 1, activationTokensDeleted: Number(tokens.numDeletedRows) };
    });
  }

  async setPolicySetting(policyId: number, name: string, value: string | null): Promise<void> {
    if (value === null) {
      await this.db.deleteFrom('policy_settings').where('policy_id', '=', policyId).where('name', '=', name).execute();
      return;
    }
    await this.db
      .insertInto('policy_settings')
      .values({ policy_id: policyId, name, value })
      .onConflict((oc) => oc.columns(['policy_id', 'name']).doUpdateSet({ value }))
      .execute();
  }

  async setComputerSetting(computerId: number, name: string, value: string | null): Promise<void> {
    if (value === null) {
      await this.db
        .deleteFrom('computer_settings')
        .where('computer_id', '=', computerId)
        .where('name', '=', name)
        .execute();
      return;
    }
    await this.db
      .insertInto('computer_settings')
      .values({ computer_id: computerId, name, value })
      .onConflict((oc) => oc.columns(['computer_id', 'name']).doUpdateSet({ value }))
      .execute();
  }

  async setComputerPolicy(computerId: number, policyId: number): Promise<boolean> {
    const r = await this.db
      .updateTable('computers')
      .set({ policy_id: policyId })
      .where('id', '=', computerId)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async listComputersByPolicy(policyIds: readonly number[]): Promise<ComputerRecord[]> {
    const parts = await Promise.all(
      chunks(policyIds).map((ids) =>
        this.db.selectFrom('computers').selectAll().where('policy_id', 'in', ids).execute(),
      ),
    );
    return parts
      .flat()
      .map(toComputer)
      .sort((a, b) => a.id - b.id);
  }

  async setExpectedFingerprint(computerIds: readonly number[], fingerprint: string): Promise<void> {
    for (const ids of chunks(computerIds)) {
      await this.db
        .updateTable('computers')
        .set({ expected_fingerprint: fingerprint })
        .where('id', 'in', ids)
        .where('state', '=', 'active')
        .execute();
    }
  }

  async insertAuditEvents(events: readonly NewAuditEvent[]): Promise<void> {
    for (const part of chunks(events, 100)) {
      await this.db
        .insertInto('audit_events')
        .values(
          part.map((e) => ({
            time: e.time,
            actor: e.actor,
            action: e.action,
            target_type: e.targetType,
            target_id: e.targetId === null ? '' : String(e.targetId),
            setting: e.setting,
            old_value: e.oldValue,
            new_value: e.newValue,
          })),
        )
        .execute();
    }
  }

  async listAuditEvents(q: { limit: number; beforeId?: number }): Promise<AuditEventRecord[]> {
    let query = this.db.selectFrom('audit_events').selectAll();
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    return (await query.orderBy('id', 'desc').limit(q.limit).execute()).map(toAuditEvent);
  }

  async createApiKey(k: {
    name: string;
    keyPrefix: string;
    secretHash: string;
    role: ApiKeyRecord['role'];
    now: number;
  }) {
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

  async findApiKeyBySecretHash(hash: string) {
    const r = await this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('secret_hash', '=', hash)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return r ? toApiKey(r) : null;
  }

  async touchApiKey(id: number, now: number) {
    await this.db.updateTable('api_keys').set({ last_used_at: now }).where('id', '=', id).execute();
  }

  async countApiKeys() {
    const r = await this.db
      .selectFrom('api_keys')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return num(r.n);
  }

  async listApiKeys() {
    return (await this.db.selectFrom('api_keys').selectAll().orderBy('id').execute()).map(toApiKey);
  }

  async createActivationToken(t: {
    tokenHash: string;
    policyId: number;
    maxUses: number | null;
    expiresAt: number | null;
    now: number;
  }) {
    const r = await this.db
      .insertInto('activation_tokens')
      .values({
        token_hash: t.tokenHash,
        policy_id: t.policyId,
        max_uses: t.maxUses,
        uses: 0,
        expires_at: t.expiresAt,
        created_at: t.now,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return num(r.id);
  }

  async checkActivationToken(tokenHash: string, now: number): Promise<TokenCheck> {
    const t = await this.db
      .selectFrom('activation_tokens')
      .selectAll()
      .where('token_hash', '=', tokenHash)
      .executeTakeFirst();
    if (!t) return { ok: false, reason: 'unknown' };
    // Column of 0008_agent_lifecycle (credentials-store.ts): a revoked token is refused at once.
    if ((t as { revoked_at?: unknown }).revoked_at != null) return { ok: false, reason: 'revoked' };
    if (t.expires_at !== null && num(t.expires_at) <= now) return { ok: false, reason: 'expired' };
    if (t.max_uses !== null && num(t.uses) >= num(t.max_uses)) return { ok: false, reason: 'used-up' };
    return { ok: true, tokenId: num(t.id), policyId: num(t.policy_id) };
  }

  async activateComputer(tokenId: number, c: NewComputer): Promise<ComputerRecord | 'token-used-up'> {
    return this.atomically(async (trx) => {
      const used = await trx
        .updateTable('activation_tokens')
        .set((eb) => ({ uses: eb('uses', '+', 1) }))
        .where('id', '=', tokenId)
        .where((eb) => eb.or([eb('max_uses', 'is', null), eb('uses', '<', eb.ref('max_uses'))]))
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) return 'token-used-up' as const;
      const row = await trx
        .insertInto('computers')
        .values({
          host_name: c.hostName,
          platform: c.platform,
          agent_version: c.agentVersion,
          policy_id: c.policyId,
          state: 'active',
          cert_serial: c.certSerial,
          activated_at: c.now,
          deactivated_at: null,
          last_communication: null,
          offline_deadline: null,
          last_ip: null,
          clock_offset_ms: null,
          uptime_seconds: null,
          drivers: '[]',
          counters: '{}',
          expected_fingerprint: c.expectedFingerprint,
          applied_fingerprint: null,
          events_acked_through: 0,
          tls_protocol: null,
          tls_cipher_suite: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toComputer(row);
    });
  }

  async getComputer(id: number) {
    const r = await this.db.selectFrom('computers').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toComputer(r) : null;
  }

  async findComputerByCertSerial(serial: string) {
    const r = await this.db.selectFrom('computers').selectAll().where('cert_serial', '=', serial).executeTakeFirst();
    return r ? toComputer(r) : null;
  }

  async listComputers() {
    return (await this.db.selectFrom('computers').selectAll().orderBy('id').execute()).map(toComputer);
  }

  async computerStatusCounts(now: number) {
    const rows = await this.db
      .selectFrom('computers as c')
      .select((eb) => [
        eb('c.state', '=', 'deactivated').as('deactivated'),
        eb('c.vm_state', '=', 'stopped').as('vm_stopped'),
        eb.and([eb('c.offline_deadline', 'is not', null), eb('c.offline_deadline', '<=', now)]).as('offline'),
        // The same test as operations-in-flight.ts, for every computer at once.
        eb
          .exists(
            eb
              .selectFrom('operations as o')
              .select('o.id')
              .whereRef('o.computer_id', '=', 'c.id')
              .where('o.type', '=', 'applyConfiguration')
              .where('o.status', '=', 'sent')
              .whereRef('o.fingerprint', '=', 'c.expected_fingerprint')
              .where((w) =>
                w.or([
                  w('c.applied_fingerprint', 'is', null),
                  w('c.applied_fingerprint', '!=', w.ref('o.fingerprint')),
                ]),
              ),
          )
          .as('updating'),
        eb
          .and([
            eb('c.expected_fingerprint', 'is not', null),
            eb.or([
              eb('c.applied_fingerprint', 'is', null),
              eb('c.applied_fingerprint', '!=', eb.ref('c.expected_fingerprint')),
            ]),
          ])
          .as('pending'),
        eb.fn.countAll<number>().as('n'),
      ])
      .groupBy(['deactivated', 'vm_stopped', 'offline', 'updating', 'pending'])
      .execute();
    return rows.map((r) => ({
      deactivated: Boolean(r.deactivated),
      vmStopped: Boolean(r.vm_stopped),
      offline: Boolean(r.offline),
      updating: Boolean(r.updating),
      pending: Boolean(r.pending),
      count: Number(r.n),
    }));
  }

  async deactivateComputer(id: number, now: number) {
    const r = await this.db
      .updateTable('computers')
      .set({ state: 'deactivated', deactivated_at: now, offline_deadline: null })
      .where('id', '=', id)
      .where('state', '=', 'active')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async recordHeartbeat(hb: HeartbeatWrite): Promise<HeartbeatStored> {
    return this.atomically(async (trx) => {
      let eventsStored = 0;
      if (hb.events.length > 0) {
        const res = await trx
          .insertInto('events')
          .values(
            hb.events.map((e) => ({
              computer_id: hb.computerId,
              seq: e.seq,
              agent_time: e.time,
              received_at: hb.now,
              type: e.type,
              severity: e.severity,
              message: e.message,
              data: e.data === undefined ? null : JSON.stringify(e.data),
            })),
          )
          .onConflict((oc) => oc.columns(['computer_id', 'seq']).doNothing())
          .executeTakeFirst();
        eventsStored = Number(res.numInsertedOrUpdatedRows ?? 0);
      }
      const maxSeq = hb.events.reduce((m, e) => Math.max(m, e.seq), 0);
      const row = await trx
        .updateTable('computers')
        .set((eb) => ({
          last_communication: hb.now,
          offline_deadline: hb.offlineDeadline,
          agent_version: hb.agentVersion,
          platform: hb.platform,
          host_name: hb.hostName,
          last_ip: hb.lastIp,
          clock_offset_ms: hb.clockOffsetMs,
          uptime_seconds: Math.floor(hb.uptimeSeconds),
          drivers: JSON.stringify(hb.drivers),
          counters: JSON.stringify(hb.counters),
          applied_fingerprint: hb.appliedFingerprint,
          ...(hb.expectedFingerprint !== undefined ? { expected_fingerprint: hb.expectedFingerprint } : {}),
          tls_protocol: hb.tlsProtocol,
          tls_cipher_suite: hb.tlsCipherSuite,
          events_acked_through: eb
            .case()
            .when('events_acked_through', '<', maxSeq)
            .then(maxSeq)
            .else(eb.ref('events_acked_through'))
            .end(),
        }))
        .where('id', '=', hb.computerId)
        .where('state', '=', 'active')
        .returning('events_acked_through')
        .executeTakeFirst();
      if (!row) throw new Error(`computer ${hb.computerId} is not active`);
      return { eventsStored, eventsAckedThrough: num(row.events_acked_through) };
    });
  }

  async ensureConfigurationOperation(computerId: number, fingerprint: string, payload: unknown, now: number) {
    return this.atomically(async (trx) => {
      const open = await trx
        .selectFrom('operations')
        .selectAll()
        .where('computer_id', '=', computerId)
        .where('type', '=', 'applyConfiguration')
        .where('status', 'in', ['pending', 'sent'])
        .execute();
      const same = open.find((o) => o.fingerprint === fingerprint);
      const stale = open.filter((o) => o !== same).map((o) => num(o.id));
      if (stale.length > 0) {
        await trx
          .updateTable('operations')
          .set({ status: 'superseded', completed_at: now })
          .where('id', 'in', stale)
          .execute();
      }
      if (same) return toOperation(same);
      const row = await trx
        .insertInto('operations')
        .values({
          computer_id: computerId,
          type: 'applyConfiguration',
          fingerprint,
          payload: JSON.stringify(payload),
          status: 'pending',
          created_at: now,
          sent_at: null,
          completed_at: null,
          reason: null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toOperation(row);
    });
  }

  async markOperationsSent(ids: number[], now: number) {
    if (ids.length === 0) return;
    await this.db
      .updateTable('operations')
      .set({ status: 'sent', sent_at: now })
      .where('id', 'in', ids)
      .where('status', 'in', ['pending', 'sent'])
      .execute();
  }

  async completeOperation(r: {
    computerId: number;
    id: number;
    status: 'succeeded' | 'failed';
    reason: string | null;
    fingerprint: string | null;
    now: number;
  }) {
    return this.atomically(async (trx) => {
      const res = await trx
        .updateTable('operations')
        .set({ status: r.status, reason: r.reason, completed_at: r.now })
        .where('id', '=', r.id)
        .where('computer_id', '=', r.computerId)
        .where('status', 'in', ['pending', 'sent'])
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      if (r.status === 'succeeded' && r.fingerprint) {
        await trx
          .updateTable('computers')
          .set({ applied_fingerprint: r.fingerprint })
          .where('id', '=', r.computerId)
          .execute();
      }
      return true;
    });
  }

  async getOperation(id: number) {
    const r = await this.db.selectFrom('operations').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toOperation(r) : null;
  }

  async listEvents(computerId: number): Promise<EventRecord[]> {
    const rows = await this.db
      .selectFrom('events')
      .selectAll()
      .where('computer_id', '=', computerId)
      .orderBy('seq')
      .execute();
    return rows.map((r) => ({
      id: num(r.id),
      computerId: num(r.computer_id),
      seq: num(r.seq),
      agentTime: num(r.agent_time),
      receivedAt: num(r.received_at),
      type: r.type,
      severity: r.severity,
      message: r.message,
      data: r.data === null ? null : JSON.parse(r.data),
    }));
  }
}
