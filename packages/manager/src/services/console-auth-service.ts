import { createHash } from 'node:crypto';
import { decoyHash, hashPassword, passwordProblem, verifyPassword } from '../auth/passwords.js';
import { PalisadeError } from '../errors.js';
import { randomToken } from '../secrets.js';
import type { ConsoleUserRepository } from '../store/repositories/console-user-repository.js';
import type { ConsoleRole, ConsoleSessionRecord, ConsoleUserRecord, NewAuditEvent, Store } from '../store/store.js';

/**
 * Session lifetime: ended after 30 minutes without a request (OWASP Session Management Cheat
 * Sheet: 15–30 min idle for high-value applications) and 12 hours after sign-in whatever happens.
 */
export const SESSION_IDLE_MS = 30 * 60_000;
export const SESSION_MAX_MS = 12 * 3_600_000;
/** A session's expiry moves forward at most once a minute, so reads stay reads. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Lock-out with back-off: after this many consecutive failures a user is locked for
 * LOCKOUT_BASE_MS, doubled for every further failure, at most LOCKOUT_MAX_MS. A correct password
 * during the lock is refused too, so guessing gains nothing from it.
 */
export const LOCKOUT_THRESHOLD = 5;
export const LOCKOUT_BASE_MS = 30_000;
export const LOCKOUT_MAX_MS = 15 * 60_000;

