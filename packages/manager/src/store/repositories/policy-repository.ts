import type { SettingOverrides } from '@palisade/core';
import type { Selectable } from 'kysely';
import { num, numOrNull, overridesByOwner } from '../column-values.js';
import { HandSql } from '../hand-sql.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

export const BASE_POLICY_NAME = 'Base Policy';

/** A policy row. `parentId` is null only for the Base Policy. */
export interface PolicyRecord {
  id: number;
  parentId: number | null;
  name: string;
  description: string;
  createdAt: number;
  updatedAt: number;
}

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

/**
 * Policies and their setting overrides. Every write bumps the policy-tree version in the same
 * transaction (see {@link treeVersion}), so a node caching the tree sees the change at its next
 * read; a write outside a transaction gets one of its own for that.
 */
/** Read by every heartbeat (the configuration cache's key), so written by hand (hand-sql.ts). */
const TREE_VERSION = new HandSql(`select "version" from "versions" where "name" = 'policyTree'`, false);

export class PolicyRepository extends Repository {
  /**
   * Serializes changes to the policy tree, policy/computer settings, computer policies and
   * firewall assignments: the first statement of such a transaction, so that two concurrent
   * changes (a move of A under B and of B under A, on two nodes) cannot both pass their checks.
   * It takes the row lock of the policy-tree version (a no-op update, no bump), which also makes
   * SQLite take its write lock up front rather than failing to upgrade a read transaction
   * later. Throws outside a transaction.
   */
  async lockTree(): Promise<void> {
    this.session.requireTransaction('lockTree()');
    await this.db
      .updateTable('versions')
      .set((eb) => ({ version: eb.ref('version') }))
      .where('name', '=', 'policyTree')
      .execute();
  }

  /**
   * The policy-tree version: it grows with every committed change to policies, their settings,
   * their firewall assignments or firewall rules (all bump it in the change's transaction).
   * Null inside a transaction that changed the tree itself: what it reads is not committed yet,
   * so it must not be cached under any version.
   */
  async treeVersion(): Promise<number | null> {
    if (this.session.policyTreeChanged) return null;
    const [r] = (await this.session.run<{ version: number | string }>(TREE_VERSION, [])).rows;
    if (!r) throw new Error('the policy-tree version row is missing');
    return num(r.version);
  }

  /** Creates the Base Policy if absent and returns it. */
  async ensureBase(now: number): Promise<PolicyRecord> {
    const existing = await this.db
      .selectFrom('policies')
      .selectAll()
      .where('parent_id', 'is', null)
      .orderBy('id')
      .executeTakeFirst();
    if (existing) return toPolicy(existing);
    return this.session.atomically(async (db) => {
      const inserted = await db
        .insertInto('policies')
        .values({
          parent_id: null,
          name: BASE_POLICY_NAME,
          description: 'The root of the policy tree: every setting has a value here.',
          created_at: now,
          updated_at: now,
        })
        .onConflict((oc) => oc.column('name').doNothing())
        .executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0) await this.session.bumpPolicyTree(db);
      return toPolicy(
        await db.selectFrom('policies').selectAll().where('name', '=', BASE_POLICY_NAME).executeTakeFirstOrThrow(),
      );
    });
  }

  async get(id: number): Promise<PolicyRecord | null> {
    const r = await this.db.selectFrom('policies').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toPolicy(r) : null;
  }

  async findByName(name: string): Promise<PolicyRecord | null> {
    const r = await this.db.selectFrom('policies').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toPolicy(r) : null;
  }

  /** Every policy, by ID. */
  async list(): Promise<PolicyRecord[]> {
    return (await this.db.selectFrom('policies').selectAll().orderBy('id').execute()).map(toPolicy);
  }

  /** Overrides stored on each policy (the Base Policy's are its values), keyed by policy id; policies without any are absent. */
  async overrides(): Promise<Map<number, SettingOverrides>> {
    return overridesByOwner(await this.db.selectFrom('policy_settings').selectAll().execute(), (r) => r.policy_id);
  }

  /** Inserts a policy; the caller has checked the parent exists and the name is free. */
  create(p: { parentId: number; name: string; description: string; now: number }): Promise<PolicyRecord> {
    return this.session.atomically(async (db) => {
      const r = await db
        .insertInto('policies')
        .values({
          parent_id: p.parentId,
          name: p.name,
          description: p.description,
          created_at: p.now,
          updated_at: p.now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.session.bumpPolicyTree(db);
      return toPolicy(r);
    });
  }

  /** Changes the given properties (absent ones stay); null if no such policy. */
  update(
    id: number,
    patch: { parentId?: number; name?: string; description?: string },
    now: number,
  ): Promise<PolicyRecord | null> {
    return this.session.atomically(async (db) => {
      const r = await db
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
      if (r) await this.session.bumpPolicyTree(db);
      return r ? toPolicy(r) : null;
    });
  }

  /**
   * Deletes a policy, its setting overrides and the activation tokens that would enrol into it
   * (they could only fail once it is gone). The caller has checked it has no children and no
   * computers. Returns whether it existed and how many tokens went with it.
   */
  delete(id: number): Promise<{ deleted: boolean; activationTokensDeleted: number }> {
    return this.session.atomically(async (db) => {
      const tokens = await db.deleteFrom('activation_tokens').where('policy_id', '=', id).executeTakeFirst();
      // Explicit rather than relying on ON DELETE CASCADE, which SQLite honours only with foreign_keys on.
      await db.deleteFrom('policy_settings').where('policy_id', '=', id).execute();
      const r = await db.deleteFrom('policies').where('id', '=', id).executeTakeFirst();
      const deleted = Number(r.numDeletedRows) === 1;
      if (deleted) await this.session.bumpPolicyTree(db);
      return { deleted, activationTokensDeleted: Number(tokens.numDeletedRows) };
    });
  }

  /** Stores an override, or with `value` null removes it (Inherited again). */
  setSetting(policyId: number, name: string, value: string | null): Promise<void> {
    return this.session.atomically(async (db) => {
      if (value === null) {
        await db.deleteFrom('policy_settings').where('policy_id', '=', policyId).where('name', '=', name).execute();
      } else {
        await db
          .insertInto('policy_settings')
          .values({ policy_id: policyId, name, value })
          .onConflict((oc) => oc.columns(['policy_id', 'name']).doUpdateSet({ value }))
          .execute();
      }
      await this.session.bumpPolicyTree(db);
    });
  }
}
