import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ComputerDetail, PolicyService } from '../services/policy-service.js';
import { computersUpdating } from '../store/operations-in-flight.js';
import type { Store } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { ComputerView, computerView } from './computer-view.js';
import { objectSettingRoutes } from './object-setting-routes.js';
import { settingWrites } from './policies-routes.js';
import { EmptyReply, IdParams, OverridesQuery, SettingsWrite } from './schemas.js';

export { IdParams } from './schemas.js';

const ComputerModify = Type.Object(
  {
    policyID: Type.Optional(Type.Integer({ minimum: 1, description: 'assign another policy' })),
    computerSettings: Type.Optional(SettingsWrite),
  },
  { additionalProperties: false },
);
const ComputerList = Type.Object({ computers: Type.Array(ComputerView) });

type Id = Static<typeof IdParams>;
type Overrides = Static<typeof OverridesQuery>;

/** Computers and their settings (`/api/computers…`), Deep Security's routes and shapes. */
export function computersRoutes(app: FastifyInstance, policies: PolicyService, now: () => number, store?: Store): void {
  const tags = ['Computers'];
  /** Which computers show `Updating`; without a store, none. */
  const updating = async (ids?: readonly number[]): Promise<ReadonlySet<number>> =>
    store ? computersUpdating(store, ids) : new Set();
  const view = async (d: ComputerDetail, overridesOnly = false) =>
    computerView(d, now(), overridesOnly, (await updating([d.record.id])).has(d.record.id));

  app.get<{ Querystring: Overrides }>(
    '/api/computers',
    { schema: { summary: 'List computers', tags, querystring: OverridesQuery, response: { 200: ComputerList } } },
    async (req) => {
      const t = now();
      const only = req.query.overrides === 'true';
      const [list, inFlight] = await Promise.all([policies.listComputers(), updating()]);
      return { computers: list.map((d) => computerView(d, t, only, inFlight.has(d.record.id))) };
    },
  );

  app.get<{ Params: Id; Querystring: Overrides }>(
    '/api/computers/:id',
    {
      schema: {
        summary: 'Describe a computer',
        tags,
        params: IdParams,
        querystring: OverridesQuery,
        response: { 200: ComputerView },
      },
    },
    async (req) => view(await policies.getComputer(Number(req.params.id)), req.query.overrides === 'true'),
  );

  app.post<{ Params: Id; Body: Static<typeof ComputerModify> }>(
    '/api/computers/:id',
    {
      schema: {
        summary: 'Modify a computer',
        description:
          'Assign another policy (policyID) and override or reset settings, all or nothing. The agent picks the change up on its next heartbeat.',
        tags,
        params: IdParams,
        body: ComputerModify,
        response: { 200: ComputerView },
      },
    },
    async (req) => {
      const d = await policies.modifyComputer(
        Number(req.params.id),
        { policyId: req.body.policyID, settings: settingWrites(req.body.computerSettings) },
        actorOf(req),
      );
      return view(d);
    },
  );

  app.delete<{ Params: Id }>(
    '/api/computers/:id',
    {
      schema: {
        summary: 'Deactivate a computer',
        description:
          'Revokes its certificate: its agent is refused (CERTIFICATE_REVOKED) until activated again. The record stays, shown Deactivated.',
        tags,
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      await policies.deactivateComputer(Number(req.params.id), actorOf(req));
      return reply.status(204).send();
    },
  );

  objectSettingRoutes(app, {
    collection: 'computers',
    noun: 'computer',
    tags,
    read: (id, name) => policies.getComputerSetting(id, name),
    write: (id, name, value, actor) => policies.writeComputerSetting(id, name, value, actor),
  });
}
