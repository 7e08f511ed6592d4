import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { removeManagerNode } from '../cluster/manager-nodes.js';
import { PalisadeError } from '../errors.js';
import type { ManagerNodeRecord, Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { EmptyReply, IdParams, Nullable } from './schemas.js';

const ManagerNodeView = Type.Object(
  {
    ID: Type.Integer(),
    hostname: Type.String({ description: 'the node name (--node-name)' }),
    description: Type.String(),
    status: Type.String({
      enum: ['online', 'offline'],
      description: 'offline: silent past the limit (an alert is raised)',
    }),
    hostnames: Type.Array(Type.String(), { description: 'names its server certificate carries (--hostname)' }),
    agentAddresses: Type.Array(Type.String(), { description: 'dsm:// URLs it advertises to agents (--agent-address)' }),
    version: Type.String({ description: 'manager version' }),
    timeStarted: Type.Number({ description: 'epoch ms' }),
    lastHeartbeat: Type.Number({ description: 'epoch ms: the last time the node said it is alive' }),
    offlineSince: Nullable(Type.Number({ description: 'epoch ms' })),
  },
  { additionalProperties: false },
);

const ManagerNodeList = Type.Object({ managerNodes: Type.Array(ManagerNodeView) });

function view(n: ManagerNodeRecord): Static<typeof ManagerNodeView> {
  return {
    ID: n.id,
    hostname: n.name,
    description: '',
    status: n.offlineSince === null ? 'online' : 'offline',
    hostnames: n.hostnames,
    agentAddresses: n.agentAddresses,
    version: n.version,
    timeStarted: n.startedAt,
    lastHeartbeat: n.lastSeen,
    offlineSince: n.offlineSince,
  };
}

const tags = ['Manager nodes'];

/**
 * Deep Security's manager nodes (`/api/managernodes`): every manager process sharing the
 * database, online or offline (docs/scale-out.md); an offline one can be removed. `alerted` is
 * told when a removal cleared the node's Manager Offline alert (to wake the notifiers).
 */
export function managerNodesRoutes(
  app: FastifyInstance,
  store: Store,
  now: () => number,
  alerted: () => void = () => {},
): void {
  app.get(
    '/api/managernodes',
    {
      schema: {
        summary: 'List manager nodes',
        description: 'Every node that registered with the shared database, oldest first, with its state.',
        tags,
        response: { 200: ManagerNodeList },
      },
    },
    async () => ({ managerNodes: (await store.managerNodes.list()).map(view) }),
  );
  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/managernodes/:id',
    { schema: { summary: 'Describe a manager node', tags, params: IdParams, response: { 200: ManagerNodeView } } },
    async (req) => {
      const n = await store.managerNodes.get(Number(req.params.id));
      if (!n) throw new PalisadeError('MANAGER_NODE_NOT_FOUND', req.params.id);
      return view(n);
    },
  );
  app.delete<{ Params: Static<typeof IdParams> }>(
    '/api/managernodes/:id',
    {
      schema: {
        summary: 'Remove an offline manager node',
        description:
          'For a node gone for good: its record goes, its agent addresses leave the list agents get with their next configuration, and its Manager Offline alert clears. An online node is refused (409 MANAGER_NODE_ONLINE): stop it, wait until it shows offline, then delete it.',
        tags,
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      const changes = await removeManagerNode(store, Number(req.params.id), actorOf(req), now());
      if (changes.length > 0) alerted();
      return reply.status(204).send();
    },
  );
}
