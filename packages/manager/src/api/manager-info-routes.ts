import { PROTOCOL_VERSION } from '@palisade/protocol';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { PalisadeError } from '../errors.js';
import { MANAGER_VERSION } from '../manager-version.js';

const Component = Type.Object({
  name: Type.String(),
  version: Type.String(),
  description: Type.String(),
});
const Components = Type.Object({ components: Type.Array(Component) });

/**
 * `GET /api/managerinfo/components`: what this manager is made of and which versions, for clients
 * that check the API is there (and what speaks it) before they start.
 */
export function managerInfoRoutes(app: FastifyInstance): void {
  app.get(
    '/api/managerinfo/components',
    {
      schema: {
        summary: 'List manager components',
        description: 'The manager, the REST API version it speaks (the api-version header) and the agent protocol.',
        tags: ['Meta'],
        response: { 200: Components },
      },
    },
    async () => ({
      components: [
        { name: 'manager', version: MANAGER_VERSION, description: 'Palisade manager' },
        {
          name: 'api',
          version: 'v1',
          description: "REST API, Deep Security's api-version v1 shapes (docs/deep-security-api.md)",
        },
        { name: 'agentProtocol', version: String(PROTOCOL_VERSION), description: 'manager/agent heartbeat protocol' },
      ],
    }),
  );
}

/**
 * Deep Security's legacy REST API (`/rest/…`, session logins such as
 * `POST /rest/authentication/login/primary`): clients fall back to it after a 401 on `/api`.
 * Palisade does not provide it; every such request gets a JSON error saying what to use instead,
 * so the person running the script sees why, rather than an HTML 404.
 */
export function legacyRestRoutes(app: FastifyInstance): void {
  app.all('/rest/*', async (req) => {
    throw new PalisadeError('LEGACY_API_NOT_PROVIDED', `${req.method} ${req.url.split('?')[0]}`);
  });
}