/** How long a user is locked after `failures` consecutive failures (0 below the threshold). */
export function lockoutMs(failures: number): number {
  if (failures < LOCKOUT_THRESHOLD) return 0;
  return Math.min(LOCKOUT_BASE_MS * 2 ** (failures - LOCKOUT_THRESHOLD), LOCKOUT_MAX_MS);
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function userNameProblem(name: string): string | null {
  return NAME.test(name) ? null : 'use 1–64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit';
}

function sha256(s: string): string {
  return createHash('sha256').update(s, 'utf8').digest('hex');
}

/** A signed-in console user as requests see it. */
export interface ConsoleSession {
  user: { id: number; name: string; role: ConsoleRole };
  csrfToken: string;
  expiresAt: number;
  /** The cookie's hash: the session's key in the store. */
  idHash: string;
}

function sessionOf(s: ConsoleSessionRecord): ConsoleSession {
  return {
    user: { id: s.user.id, name: s.user.name, role: s.user.role },
    csrfToken: s.csrfToken,
    expiresAt: s.expiresAt,
    idHash: s.idHash,
  };
}

function audit(
  action: NewAuditEvent['action'],
  actor: string,
  targetId: number | null,
  now: number,
  detail: { setting?: string; oldValue?: string | null; newValue?: string | null } = {},
): NewAuditEvent {
  return {
    time: now,
    actor,
    action,
    targetType: 'user',
    targetId,
    setting: detail.setting ?? null,
    oldValue: detail.oldValue ?? null,
    newValue: detail.newValue ?? null,
  };
}

/**
 * Console users, sign-in and sessions (docs/console.md). The cookie carries a 256-bit random
 * secret; the store keeps only its SHA-256, and a CSRF token the console sends back on every
 * write. Every sign-in, failure and sign-out is audited in the same transaction as its effect.
 */
export class ConsoleAuthService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** Signs in; the reply's `secret` goes into the session cookie and nowhere else. */
  async signIn(name: string, password: string, from: string | null): Promise<ConsoleSession & { secret: string }> {
    const t = this.now();
    const user = await this.store.consoleUsers.findUserByName(name);
    // The hash is checked before anything else is decided so every refusal takes as long.
    const ok = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    const where = from ? `from ${from}` : null;
    if (!user) {
      await this.store.audit.insert([
        audit('user.signin.failed', 'anonymous', null, t, { setting: name.slice(0, 64), newValue: 'unknown user' }),
      ]);
      throw new PalisadeError('SIGN_IN_FAILED');
    }
    if (user.disabledAt !== null) {
      await this.store.audit.insert([
        audit('user.signin.failed', `user:${user.id}`, user.id, t, { newValue: 'disabled', oldValue: where }),
      ]);
      throw new PalisadeError('SIGN_IN_FAILED');
    }
    if (user.lockedUntil !== null && user.lockedUntil > t) {
      await this.store.audit.insert([
        audit('user.signin.failed', `user:${user.id}`, user.id, t, { newValue: 'locked', oldValue: where }),
      ]);
      throw new LockedOut(user.lockedUntil - t);
    }
    if (!ok) {
      const failures = user.failedSignIns + 1;
      const lock = lockoutMs(failures);
      await this.store.transaction(async (tx) => {
        await tx.consoleUsers.recordFailure(user.id, lock > 0 ? t + lock : null);
        await tx.audit.insert([
          audit('user.signin.failed', `user:${user.id}`, user.id, t, {
            newValue: lock > 0 ? `wrong password; locked for ${Math.round(lock / 1000)} s` : 'wrong password',
            oldValue: where,
          }),
        ]);
      });
      if (lock > 0) throw new LockedOut(lock);
      throw new PalisadeError('SIGN_IN_FAILED');
    }
    const secret = randomToken(32);
    const csrfToken = randomToken(32);
    const expiresAt = Math.min(t + SESSION_IDLE_MS, t + SESSION_MAX_MS);
    const idHash = sha256(secret);
    await this.store.transaction(async (tx) => {
      const users = tx.consoleUsers;
      await users.recordSignIn(user.id, t);
      await users.createSession({ idHash, userId: user.id, csrfToken, now: t, expiresAt });
      await users.deleteExpiredSessions(t);
      await tx.audit.insert([audit('user.signin', `user:${user.id}`, user.id, t, { oldValue: where })]);
    });
    return { secret, idHash, csrfToken, expiresAt, user: { id: user.id, name: user.name, role: user.role } };
  }

  /** The live session a cookie names, or null (unknown, expired, user disabled). Slides the idle expiry. */
  async session(secret: string): Promise<ConsoleSession | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(secret)) return null;
    const t = this.now();
    const users = this.store.consoleUsers;
    const s = await users.findSession(sha256(secret));
    if (!s) return null;
    if (s.expiresAt <= t || s.user.disabledAt !== null) {
      await users.deleteSession(s.idHash);
      return null;
    }
    if (t - s.lastSeenAt >= TOUCH_EVERY_MS) {
      const expiresAt = Math.min(t + SESSION_IDLE_MS, s.createdAt + SESSION_MAX_MS);
      await users.touchSession(s.idHash, t, expiresAt);
      return sessionOf({ ...s, lastSeenAt: t, expiresAt });
    }
    return sessionOf(s);
  }

  async signOut(s: ConsoleSession): Promise<void> {
    const t = this.now();
    await this.store.transaction(async (tx) => {
      if (await tx.consoleUsers.deleteSession(s.idHash))
        await tx.audit.insert([audit('user.signout', `user:${s.user.id}`, s.user.id, t)]);
    });
  }

  async createUser(name: string, role: ConsoleRole, password: string, actor: string): Promise<ConsoleUserRecord> {
    const badName = userNameProblem(name);
    if (badName) throw new PalisadeError('USER_INVALID', `name "${name}": ${badName}`);
    const weak = passwordProblem(password);
    if (weak) throw new PalisadeError('PASSWORD_TOO_WEAK', weak);
    const passwordHash = await hashPassword(password);
    const t = this.now();
    return this.store.transaction(async (tx) => {
      const u = await tx.consoleUsers.createUser({ name, passwordHash, role, now: t });
      if (!u) throw new PalisadeError('USER_NAME_TAKEN', `"${name}"`);
      await tx.audit.insert([audit('user.create', actor, u.id, t, { setting: 'role', newValue: role })]);
      return u;
    });
  }

  /** New password; the user's sessions end (whoever held the old one is signed out). */
  async setPassword(name: string, password: string, actor: string): Promise<ConsoleUserRecord> {
    const weak = passwordProblem(password);
    if (weak) throw new PalisadeError('PASSWORD_TOO_WEAK', weak);
    const passwordHash = await hashPassword(password);
    const t = this.now();
    return this.store.transaction(async (tx) => {
      const users = tx.consoleUsers;
      const u = await users.findUserByName(name);
      if (!u) throw new PalisadeError('USER_NOT_FOUND', `"${name}"`);
      await users.setPassword(u.id, passwordHash, t);
      await users.deleteSessionsOf(u.id);
      await tx.audit.insert([audit('user.password', actor, u.id, t)]);
      return u;
    });
  }

  /**
   * Disables or enables a user; disabling ends the user's sessions. With `keepOneFullAccess` (the
   * API), disabling the last enabled full-access user is refused: nobody could then change
   * anything from the console, and only the CLI on the manager host could undo it.
   */
  async setDisabled(
    name: string,
    disabled: boolean,
    actor: string,
    keepOneFullAccess = false,
  ): Promise<ConsoleUserRecord> {
    const t = this.now();
    return this.store.transaction(async (tx) => {
      const users = tx.consoleUsers;
      const u = await users.findUserByName(name);
      if (!u) throw new PalisadeError('USER_NOT_FOUND', `"${name}"`);
      if ((u.disabledAt !== null) === disabled) return u;
      if (disabled && keepOneFullAccess && u.role === 'full-access') await refuseLastFullAccess(users, u, 'disabled');
      await users.setDisabled(u.id, disabled, t);
      await tx.audit.insert([audit(disabled ? 'user.disable' : 'user.enable', actor, u.id, t)]);
      return (await users.getUser(u.id)) ?? u;
    });
  }

  /**
   * Renames a user, gives it another role, disables or enables it (its sessions end when
   * disabled), in one transaction: nothing is stored if any of it is refused. Leaving no enabled
   * full-access user (disabling the last one, or making it an Auditor) is refused.
   */
  async modifyUser(
    id: number,
    changes: { name?: string; role?: ConsoleRole; active?: boolean },
    actor: string,
  ): Promise<ConsoleUserRecord> {
    if (changes.name !== undefined) {
      const badName = userNameProblem(changes.name);
      if (badName) throw new PalisadeError('USER_INVALID', `username "${changes.name}": ${badName}`);
    }
    const t = this.now();
    return this.store.transaction(async (tx) => {
      const users = tx.consoleUsers;
      const u = await users.getUser(id);
      if (!u) throw new PalisadeError('USER_NOT_FOUND', `ID ${id}`);
      const demoted = changes.role !== undefined && changes.role !== 'full-access';
      if (u.role === 'full-access' && u.disabledAt === null && (demoted || changes.active === false))
        await refuseLastFullAccess(users, u, changes.active === false ? 'disabled' : 'made an Auditor');
      const rows: NewAuditEvent[] = [];
      if (changes.name !== undefined && changes.name !== u.name) {
        if (await users.findUserByName(changes.name)) throw new PalisadeError('USER_NAME_TAKEN', `"${changes.name}"`);
        await users.rename(u.id, changes.name, t);
        rows.push(audit('user.rename', actor, u.id, t, { setting: 'name', oldValue: u.name, newValue: changes.name }));
      }
      if (changes.role !== undefined && changes.role !== u.role) {
        await users.setRole(u.id, changes.role, t);
        rows.push(audit('user.role', actor, u.id, t, { setting: 'role', oldValue: u.role, newValue: changes.role }));
      }
      if (changes.active !== undefined && changes.active === (u.disabledAt !== null)) {
        await users.setDisabled(u.id, !changes.active, t);
        rows.push(audit(changes.active ? 'user.enable' : 'user.disable', actor, u.id, t));
      }
      if (rows.length > 0) await tx.audit.insert(rows);
      return (await users.getUser(u.id)) ?? u;
    });
  }

  /**
   * Removes a user and ends its sessions. Refused for the caller itself (`selfId`: nobody deletes
   * the account they act with) and for the last enabled full-access user.
   */
  async deleteUser(id: number, actor: string, selfId: number | null): Promise<void> {
    if (id === selfId) throw new PalisadeError('USER_IS_YOU', `ID ${id}`);
    const t = this.now();
    await this.store.transaction(async (tx) => {
      const users = tx.consoleUsers;
      const u = await users.getUser(id);
      if (!u) throw new PalisadeError('USER_NOT_FOUND', `ID ${id}`);
      if (u.role === 'full-access' && u.disabledAt === null) await refuseLastFullAccess(users, u, 'deleted');
      await users.deleteUser(u.id);
      await tx.audit.insert([audit('user.delete', actor, u.id, t, { setting: 'name', oldValue: u.name })]);
    });
  }

  /**
   * The signed-in user's own new password, given the current one. A wrong current password is
   * refused (CURRENT_PASSWORD_WRONG), audited, and counts toward the sign-in lock-out like a
   * failed sign-in, so a stolen session cannot be used to guess the password. The user's other
   * sessions end; this one stays.
   */
  async changeOwnPassword(s: ConsoleSession, current: string, next: string): Promise<void> {
    const t = this.now();
    const actor = `user:${s.user.id}`;
    const user = await this.store.consoleUsers.getUser(s.user.id);
    if (!user) throw new PalisadeError('SESSION_EXPIRED');
    const ok = await verifyPassword(current, user.passwordHash);
    if (user.lockedUntil !== null && user.lockedUntil > t) throw new LockedOut(user.lockedUntil - t);
    if (!ok) {
      const lock = lockoutMs(user.failedSignIns + 1);
      await this.store.transaction(async (tx) => {
        await tx.consoleUsers.recordFailure(user.id, lock > 0 ? t + lock : null);
        await tx.audit.insert([
          audit('user.password.failed', actor, user.id, t, {
            newValue:
              lock > 0 ? `wrong current password; locked for ${Math.round(lock / 1000)} s` : 'wrong current password',
          }),
        ]);
      });
      throw new PalisadeError('CURRENT_PASSWORD_WRONG');
    }
    const weak = passwordProblem(next);
    if (weak) throw new PalisadeError('PASSWORD_TOO_WEAK', weak);
    const passwordHash = await hashPassword(next);
    await this.store.transaction(async (tx) => {
      await tx.consoleUsers.setPassword(user.id, passwordHash, t);
      await tx.consoleUsers.deleteSessionsOf(user.id, s.idHash);
      await tx.audit.insert([audit('user.password', actor, user.id, t, { setting: 'own' })]);
    });
  }

  getUser(id: number): Promise<ConsoleUserRecord | null> {
    return this.store.consoleUsers.getUser(id);
  }

  listUsers(): Promise<ConsoleUserRecord[]> {
    return this.store.consoleUsers.listUsers();
  }
}

/**
 * Refuses a change that would leave no enabled full-access user: nobody could then change
 * anything from the console, and only the CLI on the manager host could undo it.
 */
async function refuseLastFullAccess(users: ConsoleUserRepository, u: ConsoleUserRecord, what: string): Promise<void> {
  const others = (await users.listUsers()).filter(
    (o) => o.id !== u.id && o.role === 'full-access' && o.disabledAt === null,
  );
  if (others.length === 0)
    throw new PalisadeError('LAST_FULL_ACCESS_USER', `"${u.name}" is the only enabled full-access user: not ${what}`);
}

/** SIGN_IN_LOCKED with how long the lock still holds (the reply's Retry-After). */
export class LockedOut extends PalisadeError {
  override readonly name = 'LockedOut';
  readonly retryAfterSeconds: number;
  constructor(ms: number) {
    const s = Math.max(1, Math.ceil(ms / 1000));
    super('SIGN_IN_LOCKED', `try again in ${s} s`);
    this.retryAfterSeconds = s;
  }
}
