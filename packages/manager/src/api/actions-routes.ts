import { type AgentDirection, agentDirection, COMMUNICATION_DIRECTIONS } from '@palisade/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ComputerAction, ComputerActionsService } from '../services/computer-actions.js';
import { actorOf } from './auth-actor.js';
import { IdParams, Nullable } from './schemas.js';

/** Deep Security's value string for a direction (`Agent/Appliance Initiated`, …). */
const settingValue = (d: AgentDirection): string => COMMUNICATION_DIRECTIONS.find((s) => agentDirection(s) === d) ?? d;

const ACTIONS = {
  checkstatus: {
    summary: 'Check Status: contact the agent now',
    description:
      'Manager Initiated and Bidirectional: the manager calls the agent at once and the reply carries the outcome (200; status "completed" or "failed" with the reason). ' +
      'Agent Initiated: nothing can call the agent; the reply says it will happen at its next heartbeat (202, status "queued").',
  },
  sendpolicy: {
    summary: 'Send Policy: deliver the current security configuration now',
    description:
      'Manager Initiated and Bidirectional: the manager calls the agent at once, and a configuration that differs from the one the agent runs is applied in that exchange (200). ' +
      'Agent Initiated: the configuration goes with the agent\'s next heartbeat (202, status "queued"; the computer shows Update Pending (Heartbeat) until then).',
  },
} as const satisfies Record<ComputerAction, { summary: string; description: string }>;
type Action = ComputerAction;

/** An empty object, or no body at all. */
const ActionBody = Nullable(
  Type.Object({}, { additionalProperties: false, description: 'no options; send {} or nothing' }),
);

const Fingerprints = Type.Object({ expected: Nullable(Type.String()), applied: Nullable(Type.String()) });

export const ActionResult = Type.Object({
  action: Type.String({ enum: Object.keys(ACTIONS) }),
  computerID: Type.Integer(),
  direction: Type.String({ enum: [...COMMUNICATION_DIRECTIONS], description: 'the effective communication direction' }),
  delivery: Type.String({
    enum: ['immediate', 'next-heartbeat'],
    description: 'immediate: the manager called the agent; next-heartbeat: it waits for the agent to call',
  }),
  status: Type.String({ enum: ['completed', 'failed', 'queued'] }),
  message: Type.String(),
  contactedAt: Type.Optional(Nullable(Type.Number({ description: 'epoch ms the manager started the call' }))),
  address: Type.Optional(Nullable(Type.String({ description: 'host:port the manager called' }))),
  error: Type.Optional(Type.Object({ kind: Type.String(), message: Type.String() })),
  tlsProtocol: Type.Optional(Nullable(Type.String())),
  eventsStored: Type.Optional(Type.Integer()),
  operations: Type.Optional(
    Type.Array(
      Type.Object({
        id: Type.Integer(),
        type: Type.String(),
        status: Type.String(),
        reason: Type.Optional(Type.String()),
      }),
    ),
  ),
  expectedHeartbeatBy: Type.Optional(
    Nullable(Type.Number({ description: 'epoch ms: one interval after the last heartbeat' })),
  ),
  lastAgentCommunication: Nullable(Type.Number()),
  configurationFingerprint: Fingerprints,
});
type ActionResult = Static<typeof ActionResult>;

export const CommunicationView = Type.Object({
  computerID: Type.Integer(),
  direction: Type.Object({
    expected: Type.String({ description: 'the effective setting (what the manager wants)' }),
    applied: Nullable(Type.String({ description: 'what the agent last said it follows; null before it said' })),
  }),
  mode: Type.String({
    enum: ['scheduled', 'on-demand', 'none'],
    description:
      'scheduled: the manager calls it every heartbeat interval; on-demand: only for actions; none: it cannot be called',
  }),
  listener: Nullable(
    Type.Object({
      address: Nullable(Type.String({ description: 'announced by the agent; null: the address it was last seen at' })),
      port: Type.Integer(),
    }),
  ),
  listeningPort: Type.Integer({ description: "the configuration's listening port" }),
  nextDialAt: Nullable(Type.Number({ description: 'epoch ms of the next scheduled call' })),
  lastDial: Type.Object({
    at: Nullable(Type.Number()),
    okAt: Nullable(Type.Number()),
    error: Nullable(Type.String()),
    consecutiveFailures: Type.Integer(),
  }),
});

