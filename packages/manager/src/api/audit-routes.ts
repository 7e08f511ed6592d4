import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { PolicyService } from '../services/policy-service.js';
import { type ApiKeyRecord, AUDIT_TARGET_TYPES, type AuditEventRecord } from '../store/store.js';
import { Nullable } from './schemas.js';

const AuditQuery = Type.Object(
  {
    limit: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,15}$',
        description: 'at most this many events, 1–1000 (default 100); more is refused',
      }),
    ),
    beforeID: Type.Optional(
      Type.String({
        pattern: '^[1-9][0-9]{0,15}$',
        description: 'only events older than this one (page back with the last ID of the previous page)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const AuditEventView = Type.Object({
  ID: Type.Integer(),
  time: Type.Number({ description: 'epoch ms' }),
  actor: Type.Object(
    {
      type: Type.String({
        description:
          "apiKey, user (a console user), cli (the manager command line), agent (the computer's own agent: reset, uninstall, reactivation; ID is the computer), anonymous (a failed sign-in)",
      }),
      ID: Nullable(Type.Integer()),
      name: Nullable(Type.String({ description: 'the API key or console user name' })),
    },
    { description: 'who made the change' },
  ),
  action: Type.String({
    description:
      'policy.create, policy.rename, policy.describe, policy.move, policy.delete, policy.setting, policy.firewall, computer.policy, computer.setting, computer.deactivate, computer.delete, computer.reactivate, computer.upgradeagent, ' +
      'computer.firewall, computer.checkstatus, computer.sendpolicy, computer.vmstate, firewallRule.create, firewallRule.modify, firewallRule.delete, system.setting, ' +
      'user.signin, user.signin.failed, user.signout, user.create, user.password, user.password.failed, user.disable, user.enable',
  }),
  targetType: Type.Union(AUDIT_TARGET_TYPES.map((t) => Type.Literal(t))),
  targetID: Nullable(Type.Integer({ description: "null for system (the manager's own settings, named by setting)" })),
  setting: Nullable(Type.String({ description: 'the setting or property changed; null when the whole object was' })),
  oldValue: Nullable(Type.String({ description: 'null: Inherited, or did not exist' })),
  newValue: Nullable(Type.String({ description: 'null: Inherited, or no longer exists' })),
});
export const AuditList = Type.Object({ auditEvents: Type.Array(AuditEventView) });

/** Most audit events one page holds. */
export const MAX_AUDIT_LIMIT = 1000;

function auditEventView(
  e: AuditEventRecord,
  keys: ReadonlyMap<number, ApiKeyRecord>,
  users: ReadonlyMap<number, string>,
) {
  const m = /^([a-z]+):([0-9]+)$/.exec(e.actor);
  const id = m ? Number(m[2]) : null;
  const type = m?.[1] === 'apikey' ? 'apiKey' : (m?.[1] ?? e.actor);
  return {
    ID: e.id,
    time: e.time,
    actor: {
      type,
      ID: id,
      name:
        id === null
          ? null
          : type === 'apiKey'
            ? (keys.get(id)?.name ?? null)
            : type === 'user'
              ? (users.get(id) ?? null)
              : null,
    },
    action: e.action,
    targetType: e.targetType,
    targetID: e.targetId,
    setting: e.setting,
    oldValue: e.oldValue,
    newValue: e.newValue,
  };
}

/** The audit log of policy, setting, computer, firewall rule and system setting changes (`GET /api/auditevents`). */
export function auditRoutes(
  app: FastifyInstance,
  policies: PolicyService,
  userNames: () => Promise<ReadonlyMap<number, string>> = async () => new Map(),
): void {
  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/api/auditevents',
    {
      schema: {
        summary: 'List audit events, newest first',
        description:
          'Who changed what on policies, settings, computers (actions and VM state included), firewall rules and system settings, with the old and new value.',
        tags: ['Audit'],
        querystring: AuditQuery,
        response: { 200: AuditList },
      },
    },
    async (req) => {
      const limit = Number(req.query.limit ?? 100);
      // Refused, not quietly capped: a client asking for 5,000 must not believe it got them all.
      if (limit > MAX_AUDIT_LIMIT)
        throw new PalisadeError(
          'VALIDATION_FAILED',
          `querystring.limit ${limit} is above the maximum, ${MAX_AUDIT_LIMIT}`,
        );
      const page = await policies.auditEvents({
        limit,
        ...(req.query.beforeID ? { beforeId: Number(req.query.beforeID) } : {}),
      });
      const users = await userNames();
      return { auditEvents: page.events.map((e) => auditEventView(e, page.apiKeys, users)) };
    },
  );
}
