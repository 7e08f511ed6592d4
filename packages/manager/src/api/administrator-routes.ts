import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { passwordProblem } from '../auth/passwords.js';
import { PalisadeError } from '../errors.js';
import type { ConsoleAuthService } from '../services/console-auth-service.js';
import { ROLES, roleById, roleOf } from '../services/roles.js';
import type { ConsoleUserRecord } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { IdParams, Nullable } from './schemas.js';

const roleIds = ROLES.map((r) => `${r.ID} ${r.name}`).join(', ');

/** Deep Security's Administrator, for the members a Palisade console user has. Never the password hash. */
export const AdministratorView = Type.Object({
  ID: Type.Integer(),
  username: Type.String(),
  roleID: Type.Integer({ description: `GET /api/roles: ${roleIds}` }),
  active: Type.Boolean({ description: 'false: disabled, refused at sign-in, its sessions ended' }),
  created: Type.Integer({ description: 'epoch ms' }),
  lastSignIn: Nullable(Type.Integer({ description: 'epoch ms; null: never signed in' })),
  unsuccessfulSignInAttempts: Type.Integer({ description: 'failed sign-ins in a row since the last success' }),
  unlockTime: Nullable(Type.Integer({ description: 'epoch ms the sign-in lock-out ends; null: not locked' })),
});

const Password = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'at least 12 characters; stored as an scrypt hash, never shown',
});
const Create = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 64 }),
    password: Password,
    roleID: Type.Integer({ description: `GET /api/roles: ${roleIds}` }),
  },
  { additionalProperties: false },
);
const Modify = Type.Object(
  {
    active: Type.Optional(
      Type.Boolean({
        description: 'false disables (its sessions end); the last enabled full-access user cannot be',
      }),
    ),
    password: Type.Optional({
      ...Password,
      description: "a new password set by an administrator; the user's sessions end",
    }),
  },
  { additionalProperties: false },
);

function view(u: ConsoleUserRecord, now: number): Static<typeof AdministratorView> {
  return {
    ID: u.id,
    username: u.name,
    roleID: roleOf(u.role).ID,
    active: u.disabledAt === null,
    created: u.createdAt,
    lastSignIn: u.lastSignInAt,
    unsuccessfulSignInAttempts: u.failedSignIns,
    unlockTime: u.lockedUntil !== null && u.lockedUntil > now ? u.lockedUntil : null,
  };
}

/**
 * Deep Security's `/api/administrators` for console users: list, describe, create (Full Access or
 * Auditor), and modify (`active`, an administrator's password reset). Read-only keys and users
 * may read; every write is theirs refused (403) by the auth hook. Every change is audited by the
 * service with the caller as actor.
 */
export function administratorRoutes(app: FastifyInstance, auth: ConsoleAuthService, now: () => number): void {
  const tags = ['Console'];
  type Id = { Params: Static<typeof IdParams> };
  const byId = async (id: string) => {
    const u = await auth.getUser(Number(id));
    if (!u) throw new PalisadeError('USER_NOT_FOUND', `ID ${id}`);
    return u;
  };

  app.get(
    '/api/administrators',
    {
      schema: {
        summary: 'List console users',
        tags,
        response: { 200: Type.Object({ administrators: Type.Array(AdministratorView) }) },
      },
    },
    async () => ({ administrators: (await auth.listUsers()).map((u) => view(u, now())) }),
  );
  app.get<Id>(
    '/api/administrators/:id',
    { schema: { summary: 'Describe a console user', tags, params: IdParams, response: { 200: AdministratorView } } },
    async (req) => view(await byId(req.params.id), now()),
  );
  app.post<{ Body: Static<typeof Create> }>(
    '/api/administrators',
    {
      schema: {
        summary: 'Create a console user',
        description: 'The password needs at least 12 characters. Audited (`user.create`).',
        tags,
        body: Create,
        response: { 200: AdministratorView },
      },
    },
    async (req) => {
      const role = roleById(req.body.roleID, true).role;
      return view(await auth.createUser(req.body.username, role, req.body.password, actorOf(req)), now());
    },
  );
  app.post<Id & { Body: Static<typeof Modify> }>(
    '/api/administrators/:id',
    {
      schema: {
        summary: 'Modify a console user',
        description:
          '`active` disables or enables (`user.disable`, `user.enable`); `password` sets a new one (`user.password`) and ends its sessions. Refused with 409 LAST_FULL_ACCESS_USER for the last enabled full-access user.',
        tags,
        params: IdParams,
        body: Modify,
        response: { 200: AdministratorView },
      },
    },
    async (req) => {
      const u = await byId(req.params.id);
      const actor = actorOf(req);
      // Both checked before either is stored, so a refused request changes nothing.
      const weak = req.body.password === undefined ? null : passwordProblem(req.body.password);
      if (weak) throw new PalisadeError('PASSWORD_TOO_WEAK', weak);
      if (req.body.active === false) await auth.setDisabled(u.name, true, actor, true);
      if (req.body.password !== undefined) await auth.setPassword(u.name, req.body.password, actor);
      if (req.body.active === true) await auth.setDisabled(u.name, false, actor);
      return view(await byId(req.params.id), now());
    },
  );
}
