import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { PalisadeError } from '../errors.js';
import {
  type ConsoleAuthService,
  type ConsoleSession,
  LockedOut,
  SESSION_MAX_MS,
} from '../services/console-auth-service.js';
import { SESSION_COOKIE } from './auth.js';
import { EmptyReply } from './schemas.js';

const SignIn = Type.Object(
  {
    userName: Type.String({ minLength: 1, maxLength: 64 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false },
);

const PasswordChange = Type.Object(
  {
    currentPassword: Type.String({ minLength: 1, maxLength: 1024 }),
    newPassword: Type.String({ minLength: 1, maxLength: 1024, description: 'at least 12 characters' }),
  },
  { additionalProperties: false },
);

const SessionView = Type.Object({
  user: Nullable(
    Type.Object({
      name: Type.String(),
      role: Type.String({ enum: ['full-access', 'read-only'] }),
    }),
  ),
  apiKey: Nullable(Type.Object({ name: Type.String(), role: Type.String({ enum: ['full-access', 'read-only'] }) })),
  csrfToken: Nullable(Type.String({ description: 'send it back in x-csrf-token on every write made with the cookie' })),
  expiresAt: Nullable(
    Type.Number({ description: 'epoch ms; moves forward while the session is used (30 min idle, 12 h at most)' }),
  ),
});

function Nullable<T extends import('@sinclair/typebox').TSchema>(t: T) {
  return Type.Union([t, Type.Null()]);
}

function sessionView(s: ConsoleSession) {
  return {
    user: { name: s.user.name, role: s.user.role },
    apiKey: null,
    csrfToken: s.csrfToken,
    expiresAt: s.expiresAt,
  };
}

function clearCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'strict' });
}

/**
 * Console sign-in (`/api/session`): `POST` signs in and sets the session cookie (HttpOnly,
 * Secure, SameSite=Strict), `GET` says who is signed in and hands the CSRF token, `DELETE`
 * signs out. The only route under `/api/` that needs neither a key nor a session is the sign-in.
 */
export function sessionRoutes(app: FastifyInstance, auth: ConsoleAuthService): void {
  const tags = ['Console'];
  app.post<{ Body: Static<typeof SignIn> }>(
    '/api/session',
    {
      config: { public: true },
      schema: {
        summary: 'Sign in to the console',
        description:
          'Sets the session cookie. Five failures in a row lock the user (30 s, doubling, at most 15 min); every attempt is audited.',
        tags,
        body: SignIn,
        response: { 200: SessionView },
      },
    },
    async (req, reply) => {
      try {
        const s = await auth.signIn(req.body.userName, req.body.password, req.ip);
        reply.setCookie(SESSION_COOKIE, s.secret, {
          path: '/',
          httpOnly: true,
          secure: true,
          sameSite: 'strict',
          maxAge: SESSION_MAX_MS / 1000,
        });
        return sessionView(s);
      } catch (e) {
        if (e instanceof LockedOut) reply.header('retry-after', String(e.retryAfterSeconds));
        throw e;
      }
    },
  );

  app.get(
    '/api/session',
    {
      // The console asks on every load; "nobody signed in" is an answer, not an error.
      config: { optionalAuth: true },
      schema: {
        summary: 'Who is signed in',
        description: 'The console user (with the CSRF token) or API key of the request; all null when neither.',
        tags,
        response: { 200: SessionView },
      },
    },
    async (req) => {
      if (req.consoleSession) return sessionView(req.consoleSession);
      const apiKey = req.apiKey ? { name: req.apiKey.name, role: req.apiKey.role } : null;
      return { user: null, apiKey, csrfToken: null, expiresAt: null };
    },
  );

  app.post<{ Body: Static<typeof PasswordChange> }>(
    '/api/session/password',
    {
      // Read-only users change their own password too (Deep Security's roles allow it by default).
      config: { ownAccount: true },
      schema: {
        summary: "Change the signed-in user's own password",
        description:
          "A wrong current password answers 403 CURRENT_PASSWORD_WRONG (not 401: the session is still good), is audited (`user.password.failed`) and counts toward the sign-in lock-out. On success the user's other sessions end; this one stays.",
        tags,
        body: PasswordChange,
        response: { 204: EmptyReply },
      },
    },
    async (req, reply) => {
      if (!req.consoleSession) throw new PalisadeError('CONSOLE_SESSION_REQUIRED');
      await auth.changeOwnPassword(req.consoleSession, req.body.currentPassword, req.body.newPassword);
      return reply.status(204).send();
    },
  );

  app.delete(
    '/api/session',
    { schema: { summary: 'Sign out of the console', tags, response: { 204: EmptyReply } } },
    async (req, reply) => {
      if (req.consoleSession) await auth.signOut(req.consoleSession);
      clearCookie(reply);
      return reply.status(204).send();
    },
  );
}
