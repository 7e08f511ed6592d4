import type { Kysely, Selectable } from 'kysely';
import { num, numOrNull } from '../column-values.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

/** One manager node, as it registered itself. */
export interface ManagerNodeRecord {
  id: number;
  name: string;
  /** Names the node's server certificate carries. */
  hostnames: string[];
  /** `dsm://HOST:PORT/` URLs agents are given to reach the fleet through this node (or the balancer in front of it). */
  agentAddresses: string[];
  version: string;
  startedAt: number;
  lastSeen: number;
  /** When another node found it silent; null while it answers. */
  offlineSince: number | null;
}

export interface NodeRegistration {
  name: string;
  hostnames: readonly string[];
  agentAddresses: readonly string[];
  version: string;
  now: number;
}

function toNode(r: Selectable<Database['manager_nodes']>): ManagerNodeRecord {
  return {
    id: num(r.id),
    name: r.name,
    hostnames: JSON.parse(r.hostnames),
    agentAddresses: JSON.parse(r.agent_addresses),
    version: r.version,
    startedAt: num(r.started_at),
    lastSeen: num(r.last_seen),
    offlineSince: numOrNull(r.offline_since),
  };
}

/**
 * The manager nodes sharing this database. The agent address list every computer's
 * configuration carries is read from here with the policy tree, so a change to it bumps the
 * policy-tree version: every node serves the new list at the next heartbeat.
 */
export class ManagerNodeRepository extends Repository {
  /**
   * Registers a node starting (or starting again under its name): online, seen now. Returns
   * it, and whether the fleet's agent address list changed.
   */
  register(n: NodeRegistration): Promise<{ node: ManagerNodeRecord; addressesChanged: boolean }> {
    return this.session.atomically(async (db) => {
      const before = await this.addressesOn(db);
      const values = {
        hostnames: JSON.stringify(n.hostnames),
        agent_addresses: JSON.stringify(n.agentAddresses),
        version: n.version,
        started_at: n.now,
        last_seen: n.now,
        offline_since: null,
      };
      const row = await db
        .insertInto('manager_nodes')
        .values({ name: n.name, ...values })
        .onConflict((oc) => oc.column('name').doUpdateSet(values))
        .returningAll()
        .executeTakeFirstOrThrow();
      const after = await this.addressesOn(db);
      const addressesChanged = JSON.stringify(before) !== JSON.stringify(after);
      if (addressesChanged) await this.session.bumpPolicyTree(db);
      return { node: toNode(row), addressesChanged };
    });
  }

  /**
   * The node says it is alive. Returns whether it had been marked offline (its alert is then
   * cleared), or null when its row is gone (deleted while it ran: it registers again).
   */
  async beat(name: string, now: number): Promise<{ wasOffline: boolean } | null> {
    return this.session.atomically(async (db) => {
      const prev = await db
        .selectFrom('manager_nodes')
        .select('offline_since')
        .where('name', '=', name)
        .executeTakeFirst();
      if (!prev) return null;
      await db
        .updateTable('manager_nodes')
        .set({ last_seen: now, offline_since: null })
        .where('name', '=', name)
        .execute();
      return { wasOffline: prev.offline_since !== null };
    });
  }

  /**
   * Marks offline the nodes not seen since `staleBefore` and not offline already, and returns
   * them: one conditional `UPDATE … RETURNING`, so of several nodes sweeping at once only one
   * gets each transition back (the others' condition no longer holds).
   */
  async markOfflineDue(staleBefore: number, now: number): Promise<ManagerNodeRecord[]> {
    const rows = await this.db
      .updateTable('manager_nodes')
      .set({ offline_since: now })
      .where('last_seen', '<', staleBefore)
      .where('offline_since', 'is', null)
      .returningAll()
      .execute();
    return rows.map(toNode);
  }

  /** Every node, by ID. */
  async list(): Promise<ManagerNodeRecord[]> {
    return (await this.db.selectFrom('manager_nodes').selectAll().orderBy('id').execute()).map(toNode);
  }

  async get(id: number): Promise<ManagerNodeRecord | null> {
    const r = await this.db.selectFrom('manager_nodes').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toNode(r) : null;
  }

  /**
   * Forgets a node that is gone for good (decommissioned); its addresses leave the agents' list.
   * Only an offline node: the delete is conditional on `offline_since`, so a node that came back
   * meanwhile stays. Returns the node removed, 'online' when it answers, null when unknown.
   */
  deleteOffline(id: number): Promise<ManagerNodeRecord | 'online' | null> {
    return this.session.atomically(async (db) => {
      const before = await this.addressesOn(db);
      const row = await db
        .deleteFrom('manager_nodes')
        .where('id', '=', id)
        .where('offline_since', 'is not', null)
        .returningAll()
        .executeTakeFirst();
      if (!row) {
        const still = await db.selectFrom('manager_nodes').select('id').where('id', '=', id).executeTakeFirst();
        return still ? 'online' : null;
      }
      if (JSON.stringify(before) !== JSON.stringify(await this.addressesOn(db))) await this.session.bumpPolicyTree(db);
      return toNode(row);
    });
  }

  /** The agent address list: every node's addresses, oldest node first, each once. */
  agentAddresses(): Promise<string[]> {
    return this.addressesOn(this.db);
  }

  private async addressesOn(db: Kysely<Database>): Promise<string[]> {
    const rows = await db.selectFrom('manager_nodes').select('agent_addresses').orderBy('id').execute();
    return [...new Set(rows.flatMap((r) => JSON.parse(r.agent_addresses) as string[]))];
  }
}
