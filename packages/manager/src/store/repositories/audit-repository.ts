import type { Selectable } from 'kysely';
import { chunks } from '../chunks.js';
import { num } from '../column-values.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

/** What an audit row records. Policy and computer setting rows carry the setting name. */
export type AuditAction =
  | 'policy.create'
  | 'policy.rename'
  | 'policy.describe'
  | 'policy.move'
  | 'policy.delete'
  | 'policy.setting'
  | 'computer.policy'
  | 'computer.setting'
  /** Deactivated by the API or the CLI (`apikey:…`), or by the agent itself (`agent:<computer ID>`: reset, uninstall). */
  | 'computer.deactivate'
  /** A deactivated computer removed (`oldValue` its host name). */
  | 'computer.delete'
  /** A known host activated again (`agent:<computer ID>`; `newValue` how: token, unknown certificate). */
  | 'computer.reactivate'
  /** An agent upgrade requested (`newValue` the version). */
  | 'computer.upgradeagent'
  /** Firewall rule assignments (`setting` is `firewall.ruleIDs`, values JSON lists of rule IDs). */
  | 'policy.firewall'
  | 'computer.firewall'
  /** Firewall rules themselves (values: the rule as JSON; null before create, after delete). */
  | 'firewallRule.create'
  | 'firewallRule.modify'
  | 'firewallRule.delete'
  /** IP, MAC and port lists (`setting` the kind: ip, mac, port; values name, description, items as JSON). */
  | 'firewallList.create'
  | 'firewallList.modify'
  | 'firewallList.delete'
  /** A manager system setting (`setting` names it, e.g. the agent TLS policy). */
  | 'system.setting'
  /** Computer actions as requested (Check Status: `newValue` how it is delivered; Send Policy: fingerprints). */
  | 'computer.checkstatus'
  | 'computer.sendpolicy'
  /** An agent upgrade requested (`setting` `agentVersion`: the version it ran → the one asked for). */
  | 'computer.upgradeagent'
  /** VM power state reported through the vmstate API (`setting` `vmState`). */
  | 'computer.vmstate'
  /** Console users (targetType `user`): sign-in and its failures (`newValue` the reason), sign-out, and changes by the CLI, the API or the user. */
  | 'user.signin'
  | 'user.signin.failed'
  | 'user.signout'
  | 'user.create'
  | 'user.password'
  /** A wrong current password given to change one's own (`newValue` the reason, and the lock when it locked). */
  | 'user.password.failed'
  | 'user.disable'
  | 'user.enable'
  /** A new name (`oldValue`, `newValue`: the names). */
  | 'user.rename'
  /** Another role (`oldValue`, `newValue`: `full-access`, `read-only`). */
  | 'user.role'
  /** Removed, with its sessions (`oldValue`: its name, which the audit log no longer finds by ID). */
  | 'user.delete'
  /** Activation tokens made (`newValue`: policy, uses, expiry, what for; never the secret) and revoked. */
  | 'activationToken.create'
  | 'activationToken.revoke'
  /** API keys (`/api/apikeys`): values `keyName`, `description`, `roleID`, `active` as JSON; never a secret. */
  | 'apiKey.create'
  | 'apiKey.modify'
  | 'apiKey.revoke'
  /** A new secret for a key (the secret is not recorded). */
  | 'apiKey.secretkey'
  /** An offline manager node removed (`oldValue` the node as JSON: name, hostnames, agent addresses). */
  | 'managerNode.delete';

/** What an audit row is about. The column is free text (no CHECK): new types need no migration. */
export const AUDIT_TARGET_TYPES = [
  'policy',
  'computer',
  'firewallRule',
  'firewallList',
  'system',
  'user',
  'activationToken',
  'apiKey',
  'managerNode',
] as const;
export type AuditTargetType = (typeof AUDIT_TARGET_TYPES)[number];

/**
 * One audited change. `actor` names who made it as `<kind>:<id>` (`apikey:<id>`, `user:<id>` for a
 * console user, `cli` for the manager command line, `anonymous` for a failed sign-in);
 * `setting` is the setting or property changed, null when the change is the whole object
 * (created, deleted, deactivated). Values are as stored: null means Inherited or absent.
 */
export interface AuditEventRecord {
  id: number;
  time: number;
  actor: string;
  action: AuditAction;
  targetType: AuditTargetType;
  /** The target's ID; null for `system` (the manager's own settings, named by `setting`). */
  targetId: number | null;
  setting: string | null;
  oldValue: string | null;
  newValue: string | null;
}

export type NewAuditEvent = Omit<AuditEventRecord, 'id'>;

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

/** The audit log: written in the transaction of the change it records, never changed after. */
export class AuditRepository extends Repository {
  async insert(events: readonly NewAuditEvent[]): Promise<void> {
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

  /** Newest first; `beforeId` pages back (only rows with a smaller ID). */
  async list(q: { limit: number; beforeId?: number }): Promise<AuditEventRecord[]> {
    let query = this.db.selectFrom('audit_events').selectAll();
    if (q.beforeId !== undefined) query = query.where('id', '<', q.beforeId);
    return (await query.orderBy('id', 'desc').limit(q.limit).execute()).map(toAuditEvent);
  }
}
