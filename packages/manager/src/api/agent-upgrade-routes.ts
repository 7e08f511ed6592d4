import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { AgentUpgradeService, UpgradeRequested } from '../services/agent-upgrades.js';
import type { AgentUpgradeRecord } from '../store/repositories/computer-repository.js';
import { actorOf } from './auth-actor.js';
import { IdParams, Nullable } from './schemas.js';

const UpgradeBody = Nullable(
  Type.Object(
    {
      version: Type.Optional(
        Type.String({
          pattern: '^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$',
          description: 'the version to install; default the newest package the manager holds for the platform',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);

export const AgentUpgradeView = Type.Object(
  {
    ID: Type.Integer(),
    computerID: Type.Integer(),
    fromVersion: Type.String(),
    toVersion: Type.String(),
    status: Type.String({
      enum: ['pending', 'sent', 'succeeded', 'failed', 'rolled-back', 'superseded'],
      description:
        'pending: waits for the next heartbeat; sent: the agent has it; succeeded: the new version heartbeats; failed: not installed (the reason says why); rolled-back: installed but did not heartbeat in time, the old version runs again; superseded: a newer request replaced it',
    }),
    reason: Nullable(Type.String()),
    requestedBy: Type.String(),
    created: Type.Number({ description: 'epoch ms' }),
    sent: Nullable(Type.Number({ description: 'epoch ms the agent was told' })),
    completed: Nullable(Type.Number({ description: 'epoch ms the outcome was recorded' })),
  },
  { additionalProperties: false },
);

const Requested = Type.Object({
  computerID: Type.Integer(),
  status: Type.String({
    enum: ['queued', 'current'],
    description: 'queued: goes with its next heartbeat; current: it runs that version already',
  }),
  version: Type.String(),
  agentUpgrade: Nullable(AgentUpgradeView),
});

export const ComputerUpgradeResult = Type.Intersect([
  Type.Object({ action: Type.Literal('upgradeagent'), message: Type.String() }),
  Requested,
]);
export const PolicyUpgradeResult = Type.Object({
  action: Type.Literal('upgradeagent'),
  policyID: Type.Integer(),
  computers: Type.Array(Requested),
});
export const AgentUpgradeList = Type.Object({ agentUpgrades: Type.Array(AgentUpgradeView) });

const upgradeView = (u: AgentUpgradeRecord): Static<typeof AgentUpgradeView> => ({
  ID: u.id,
  computerID: u.computerId,
  fromVersion: u.fromVersion,
  toVersion: u.toVersion,
  status: u.status,
  reason: u.reason,
  requestedBy: u.requestedBy,
  created: u.createdAt,
  sent: u.sentAt,
  completed: u.completedAt,
});

const requestedView = (r: UpgradeRequested): Static<typeof Requested> => ({
  computerID: r.computer.id,
  status: r.status,
  version: r.version,
  agentUpgrade: r.upgrade ? upgradeView(r.upgrade) : null,
});

/**
 * The upgradeAgent action (docs/deployment.md "Upgrades"), beside Check Status and Send Policy:
 * for one computer, for every computer of a policy, and each computer's upgrades and outcomes.
 */
export function agentUpgradeRoutes(app: FastifyInstance, upgrades: AgentUpgradeService): void {
  const doc = (summary: string, description: string, tags: string[]) => ({ summary, description, tags });
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof UpgradeBody> }>(
    '/api/computers/:id/actions/upgradeagent',
    {
      schema: {
        ...doc(
          'Upgrade Agent: install a newer agent version',
          'The agent gets the order with its next contact (its heartbeat, or the manager\'s call to a listening agent), downloads the package from the manager, checks its SHA-256, installs it beside the running version, switches and restarts; if the new version does not report in time it rolls back. An order not acted on is sent again at each contact and fails after its life (120 s + 300 s + three heartbeat intervals). GET …/agentupgrades shows the outcome. 202; status "current" (and no upgrade) when it runs that version already.',
          ['Computers'],
        ),
        params: IdParams,
        body: UpgradeBody,
        response: { 202: ComputerUpgradeResult },
      },
    },
    async (req, reply) => {
      const r = await upgrades.forComputer(Number(req.params.id), req.body?.version, actorOf(req));
      return reply.status(202).send({
        action: 'upgradeagent',
        message:
          r.status === 'current'
            ? `The agent runs version ${r.version} already: nothing to do.`
            : `Queued: the agent installs version ${r.version} after its next contact with the manager; the outcome shows in GET /api/computers/${r.computer.id}/agentupgrades.`,
        ...requestedView(r),
      });
    },
  );
  app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof UpgradeBody> }>(
    '/api/policies/:id/actions/upgradeagent',
    {
      schema: {
        ...doc(
          "Upgrade Agent on a policy's computers",
          'As the computer action, for every active computer the policy is assigned to directly (not those of child policies).',
          ['Policies'],
        ),
        params: IdParams,
        body: UpgradeBody,
        response: { 202: PolicyUpgradeResult },
      },
    },
    async (req, reply) => {
      const id = Number(req.params.id);
      const list = await upgrades.forPolicy(id, req.body?.version, actorOf(req));
      return reply.status(202).send({ action: 'upgradeagent', policyID: id, computers: list.map(requestedView) });
    },
  );
  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/computers/:id/agentupgrades',
    {
      schema: {
        ...doc("A computer's agent upgrades", 'Newest first (the last 20), with their outcome.', ['Computers']),
        params: IdParams,
        response: { 200: AgentUpgradeList },
      },
    },
    async (req) => ({ agentUpgrades: (await upgrades.history(Number(req.params.id))).map(upgradeView) }),
  );
}
