import type { Selectable } from 'kysely';
import { num } from '../column-values.js';
import type { Database } from '../schema.js';
import { Repository } from './repository.js';

export type ConsoleRole = 'full-access' | 'read-only';

/** A console user. `disabledAt` null while the user may sign in; `lockedUntil` null or past when not locked out. */
export interface ConsoleUserRecord {
  id: number;
  name: string;
  passwordHash: string;
  role: ConsoleRole;
  createdAt: number;
  updatedAt: number;
  disabledAt: number | null;
  lastSignInAt: number | null;
  /** Consecutive failed sign-ins since the last successful one. */
  failedSignIns: number;
  lockedUntil: number | null;
}

/** A live session with its user. `expiresAt` is the sooner of the idle and the absolute limit. */
export interface ConsoleSessionRecord {
  idHash: string;
  user: ConsoleUserRecord;
  csrfToken: string;
  createdAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

function toUser(r: Selectable<Database['console_users']>): ConsoleUserRecord {
  return {
    id: num(r.id),
    name: r.name,
    passwordHash: r.password_hash,
    role: r.role === 'read-only' ? 'read-only' : 'full-access',
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
    disabledAt: r.disabled_at === null ? null : num(r.disabled_at),
    lastSignInAt: r.last_sign_in_at === null ? null : num(r.last_sign_in_at),
    failedSignIns: num(r.failed_sign_ins),
    lockedUntil: r.locked_until === null ? null : num(r.locked_until),
  };
}

/** Console users and their sessions (migration 0007). */
export class ConsoleUserRepository extends Repository {
  /** Inserts a user; null when the name is taken. */
  async createUser(u: {
    name: string;
    passwordHash: string;
    role: ConsoleRole;
    now: number;
  }): Promise<ConsoleUserRecord | null> {
    const taken = await this.findUserByName(u.name);
    if (taken) return null;
    const row = await this.db
      .insertInto('console_users')
      .values({
        name: u.name,
        password_hash: u.passwordHash,
        role: u.role,
        created_at: u.now,
        updated_at: u.now,
        disabled_at: null,
        last_sign_in_at: null,
        locked_until: null,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    return toUser(row);
  }

  async findUserByName(name: string): Promise<ConsoleUserRecord | null> {
    const r = await this.db.selectFrom('console_users').selectAll().where('name', '=', name).executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async getUser(id: number): Promise<ConsoleUserRecord | null> {
    const r = await this.db.selectFrom('console_users').selectAll().where('id', '=', id).executeTakeFirst();
    return r ? toUser(r) : null;
  }

  async listUsers(): Promise<ConsoleUserRecord[]> {
    return (await this.db.selectFrom('console_users').selectAll().orderBy('name').execute()).map(toUser);
  }

  async countUsers(): Promise<number> {
    const r = await this.db
      .selectFrom('console_users')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return num(r.n);
  }

  /** A failed sign-in: the count goes up by one and the lock is set as the caller decided. */
  async recordFailure(id: number, lockedUntil: number | null): Promise<void> {
    await this.db
      .updateTable('console_users')
      .set((eb) => ({ failed_sign_ins: eb('failed_sign_ins', '+', 1), locked_until: lockedUntil }))
      .where('id', '=', id)
      .execute();
  }

  /** A successful sign-in clears the failures and the lock. */
  async recordSignIn(id: number, now: number): Promise<void> {
    await this.db
      .updateTable('console_users')
      .set({ failed_sign_ins: 0, locked_until: null, last_sign_in_at: now })
      .where('id', '=', id)
      .execute();
  }

  /** New password (clears any lock-out); false if no such user. */
  async setPassword(id: number, passwordHash: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('console_users')
      .set({ password_hash: passwordHash, updated_at: now, failed_sign_ins: 0, locked_until: null })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** A new name; false if no such user. The caller checks the name is free (the column is unique). */
  async rename(id: number, name: string, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('console_users')
      .set({ name, updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Another role; false if no such user. */
  async setRole(id: number, role: ConsoleRole, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('console_users')
      .set({ role, updated_at: now })
      .where('id', '=', id)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Removes a user and its sessions; false if no such user. */
  deleteUser(id: number): Promise<boolean> {
    return this.session.atomically(async (db) => {
      await db.deleteFrom('console_sessions').where('user_id', '=', id).execute();
      const r = await db.deleteFrom('console_users').where('id', '=', id).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** Disables (or with `disabled` false, enables) a user; a disabled user's sessions end with it. */
  setDisabled(id: number, disabled: boolean, now: number): Promise<boolean> {
    return this.session.atomically(async (db) => {
      const r = await db
        .updateTable('console_users')
        .set({ disabled_at: disabled ? now : null, updated_at: now })
        .where('id', '=', id)
        .executeTakeFirst();
      if (disabled) await db.deleteFrom('console_sessions').where('user_id', '=', id).execute();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  async createSession(s: { idHash: string; userId: number; csrfToken: string; now: number; expiresAt: number }) {
    await this.db
      .insertInto('console_sessions')
      .values({
        id_hash: s.idHash,
        user_id: s.userId,
        csrf_token: s.csrfToken,
        created_at: s.now,
        last_seen_at: s.now,
        expires_at: s.expiresAt,
      })
      .execute();
  }

  /** The session and its user, whatever its expiry (the caller judges it). */
  async findSession(idHash: string): Promise<ConsoleSessionRecord | null> {
    const r = await this.db
      .selectFrom('console_sessions as s')
      .innerJoin('console_users as u', 'u.id', 's.user_id')
      .selectAll('u')
      .select(['s.id_hash', 's.csrf_token', 's.created_at as s_created_at', 's.last_seen_at', 's.expires_at'])
      .where('s.id_hash', '=', idHash)
      .executeTakeFirst();
    if (!r) return null;
    return {
      idHash: r.id_hash,
      user: toUser(r),
      csrfToken: r.csrf_token,
      createdAt: num(r.s_created_at),
      lastSeenAt: num(r.last_seen_at),
      expiresAt: num(r.expires_at),
    };
  }

  async touchSession(idHash: string, now: number, expiresAt: number): Promise<void> {
    await this.db
      .updateTable('console_sessions')
      .set({ last_seen_at: now, expires_at: expiresAt })
      .where('id_hash', '=', idHash)
      .execute();
  }

  async deleteSession(idHash: string): Promise<boolean> {
    const r = await this.db.deleteFrom('console_sessions').where('id_hash', '=', idHash).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** Ends a user's sessions, all but `except` (a session hash) when given. */
  async deleteSessionsOf(userId: number, except?: string): Promise<void> {
    let q = this.db.deleteFrom('console_sessions').where('user_id', '=', userId);
    if (except !== undefined) q = q.where('id_hash', '!=', except);
    await q.execute();
  }

  /** Removes expired sessions; returns how many. */
  async deleteExpiredSessions(now: number): Promise<number> {
    const r = await this.db.deleteFrom('console_sessions').where('expires_at', '<=', now).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
