import { SETTINGS_CATALOG } from '@palisade/core';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';

const SettingDefinitionView = Type.Object({
  name: Type.String({ description: 'API name, as in policySettings / computerSettings' }),
  label: Type.String({ description: 'as the console shows it' }),
  section: Type.String({ description: 'where the console shows it' }),
  type: Type.Union([Type.Literal('choice'), Type.Literal('minutes-or-unlimited'), Type.Literal('port')], {
    description:
      'choice: one of values; minutes-or-unlimited: "Unlimited" or a whole number of minutes from 1 to 999999; port: a TCP port number from 1 to 65535',
  }),
  values: Type.Array(Type.String(), {
    description: 'allowed values (for minutes-or-unlimited, the non-numeric ones; for port, none)',
  }),
  default: Type.String({ description: 'the Base Policy value on a new manager' }),
  readOnly: Type.Boolean({ description: 'shown, never written or overridden' }),
  agentUses: Type.Boolean({
    description: 'part of the configuration sent to agents (a change makes them Update Pending)',
  }),
});
export const SettingsCatalogView = Type.Object({ settings: Type.Array(SettingDefinitionView) });

/** The settings catalog (`GET /api/settings`), read by the console to build its forms. */
export function settingsRoutes(app: FastifyInstance): void {
  const body = {
    settings: SETTINGS_CATALOG.map((s) => ({
      name: s.name,
      label: s.label,
      section: s.section,
      type: s.type,
      values: [...s.values],
      default: s.default,
      readOnly: s.readOnly,
      agentUses: s.agentUses,
    })),
  };
  app.get(
    '/api/settings',
    {
      schema: {
        summary: 'List the settings a policy or computer can carry',
        tags: ['Settings'],
        response: { 200: SettingsCatalogView },
      },
    },
    async () => body,
  );
}