/**
 * Computer actions (`/api/computers/{id}/actions/…`) and the communication view: how the
 * manager reaches the computer. Actions contact the agent at once where it listens, and are
 * queued for its next heartbeat where it does not (Agent Initiated); see ComputerActionsService.
 */
export function actionsRoutes(
  app: FastifyInstance,
  actions: ComputerActionsService,
  heartbeatIntervalSeconds: number,
): void {
  const tags = ['Computers'];

  const run = async (action: Action, id: number, actor: string): Promise<{ code: 200 | 202; body: ActionResult }> => {
    const { computer, after, direction, mode, effective, dial: outcome } = await actions.run(action, id, actor);
    const base = { action, computerID: id, direction: settingValue(direction) };
    if (!outcome) {
      const interval = heartbeatIntervalSeconds * 1000;
      const expectedBy = computer.lastCommunication === null ? null : computer.lastCommunication + interval;
      const what =
        action === 'sendpolicy' ? 'the security configuration will be delivered' : 'its status will be checked';
      return {
        code: 202,
        body: {
          ...base,
          delivery: 'next-heartbeat',
          status: 'queued',
          message: `Queued: this agent initiates communication (it does not listen), so ${what} on its next heartbeat${expectedBy ? `, expected by ${new Date(expectedBy).toISOString()}` : ''}.`,
          expectedHeartbeatBy: expectedBy,
          lastAgentCommunication: computer.lastCommunication,
          configurationFingerprint: { expected: effective.fingerprint, applied: computer.appliedFingerprint },
        },
      };
    }
    const applied = outcome.operations.filter((o) => o.status === 'succeeded').length;
    const message = outcome.ok
      ? `Contacted the agent at ${outcome.address}: status received${outcome.operations.length ? `, ${applied} of ${outcome.operations.length} operation(s) succeeded` : ', its configuration was already current'}.`
      : `Could not contact the agent${outcome.address ? ` at ${outcome.address}` : ''}: ${outcome.error}. ${mode === 'scheduled' ? 'The manager tries again at the next heartbeat interval.' : 'The agent still gets it with its next heartbeat.'}`;
    return {
      code: 200,
      body: {
        ...base,
        delivery: 'immediate',
        status: outcome.ok ? 'completed' : 'failed',
        message,
        contactedAt: outcome.startedAt,
        address: outcome.address,
        ...(outcome.ok
          ? {}
          : { error: { kind: outcome.failure ?? 'unreachable', message: outcome.error ?? 'failed' } }),
        tlsProtocol: outcome.tlsProtocol ?? null,
        eventsStored: outcome.eventsStored,
        operations: outcome.operations,
        lastAgentCommunication: after.lastCommunication,
        configurationFingerprint: { expected: after.expectedFingerprint, applied: after.appliedFingerprint },
      },
    };
  };

  for (const action of Object.keys(ACTIONS) as Action[]) {
    app.post<{ Params: Static<typeof IdParams>; Body: Static<typeof ActionBody> }>(
      `/api/computers/:id/actions/${action}`,
      {
        schema: {
          ...ACTIONS[action],
          tags,
          params: IdParams,
          body: ActionBody,
          response: { 200: ActionResult, 202: ActionResult },
        },
      },
      async (req, reply) => {
        const r = await run(action, Number(req.params.id), actorOf(req));
        return reply.status(r.code).send(r.body);
      },
    );
  }

  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/computers/:id/communication',
    {
      schema: {
        summary: 'How the manager reaches a computer',
        description:
          'Direction wanted and followed, listener, next scheduled call and the last one (docs/communication.md).',
        tags,
        params: IdParams,
        response: { 200: CommunicationView },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      const { effective, mode, target: t } = await actions.communication(id);
      const expected = effective.configuration.communication.direction;
      return {
        computerID: id,
        direction: {
          expected: settingValue(expected),
          applied: t?.appliedDirection ? settingValue(t.appliedDirection) : null,
        },
        mode,
        listener: t?.listener ? { address: t.listener.address, port: t.listener.port } : null,
        listeningPort: effective.configuration.communication.listeningPort,
        nextDialAt: t?.nextDialAt ?? null,
        lastDial: {
          at: t?.lastDialAt ?? null,
          okAt: t?.lastDialOkAt ?? null,
          error: t?.lastDialError ?? null,
          consecutiveFailures: t?.dialFailures ?? 0,
        },
      };
    },
  );
}
