import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { passwordProblem } from '../auth/passwords.js';
import { PalisadeError } from '../errors.js';
import type { ConsoleAuthService } from '../services/console-auth-service.js';
import { ROLES, roleById, roleOf } from '../services/roles.js';
import type { ConsoleUserRecord } from '../store/store.js';
import { actorOf } from './auth-actor.js';
import { EmptyReply, IdParams, Nullable } from './schemas.js';

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
    username: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'a new name; the user signs in with it from now on' }),
    ),
    roleID: Type.Optional(
      Type.Integer({
        description: `GET /api/roles: ${roleIds}; the last enabled full-access user cannot be made an Auditor`,
      }),
    ),
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
 * Auditor), modify (`username`, `roleID`, `active`, an administrator's password reset) and delete. Read-only keys and users
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
          '`username` renames (`user.rename`); `roleID` gives another role (`user.role`); `active` disables or enables (`user.disable`, `user.enable`); `password` sets a new one (`user.password`) and ends its sessions. Making the last enabled full-access user an Auditor or disabling it is refused with 409 LAST_FULL_ACCESS_USER; a refused request changes nothing.',
        tags,
        params: IdParams,
        body: Modify,
        response: { 200: AdministratorView },
      },
    },
    async (req) => {
      const u = await byId(req.params.id);
      const actor = actorOf(req);
      const b = req.body;
      const weak = b.password === undefined ? null : passwordProblem(b.password);
      if (weak) throw new PalisadeError('PASSWORD_TOO_WEAK', weak);
      const role = b.roleID === undefined ? undefined : roleById(b.roleID, true).role;
      // Name, role and active in one transaction, refused as a whole; then the password (checked above).
      const changed = await auth.modifyUser(
        u.id,
        {
          ...(b.username !== undefined ? { name: b.username } : {}),
          ...(role ? { role } : {}),
          ...(b.active !== undefined ? { active: b.active } : {}),
        },
        actor,
      );
      if (b.password !== undefined) await auth.setPassword(changed.name, b.password, actor);
      return view(await byId(req.params.id), now());
    },
  );
  app.delete<Id>(
    '/api/administrators/:id',
    {
      schema: {
        summary: 'Delete a console user',
        description:
          'Removes the user and ends its sessions (`user.delete`, its name kept in the audit row). Refused with 409 USER_IS_YOU for the caller itself and LAST_FULL_ACCESS_USER for the last enabled full-access user.',
        tags,
        params: IdParams,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      await auth.deleteUser(Number(req.params.id), actorOf(req), req.consoleSession?.user.id ?? null);
      return reply.status(204).send();
    },
  );
}
