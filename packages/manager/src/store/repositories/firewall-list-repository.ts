import { FIREWALL_LIST_KINDS, type FirewallListContents, type FirewallListKind, listContentsKey } from '@palisade/core';
import type { Selectable } from 'kysely';
import { num } from '../column-values.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

/** An IP, MAC or port list as stored. */
export interface FirewallListRecord {
  readonly id: number;
  readonly kind: FirewallListKind;
  readonly name: string;
  /** Empty when not given. */
  readonly description: string;
  /** Entries as the operator wrote them (comments included); validated when saved. */
  readonly items: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** What a list is written as (create and update). */
export interface FirewallListWrite {
  readonly name: string;
  readonly description: string;
  readonly items: readonly string[];
}

function toList(r: Selectable<Database['firewall_lists']>): FirewallListRecord {
  const kind = FIREWALL_LIST_KINDS.find((k) => k === r.kind);
  if (!kind) throw new Error(`stored firewall list ${num(r.id)} has an unknown kind "${r.kind}"`);
  return {
    id: num(r.id),
    kind,
    name: r.name,
    description: r.description,
    items: JSON.parse(r.items) as string[],
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

/**
 * IP, MAC and port lists. Their items are part of the configuration of every computer whose rules
 * name them, which the policy-tree snapshot carries, so every change bumps the policy-tree version
 * in its transaction (as rule changes do): every node sees the new items at its next read.
 */
export class FirewallListRepository extends Repository {
  async list(kind: FirewallListKind): Promise<FirewallListRecord[]> {
    return (
      await this.db.selectFrom('firewall_lists').selectAll().where('kind', '=', kind).orderBy('id').execute()
    ).map(toList);
  }

  async get(kind: FirewallListKind, id: number): Promise<FirewallListRecord | null> {
    const r = await this.db
      .selectFrom('firewall_lists')
      .selectAll()
      .where('kind', '=', kind)
      .where('id', '=', id)
      .executeTakeFirst();
    return r ? toList(r) : null;
  }

  async findIdByName(kind: FirewallListKind, name: string): Promise<number | null> {
    const r = await this.db
      .selectFrom('firewall_lists')
      .select('id')
      .where('kind', '=', kind)
      .where('name', '=', name)
      .executeTakeFirst();
    return r ? num(r.id) : null;
  }

  /** The caller checked the name is free. */
  create(kind: FirewallListKind, w: FirewallListWrite, now: number): Promise<FirewallListRecord> {
    return this.session.atomically(async (db) => {
      const r = await db
        .insertInto('firewall_lists')
        .values({
          kind,
          name: w.name,
          description: w.description,
          items: JSON.stringify(w.items),
          created_at: now,
          updated_at: now,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      await this.session.bumpPolicyTree(db);
      return toList(r);
    });
  }

  update(id: number, w: FirewallListWrite, now: number): Promise<void> {
    return this.session.atomically(async (db) => {
      await db
        .updateTable('firewall_lists')
        .set({ name: w.name, description: w.description, items: JSON.stringify(w.items), updated_at: now })
        .where('id', '=', id)
        .execute();
      await this.session.bumpPolicyTree(db);
    });
  }

  delete(id: number): Promise<boolean> {
    return this.session.atomically(async (db) => {
      const r = await db.deleteFrom('firewall_lists').where('id', '=', id).executeTakeFirst();
      await this.session.bumpPolicyTree(db);
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** Every list's items by kind and ID: what configurations draw the lists their rules name from. */
  async contents(): Promise<FirewallListContents> {
    const rows = await this.db.selectFrom('firewall_lists').select(['id', 'kind', 'items']).execute();
    const out: Record<keyof FirewallListContents, Record<string, readonly string[]>> = {
      ipLists: {},
      macLists: {},
      portLists: {},
    };
    for (const r of rows) {
      const kind = FIREWALL_LIST_KINDS.find((k) => k === r.kind);
      if (kind) out[listContentsKey(kind)][String(num(r.id))] = JSON.parse(r.items) as string[];
    }
    return out;
  }
}
