import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { ROLES, roleById } from '../services/roles.js';
import { IdParams } from './schemas.js';
import { searchFieldsOf, searchRoute } from './search-route.js';

/** Deep Security's Role, for the fixed roles Palisade enforces (services/roles.ts). */
export const RoleView = Type.Object({
  ID: Type.Integer(),
  name: Type.String(),
  description: Type.String(),
  immutable: Type.Boolean({ description: 'always true: the roles are built in' }),
  allComputers: Type.Boolean({ description: 'always true: a role reaches every computer' }),
  allPolicies: Type.Boolean({ description: 'always true: a role reaches every policy' }),
  readOnly: Type.Boolean({ description: "Palisade's: true when every change is refused (403)" }),
});

const view = (id: number): Static<typeof RoleView> => {
  const r = roleById(id, false);
  return {
    ID: r.ID,
    name: r.name,
    description: r.description,
    immutable: true,
    allComputers: true,
    allPolicies: true,
    readOnly: r.role === 'read-only',
  };
};

/** Deep Security's `/api/roles` (list, search, describe) for the roles API keys and users have. */
export function roleRoutes(app: FastifyInstance): void {
  const tags = ['API keys'];
  const all = async () => ROLES.map((r) => view(r.ID));
  app.get(
    '/api/roles',
    {
      schema: {
        summary: 'List roles',
        description: 'Fixed: Palisade has no per-resource rights to edit, so there is no create, modify or delete.',
        tags,
        response: { 200: Type.Object({ roles: Type.Array(RoleView) }) },
      },
    },
    async () => ({ roles: await all() }),
  );
  searchRoute(app, {
    path: '/api/roles',
    envelope: 'roles',
    view: RoleView,
    fields: searchFieldsOf(RoleView),
    noun: 'roles',
    tags,
    list: all,
  });
  app.get<{ Params: Static<typeof IdParams> }>(
    '/api/roles/:id',
    { schema: { summary: 'Describe a role', tags, params: IdParams, response: { 200: RoleView } } },
    async (req) => view(Number(req.params.id)),
  );
}
