import type { Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { SettingRead } from '../services/policy-service.js';
import { actorOf } from './auth-actor.js';
import { OverridesQuery, SettingParams, SettingValueView, SettingValueWrite } from './schemas.js';
import { settingReadView } from './settings-view.js';

type SettingPath = Static<typeof SettingParams>;
type Overrides = Static<typeof OverridesQuery>;

/**
 * `GET/POST/DELETE /api/{policies|computers}/{id}/settings/{name}`: one setting of a policy or a
 * computer, read (effective with its source, or `?overrides=true`), overridden, or reset to
 * Inherited. Policies and computers differ only in which service calls they make.
 */
export function objectSettingRoutes(
  app: FastifyInstance,
  o: {
    collection: 'policies' | 'computers';
    noun: 'policy' | 'computer';
    tags: string[];
    read: (id: number, name: string) => Promise<SettingRead>;
    /** `value` null resets the setting to Inherited. */
    write: (id: number, name: string, value: string | null, actor: string) => Promise<SettingRead>;
  },
): void {
  const path = `/api/${o.collection}/:id/settings/:name`;
  const tags = o.tags;
  app.get<{ Params: SettingPath; Querystring: Overrides }>(
    path,
    {
      schema: {
        summary: `Describe a ${o.noun} setting`,
        tags,
        params: SettingParams,
        querystring: OverridesQuery,
        response: { 200: SettingValueView },
      },
    },
    async (req) =>
      settingReadView(await o.read(Number(req.params.id), req.params.name), req.query.overrides === 'true'),
  );
  app.post<{ Params: SettingPath; Body: Static<typeof SettingValueWrite> }>(
    path,
    {
      schema: {
        summary: `Override a ${o.noun} setting`,
        description: 'Returns the effective value after the change.',
        tags,
        params: SettingParams,
        body: SettingValueWrite,
        response: { 200: SettingValueView },
      },
    },
    async (req) =>
      settingReadView(await o.write(Number(req.params.id), req.params.name, req.body.value, actorOf(req)), false),
  );
  app.delete<{ Params: SettingPath }>(
    path,
    {
      schema: {
        summary: `Reset a ${o.noun} setting to Inherited`,
        description: 'Returns the inherited value now in effect.',
        tags,
        params: SettingParams,
        response: { 200: SettingValueView },
      },
    },
    async (req) => settingReadView(await o.write(Number(req.params.id), req.params.name, null, actorOf(req)), false),
  );
}
