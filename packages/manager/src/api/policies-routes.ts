import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { PolicyService } from '../services/policy-service.js';
import { actorOf } from './auth-actor.js';
import { objectSettingRoutes } from './object-setting-routes.js';
import { PolicyView, policyView } from './policy-view.js';
import { EmptyReply, IdParams, Nullable, OverridesQuery, SettingsWrite } from './schemas.js';

const PolicyName = Type.String({
  minLength: 1,
  maxLength: 255,
  description: 'unique; no leading or trailing white space',
});
const Description = Type.String({ maxLength: 4000 });
const ParentId = Nullable(
  Type.Integer({
    minimum: 1,
    description: 'the parent policy; default the Base Policy. Only the Base Policy has none.',
  }),
);

const PolicyCreate = Type.Object(
  {
    name: PolicyName,
    description: Type.Optional(Description),
    parentID: Type.Optional(ParentId),
    policySettings: Type.Optional(SettingsWrite),
  },
  { additionalProperties: false },
);
const PolicyModify = Type.Object(
  {
    name: Type.Optional(PolicyName),
    description: Type.Optional(Description),
    parentID: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 1,
          description: 'moves the policy under another one (not under itself or its descendants)',
        }),
      ),
    ),
    policySettings: Type.Optional(SettingsWrite),
  },
  { additionalProperties: false },
);
const PolicyList = Type.Object({ policies: Type.Array(PolicyView) });

type Id = Static<typeof IdParams>;
type Overrides = Static<typeof OverridesQuery>;

/** Policies and their settings (`/api/policies…`), Deep Security's routes and shapes. */
export function policiesRoutes(app: FastifyInstance, policies: PolicyService): void {
  const tags = ['Policies'];

  app.get<{ Querystring: Overrides }>(
    '/api/policies',
    { schema: { summary: 'List policies', tags, querystring: OverridesQuery, response: { 200: PolicyList } } },
    async (req) => {
      const only = req.query.overrides === 'true';
      return { policies: (await policies.listPolicies()).map((d) => policyView(d, only)) };
    },
  );

  app.post<{ Body: Static<typeof PolicyCreate> }>(
    '/api/policies',
    {
      schema: {
        summary: 'Create a policy',
        description:
          'Under the Base Policy unless parentID says otherwise; policySettings overrides are stored with it.',
        tags,
        body: PolicyCreate,
        response: { 200: PolicyView },
      },
    },
    async (req) => {
      const b = req.body;
      const d = await policies.createPolicy(
        { name: b.name, description: b.description, parentId: b.parentID, settings: settingWrites(b.policySettings) },
        actorOf(req),
      );
      return policyView(d, false);
    },
  );

  app.get<{ Params: Id; Querystring: Overrides }>(
    '/api/policies/:id',
    {
      schema: {
        summary: 'Describe a policy',
        tags,
        params: IdParams,
        querystring: OverridesQuery,
        response: { 200: PolicyView },
      },
    },
    async (req) => policyView(await policies.getPolicy(Number(req.params.id)), req.query.overrides === 'true'),
  );

  app.post<{ Params: Id; Body: Static<typeof PolicyModify> }>(
    '/api/policies/:id',
    {
      schema: {
        summary: 'Modify a policy',
        description: 'Rename, describe, move (parentID) and override or reset settings, all or nothing.',
        tags,
        params: IdParams,
        body: PolicyModify,
        response: { 200: PolicyView },
      },
    },
    async (req) => {
      const b = req.body;
      const d = await policies.modifyPolicy(
        Number(req.params.id),
        { name: b.name, description: b.description, parentId: b.parentID, settings: settingWrites(b.policySettings) },
        actorOf(req),
      );
      return policyView(d, false);
    },
  );

  app.delete<{ Params: Id }>(
    '/api/policies/:id',
    {
      schema: {
        summary: 'Delete a policy',
        description:
          'Refused for the Base Policy, a policy with child policies and a policy computers are assigned to. Activation tokens for it are deleted with it.',
        tags,
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      const r = await policies.deletePolicy(Number(req.params.id), actorOf(req));
      if (r.activationTokensDeleted > 0)
        req.log.info(
          { policyId: Number(req.params.id), activationTokensDeleted: r.activationTokensDeleted },
          'policy deleted with its activation tokens',
        );
      return reply.status(204).send();
    },
  );

  objectSettingRoutes(app, {
    collection: 'policies',
    noun: 'policy',
    tags,
    read: (id, name) => policies.getPolicySetting(id, name),
    write: (id, name, value, actor) => policies.writePolicySetting(id, name, value, actor),
  });
}

/** `{"name": {"value": v}}` → `{"name": v}`. */
export function settingWrites(
  body: Record<string, { value: string | null } | undefined> | undefined,
): Record<string, string | null> | undefined {
  if (!body) return undefined;
  const out: Record<string, string | null> = {};
  for (const [name, v] of Object.entries(body)) if (v) out[name] = v.value;
  return out;
}
