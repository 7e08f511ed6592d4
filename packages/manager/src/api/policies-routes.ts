import { findSetting } from '@palisade/core';
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { PolicyService } from '../services/policy-service.js';
import { actorOf } from './auth-actor.js';
import { objectSettingRoutes } from './object-setting-routes.js';
import { PolicyView, policyView } from './policy-view.js';
import {
  EmptyReply,
  IdParams,
  Nullable,
  OverridesQuery,
  SettingsView,
  SettingsWrite,
  SettingValueView,
  SettingValueWrite,
} from './schemas.js';
import { searchFieldsOf, searchRoute } from './search-route.js';
import { settingsView } from './settings-view.js';

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
export const PolicyList = Type.Object({ policies: Type.Array(PolicyView) });

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

  searchRoute(app, {
    path: '/api/policies',
    envelope: 'policies',
    view: PolicyView,
    fields: searchFieldsOf(PolicyView),
    noun: 'policies',
    tags,
    querystring: OverridesQuery,
    list: async (q) => (await policies.listPolicies()).map((d) => policyView(d, q.overrides === 'true')),
  });

  defaultPolicyRoutes(app, policies, tags);

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

const SettingNameParams = Type.Object(
  { name: Type.String({ maxLength: 128, description: 'setting name as in GET /api/settings' }) },
  { additionalProperties: false },
);

/**
 * Deep Security's default policy settings (`/api/policies/default…`): the values every policy
 * inherits unless it overrides them. Palisade keeps them on the Base Policy (which has no parent
 * and always holds a value), so these routes read and write the Base Policy's settings; resetting
 * one (DELETE, or a null value) returns it to the catalog default, since the Base Policy has
 * nothing to inherit from.
 */
function defaultPolicyRoutes(app: FastifyInstance, policies: PolicyService, tags: string[]): void {
  const baseId = async () => (await policies.listPolicies()).find((p) => p.isBase)!.record.id;
  const catalogDefault = (name: string) => findSetting(name)?.default ?? null;
  /** A null value (reset) becomes the catalog default: the Base Policy must keep a value. */
  const write = async (name: string, value: string | null, actor: string) =>
    policies.writePolicySetting(await baseId(), name, value ?? catalogDefault(name), actor);
  const all = async () =>
    settingsView(await policies.getPolicy(await baseId()), { overridesOnly: true, inheritsNothing: true });

  app.get(
    '/api/policies/default',
    {
      schema: {
        summary: 'List default policy settings',
        description: "The Base Policy's values, which every policy inherits unless it overrides them.",
        tags,
        response: { 200: SettingsView },
      },
    },
    all,
  );
  app.post<{ Body: Static<typeof SettingsWrite> }>(
    '/api/policies/default',
    {
      schema: {
        summary: 'Modify default policy settings',
        description: 'All or nothing; a null value returns the setting to its catalog default.',
        tags,
        body: SettingsWrite,
        response: { 200: SettingsView },
      },
    },
    async (req) => {
      const writes = settingWrites(req.body) ?? {};
      for (const [name, value] of Object.entries(writes)) if (value === null) writes[name] = catalogDefault(name);
      await policies.modifyPolicy(await baseId(), { settings: writes }, actorOf(req));
      return all();
    },
  );
  const path = '/api/policies/default/settings/:name';
  type Name = { Params: Static<typeof SettingNameParams> };
  app.get<Name>(
    path,
    {
      schema: {
        summary: 'Describe a default policy setting',
        tags,
        params: SettingNameParams,
        response: { 200: SettingValueView },
      },
    },
    async (req) => ({ value: (await policies.getPolicySetting(await baseId(), req.params.name)).value }),
  );
  app.post<Name & { Body: Static<typeof SettingValueWrite> }>(
    path,
    {
      schema: {
        summary: 'Modify a default policy setting',
        tags,
        params: SettingNameParams,
        body: SettingValueWrite,
        response: { 200: SettingValueView },
      },
    },
    async (req) => ({ value: (await write(req.params.name, req.body.value, actorOf(req))).value }),
  );
  app.delete<Name>(
    path,
    {
      schema: {
        summary: 'Reset a default policy setting',
        description: 'Back to the catalog default (GET /api/settings shows it).',
        tags,
        params: SettingNameParams,
        response: { 200: SettingValueView },
      },
    },
    async (req) => ({ value: (await write(req.params.name, null, actorOf(req))).value }),
  );
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
