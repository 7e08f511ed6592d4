import type { Logger } from 'pino';
import { PalisadeError } from '../errors.js';
import type { AlertChange, ManagerNodeRecord, Store } from '../store/store.js';

export interface ManagerNodeOptions {
  store: Store;
  logger: Logger;
  /** Unique among the nodes of one database (`--node-name`). */
  name: string;
  hostnames: readonly string[];
  /** What agents are told to dial (`--agent-address`), in order. */
  agentAddresses: readonly string[];
  version: string;
  /** How often the node says it is alive and looks for silent ones; default 10 s. */
  beatMs?: number | undefined;
  /** Silent this long: offline; default three beats. */
  offlineAfterMs?: number | undefined;
  now?: () => number;
  /** Called with the alerts a beat or sweep raised or cleared (to wake the notifiers). */
  onChanges?: (changes: AlertChange[]) => void;
}

/** Manager node timing. Defaults suit production; tests shorten them. */
export interface ManagerNodeTiming {
  beatMs?: number;
  offlineAfterMs?: number;
}

const ALERT = 'manager-offline' as const;

/**
 * This node's membership of the nodes sharing the database (docs/scale-out.md): it registers
 * at start, then every beat refreshes its `last_seen` and marks offline the nodes silent for
 * longer than `offlineAfterMs`, raising one "Manager Offline" alert per transition whichever
 * node sweeps (the transition is a conditional update; the alert is written in its
 * transaction). A node that comes back clears its own alert at its first beat.
 */
export class ManagerNodeRegistry {
  private timer: NodeJS.Timeout | undefined;
  private cycling: Promise<void> | null = null;
  private closed = false;
  private readonly now: () => number;
  private readonly beatMs: number;
  private readonly offlineAfterMs: number;

  private constructor(
    private readonly o: ManagerNodeOptions,
    /** This node as registered. */
    readonly node: ManagerNodeRecord,
  ) {
    this.now = o.now ?? Date.now;
    this.beatMs = o.beatMs ?? 10_000;
    this.offlineAfterMs = o.offlineAfterMs ?? 3 * this.beatMs;
  }

  static async start(o: ManagerNodeOptions): Promise<ManagerNodeRegistry> {
    const now = (o.now ?? Date.now)();
    const { node, addressesChanged } = await o.store.transaction(async (tx) => {
      const r = await tx.managerNodes.register({
        name: o.name,
        hostnames: o.hostnames,
        agentAddresses: o.agentAddresses,
        version: o.version,
        now,
      });
      const cleared = await tx.alerts.clearOpenOf(ALERT, o.name, now);
      if (cleared.length > 0) o.onChanges?.(cleared);
      return r;
    });
    if (addressesChanged)
      o.logger.info(
        { agentAddresses: o.agentAddresses },
        'manager node addresses changed: agents get the new list with their next configuration',
      );
    const registry = new ManagerNodeRegistry(o, node);
    registry.schedule();
    return registry;
  }

  private schedule(): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.cycling = this.cycle().finally(() => {
        this.cycling = null;
        this.schedule();
      });
    }, this.beatMs);
  }

  private async cycle(): Promise<void> {
    try {
      await this.beat();
      await this.sweepNow();
    } catch (e) {
      if (!this.closed) this.o.logger.error({ err: e }, 'manager node beat failed; retrying');
    }
  }

  /** Refreshes this node's `last_seen` (re-registering if its row was deleted). */
  async beat(): Promise<void> {
    const now = this.now();
    const changes = await this.o.store.transaction(async (tx) => {
      const r = await tx.managerNodes.beat(this.o.name, now);
      if (r === null) {
        await tx.managerNodes.register({
          name: this.o.name,
          hostnames: this.o.hostnames,
          agentAddresses: this.o.agentAddresses,
          version: this.o.version,
          now,
        });
        return [];
      }
      return r.wasOffline ? tx.alerts.clearOpenOf(ALERT, this.o.name, now) : [];
    });
    if (changes.length > 0) {
      this.o.logger.info({ node: this.o.name }, 'manager node online again');
      this.o.onChanges?.(changes);
    }
  }

  /** Marks silent nodes offline, each with its alert; returns the nodes this sweep marked. */
  async sweepNow(): Promise<ManagerNodeRecord[]> {
    const now = this.now();
    const { nodes, changes } = await this.o.store.transaction(async (tx) => {
      const nodes = await tx.managerNodes.markOfflineDue(now - this.offlineAfterMs, now);
      const changes = await tx.alerts.raise(
        nodes.map((n) => ({
          type: ALERT,
          computerId: null,
          subject: n.name,
          message: `manager node ${n.name} is offline: not seen since ${new Date(n.lastSeen).toISOString()}`,
          data: { managerNodeID: n.id, lastSeen: n.lastSeen },
        })),
        now,
      );
      return { nodes, changes };
    });
    if (nodes.length > 0) {
      this.o.logger.warn({ nodes: nodes.map((n) => n.name) }, 'manager nodes offline: silent past the limit');
      this.o.onChanges?.(changes);
    }
    return nodes;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.cycling;
  }
}

/**
 * Removes a manager node that is gone for good (`DELETE /api/managernodes/{id}`): only an offline
 * one (`MANAGER_NODE_ONLINE` otherwise: a running node would register again at its next beat),
 * in one transaction with its audit row and the clearing of its Manager Offline alert. Its
 * agent addresses leave the list agents get with their next configuration. Returns the alert
 * changes (to wake the notifiers).
 */
export async function removeManagerNode(store: Store, id: number, actor: string, now: number): Promise<AlertChange[]> {
  return store.transaction(async (tx) => {
    const gone = await tx.managerNodes.deleteOffline(id);
    if (gone === null) throw new PalisadeError('MANAGER_NODE_NOT_FOUND', `ID ${id}`);
    if (gone === 'online')
      throw new PalisadeError('MANAGER_NODE_ONLINE', `ID ${id} beat within the offline limit; stop it first`);
    await tx.audit.insert([
      {
        time: now,
        actor,
        action: 'managerNode.delete',
        targetType: 'managerNode',
        targetId: id,
        setting: null,
        oldValue: JSON.stringify({ name: gone.name, hostnames: gone.hostnames, agentAddresses: gone.agentAddresses }),
        newValue: null,
      },
    ]);
    return tx.alerts.clearOpenOf(ALERT, gone.name, now);
  });
}
