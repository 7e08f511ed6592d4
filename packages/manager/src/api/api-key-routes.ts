import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PalisadeError } from '../errors.js';
import type { ApiKeyChanges, ApiKeyService } from '../services/api-key-service.js';
import { ROLES, roleOf } from '../services/roles.js';
import type { ApiKeyRecord } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { EmptyReply, IdParams, Nullable } from './schemas.js';
import { searchFieldsOf, searchRoute } from './search-route.js';

const roleIds = ROLES.map((r) => `${r.ID} ${r.name}`).join(', ');

/** Deep Security's ApiKey, as Palisade keeps it. */
export const ApiKeyView = Type.Object({
  ID: Type.Integer(),
  keyName: Type.String(),
  description: Type.String(),
  locale: Type.String({ description: 'kept and shown; no effect (messages are English)' }),
  roleID: Type.Integer({ description: `GET /api/roles: ${roleIds}` }),
  timeZone: Type.String({ description: 'kept and shown; no effect (times are epoch ms)' }),
  active: Type.Boolean({ description: 'false: locked, refused until made active again' }),
  created: Type.Integer({ description: 'epoch ms' }),
  lastSignIn: Nullable(Type.Integer({ description: 'epoch ms of the last request made with it (to the minute)' })),
  expiryDate: Nullable(Type.Integer({ description: 'epoch ms from which it is refused; null: never' })),
});
/** A key with its secret: the reply of create and of a new secret, the only time the secret is shown. */
export const ApiKeyWithSecretView = Type.Object({
  ...ApiKeyView.properties,
  secretKey: Type.String({ description: 'the secret for the api-secret-key header; shown this once, never stored' }),
});

const writable = {
  keyName: Type.String({ minLength: 1, maxLength: 254 }),
  description: Type.String({ maxLength: 2000 }),
  roleID: Type.Integer({ description: `GET /api/roles: ${roleIds}` }),
  active: Type.Boolean({ description: 'false locks the key; true unlocks it' }),
  locale: Type.String({ maxLength: 32 }),
  timeZone: Type.String({ maxLength: 64 }),
  expiryDate: Nullable(Type.Integer({ minimum: 0, description: 'epoch ms; null: never expires' })),
};
/** Read-only members a described key carries: accepted when sent back, never written. */
const echoed = {
  ID: Type.Optional(Type.Integer({ description: 'read-only: accepted when it is the key being written' })),
  created: Type.Optional(Type.Integer({ description: 'read-only; ignored' })),
  lastSignIn: Type.Optional(Nullable(Type.Integer({ description: 'read-only; ignored' }))),
};
const Create = Type.Object(
  {
    ...echoed,
    keyName: writable.keyName,
    roleID: writable.roleID,
    description: Type.Optional(writable.description),
    active: Type.Optional(writable.active),
    locale: Type.Optional(writable.locale),
    timeZone: Type.Optional(writable.timeZone),
    expiryDate: Type.Optional(writable.expiryDate),
  },
  { additionalProperties: false },
);
const Modify = Type.Object(
  {
    ...echoed,
    ...Object.fromEntries(Object.entries(writable).map(([k, v]) => [k, Type.Optional(v)])),
  },
  { additionalProperties: false },
);
type Write = Static<typeof Modify> & Static<typeof Create>;
/** A new secret takes no options: an empty object, or no body at all. */
const NoOptions = Nullable(Type.Object({}, { additionalProperties: false, description: 'send {} or nothing' }));

function view(k: ApiKeyRecord): Static<typeof ApiKeyView> {
  return {
    ID: k.id,
    keyName: k.name,
    description: k.description,
    locale: k.locale,
    roleID: roleOf(k.role).ID,
    timeZone: k.timeZone,
    active: k.active,
    created: k.createdAt,
    lastSignIn: k.lastUsedAt,
    expiryDate: k.expiresAt,
  };
}

/** The members to write; an `ID` other than the key's is refused (it is read-only). */
function changes(body: Partial<Write>, id: number | undefined): ApiKeyChanges {
  if (id !== undefined && body.ID !== undefined && body.ID !== id)
    throw new PalisadeError(
      'VALIDATION_FAILED',
      `ID: ${body.ID} is not the API key being modified (${id}); ID is read-only`,
    );
  const { ID: _id, created: _created, lastSignIn: _lastSignIn, ...rest } = body;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as ApiKeyChanges;
}

