import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { SystemSettingsService } from '../services/system-settings-service.js';
import { actorOf } from './auth-actor.js';
import { Nullable } from './schemas.js';

const Value = Type.Object({ value: Type.String() });
const ValueWrite = Type.Object(
  { value: Nullable(Type.String({ maxLength: 1024, description: 'null: back to the default' })) },
  { additionalProperties: false },
);
const NameParams = Type.Object(
  { name: Type.String({ maxLength: 128, description: 'setting name, as GET /api/systemsettings lists them' }) },
  { additionalProperties: false },
);

/**
 * Deep Security's `/api/systemsettings`: every manager-wide setting of the registry as
 * `{"name": {"value": "…"}}` (GET all, POST several), and one by name (GET, POST, DELETE resets
 * it to its default). The document lists the settings registered when the server was built.
 */
export function systemSettingsRoutes(app: FastifyInstance, settings: SystemSettingsService): void {
  const tags = ['System settings'];
  const defs = settings.registry.list();
  const describe = (d: (typeof defs)[number]) =>
    `${d.description} Default ${JSON.stringify(d.default)}${d.values ? `; one of ${d.values.join(', ')}` : ''}.`;
  const All = Type.Object(
    Object.fromEntries(defs.map((d) => [d.name, Type.Object(Value.properties, { description: describe(d) })])),
  );
  const AllWrite = Type.Object(
    Object.fromEntries(
      defs.map((d) => [
        d.name,
        Type.Optional(Type.Object(ValueWrite.properties, { additionalProperties: false, description: describe(d) })),
      ]),
    ),
    // Other names reach the service, which refuses them naming the settings there are (a schema
    // refusal would only say "must NOT have additional properties").
    { additionalProperties: ValueWrite },
  );
  const all = async () =>
    Object.fromEntries(Object.entries(await settings.list()).map(([name, value]) => [name, { value }]));

  app.get('/api/systemsettings', { schema: { summary: 'List system settings', tags, response: { 200: All } } }, all);
  app.post<{ Body: Static<typeof AllWrite> }>(
    '/api/systemsettings',
    {
      schema: {
        summary: 'Modify system settings',
        description: 'All or nothing: every value is checked before any is written. A null value resets a setting.',
        tags,
        body: AllWrite,
        response: { 200: All },
      },
    },
    async (req) => {
      const changes = Object.fromEntries(
        Object.entries(req.body as Record<string, { value: string | null } | undefined>)
          .filter(([, v]) => v !== undefined)
          .map(([name, v]) => [name, v!.value]),
      );
      await settings.write(changes, actorOf(req));
      return all();
    },
  );
  type Named = { Params: Static<typeof NameParams> };
  const path = '/api/systemsettings/:name';
  app.get<Named>(
    path,
    { schema: { summary: 'Describe a system setting', tags, params: NameParams, response: { 200: Value } } },
    async (req) => ({ value: await settings.get(req.params.name) }),
  );
  app.post<Named & { Body: Static<typeof ValueWrite> }>(
    path,
    {
      schema: {
        summary: 'Modify a system setting',
        tags,
        params: NameParams,
        body: ValueWrite,
        response: { 200: Value },
      },
    },
    async (req) => {
      await settings.write({ [req.params.name]: req.body.value }, actorOf(req));
      return { value: await settings.get(req.params.name) };
    },
  );
  app.delete<Named>(
    path,
    {
      schema: { summary: 'Reset a system setting to its default', tags, params: NameParams, response: { 200: Value } },
    },
    async (req) => {
      await settings.write({ [req.params.name]: null }, actorOf(req));
      return { value: await settings.get(req.params.name) };
    },
  );
}