/** The key the request was made with; a console session has none. */
function currentKeyId(req: FastifyRequest): number {
  if (!req.apiKey)
    throw new PalisadeError('API_KEY_NOT_FOUND', 'the request was made with a console session, not an API key');
  return req.apiKey.id;
}

/**
 * Deep Security's `/api/apikeys`: list, search, create (the secret in the reply, once), describe,
 * modify (POST merges), delete (revokes), `current` (the key the request was made with), and a
 * new secret for a key (`…/secretkey`, the old secret refused from then on).
 */
export function apiKeyRoutes(app: FastifyInstance, keys: ApiKeyService): void {
  const tags = ['API keys'];
  type Id = { Params: Static<typeof IdParams> };
  const all = async () => (await keys.list()).map(view);
  const withSecret = ({ key, secretKey }: { key: ApiKeyRecord; secretKey: string }) => ({ ...view(key), secretKey });

  app.get(
    '/api/apikeys',
    {
      schema: {
        summary: 'List API keys',
        description: 'Revoked (deleted) keys are not listed; `palisade-manager apikey list` shows them too.',
        tags,
        response: { 200: Type.Object({ apiKeys: Type.Array(ApiKeyView) }) },
      },
    },
    async () => ({ apiKeys: await all() }),
  );
  searchRoute(app, {
    path: '/api/apikeys',
    envelope: 'apiKeys',
    view: ApiKeyView,
    fields: searchFieldsOf(ApiKeyView, ['created', 'lastSignIn', 'expiryDate']),
    noun: 'API keys',
    tags,
    list: all,
  });
  app.post<{ Body: Static<typeof Create> }>(
    '/api/apikeys',
    {
      schema: {
        summary: 'Create an API key',
        description: 'The reply carries `secretKey`, the only time it is shown: the manager keeps its hash.',
        tags,
        body: Create,
        response: { 200: ApiKeyWithSecretView },
      },
    },
    async (req) => withSecret(await keys.create(changes(req.body, undefined), actorOf(req))),
  );
  app.get(
    '/api/apikeys/current',
    {
      schema: {
        summary: 'Describe the API key of this request',
        description: 'API_KEY_NOT_FOUND for a request made with a console session.',
        tags,
        response: { 200: ApiKeyView },
      },
    },
    async (req) => view(await keys.get(currentKeyId(req))),
  );
  app.post(
    '/api/apikeys/current/secretkey',
    {
      schema: {
        summary: 'Give the API key of this request a new secret',
        description: 'The old secret is refused from the next request on; send the new one from then on.',
        tags,
        body: NoOptions,
        response: { 200: ApiKeyWithSecretView },
      },
    },
    async (req) => withSecret(await keys.replaceSecret(currentKeyId(req), actorOf(req))),
  );
  app.get<Id>(
    '/api/apikeys/:id',
    { schema: { summary: 'Describe an API key', tags, params: IdParams, response: { 200: ApiKeyView } } },
    async (req) => view(await keys.get(Number(req.params.id))),
  );
  app.post<Id & { Body: Static<typeof Modify> }>(
    '/api/apikeys/:id',
    {
      schema: {
        summary: 'Modify an API key',
        description: 'Members sent replace the stored ones; a described key sent back changes nothing.',
        tags,
        params: IdParams,
        body: Modify,
        response: { 200: ApiKeyView },
      },
    },
    async (req) => {
      const id = Number(req.params.id);
      return view(await keys.modify(id, changes(req.body, id), actorOf(req)));
    },
  );
  app.delete<Id>(
    '/api/apikeys/:id',
    {
      schema: {
        summary: 'Delete an API key',
        description:
          'The key is revoked: requests with it get 401 from the next one on. The audit log keeps naming it.',
        tags,
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      await keys.delete(Number(req.params.id), actorOf(req));
      return reply.status(204).send();
    },
  );
  app.post<Id>(
    '/api/apikeys/:id/secretkey',
    {
      schema: {
        summary: 'Give an API key a new secret',
        description: 'The old secret is refused from the next request on.',
        tags,
        params: IdParams,
        body: NoOptions,
        response: { 200: ApiKeyWithSecretView },
      },
    },
    async (req) => withSecret(await keys.replaceSecret(Number(req.params.id), actorOf(req))),
  );
}
