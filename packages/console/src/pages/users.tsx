import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Dialog } from 'radix-ui';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { type Administrator, get, post } from '../api';
import { MIN_PASSWORD } from '../components/change-password';
import { showApiError } from '../components/form-errors';
import { ConfirmButton, ErrorBox, Field, Notice, PasswordField } from '../components/ui';
import { dateTime } from '../format';
import { ROLES, roleName } from '../roles';
import { useSession } from '../session';

const newUserSchema = z
  .object({
    username: z
      .string()
      .regex(
        /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/,
        '1–64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.',
      ),
    roleID: z.enum(['1', '2']),
    password: z.string().min(MIN_PASSWORD, `At least ${MIN_PASSWORD} characters.`),
    confirm: z.string(),
  })
  .refine((v) => v.confirm === v.password, { path: ['confirm'], message: 'The two passwords differ.' });
type NewUser = z.infer<typeof newUserSchema>;
const EMPTY: NewUser = { username: '', roleID: '1', password: '', confirm: '' };

function useAdministrators() {
  return useQuery({
    queryKey: ['administrators'],
    queryFn: async () => (await get<{ administrators: Administrator[] }>('/api/administrators')).administrators,
    staleTime: 0,
  });
}

/** Administration > Users: console users, a new one, Disable / Enable, an administrator's password reset. */
export function Users() {
  const session = useSession();
  const qc = useQueryClient();
  const q = useAdministrators();
  const [notice, setNotice] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const setActive = useMutation({
    mutationFn: (v: { u: Administrator; active: boolean }) =>
      post<Administrator>(`/api/administrators/${v.u.ID}`, { active: v.active }),
    onMutate: () => setNotice(null),
    onSuccess: async (u) => {
      setNotice({ tone: 'ok', text: `“${u.username}” ${u.active ? 'enabled' : 'disabled; its sessions were ended'}.` });
      await qc.invalidateQueries({ queryKey: ['administrators'] });
    },
    onError: (e, v) => setNotice({ tone: 'error', text: `“${v.u.username}” not changed: ${(e as Error).message}` }),
  });
  const rows = q.data ?? [];
  return (
    <section className="card" aria-labelledby="users-h">
      <h2 id="users-h">Users</h2>
      <p className="card-sub">
        Console users. Full Access changes anything; Auditor (read only) sees everything and changes nothing. Every
        change here is in the audit log.
      </p>
      <ErrorBox error={q.error} />
      {notice ? <Notice tone={notice.tone}>{notice.text}</Notice> : null}
      <div className="table-wrap">
        <table className="data-table" aria-label="Users">
          <thead>
            <tr>
              <th>User name</th>
              <th>Role</th>
              <th>Status</th>
              <th>Last sign-in</th>
              <th>Created</th>
              {session.canWrite ? (
                <th>
                  <span className="visually-hidden">Actions</span>
                </th>
              ) : null}
            </tr>
          </thead>
          <tbody>
            {rows.length === 0 ? (
              <tr>
                <td colSpan={6} className="empty">
                  {q.isPending ? 'Loading…' : 'No users.'}
                </td>
              </tr>
            ) : (
              rows.map((u) => {
                const self = u.username === session.name;
                return (
                  <tr key={u.ID}>
                    <td>
                      <strong>{u.username}</strong>
                      {self ? <span className="cell-sub"> (you)</span> : null}
                    </td>
                    <td>{roleName(u.roleID)}</td>
                    <td>
                      {!u.active ? (
                        <span className="badge badge-muted">Disabled</span>
                      ) : u.unlockTime !== null ? (
                        <span className="badge badge-warn">Locked until {dateTime(u.unlockTime)}</span>
                      ) : (
                        <span className="badge badge-ok">Enabled</span>
                      )}
                    </td>
                    <td>{u.lastSignIn === null ? 'Never' : dateTime(u.lastSignIn)}</td>
                    <td>{dateTime(u.created)}</td>
                    {session.canWrite ? (
                      <td className="row-actions">
                        {self ? (
                          <span className="help">Use Change password above</span>
                        ) : (
                          <>
                            {u.active ? (
                              <ConfirmButton
                                label="Disable"
                                danger
                                title={`Disable “${u.username}”?`}
                                text="The user is signed out now and cannot sign in until enabled again."
                                confirm="Disable"
                                disabled={setActive.isPending}
                                onConfirm={() => setActive.mutate({ u, active: false })}
                              />
                            ) : (
                              <button
                                type="button"
                                className="btn btn-small"
                                disabled={setActive.isPending}
                                onClick={() => setActive.mutate({ u, active: true })}
                              >
                                Enable
                              </button>
                            )}
                            <ResetPassword user={u} />
                          </>
                        )}
                      </td>
                    ) : null}
                  </tr>
                );
              })
            )}
          </tbody>
        </table>
      </div>
      {session.canWrite ? <NewUserForm /> : null}
    </section>
  );
}

function NewUserForm() {
  const qc = useQueryClient();
  const form = useForm<NewUser>({ resolver: zodResolver(newUserSchema), defaultValues: EMPTY });
  const [made, setMade] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (v: NewUser) =>
      post<Administrator>('/api/administrators', {
        username: v.username,
        password: v.password,
        roleID: Number(v.roleID),
      }),
    onMutate: () => setMade(null),
    onSuccess: async (u) => {
      form.reset(EMPTY);
      setMade(`“${u.username}” created (${roleName(u.roleID)}).`);
      await qc.invalidateQueries({ queryKey: ['administrators'] });
    },
    onError: (e) =>
      showApiError(form, e, (code) =>
        code === 'USER_INVALID' || code === 'USER_NAME_TAKEN'
          ? 'username'
          : code === 'PASSWORD_TOO_WEAK'
            ? 'password'
            : code === 'ROLE_REFERENCE_UNKNOWN'
              ? 'roleID'
              : undefined,
      ),
  });
  const errors = form.formState.errors;
  return (
    <form
      className="section"
      aria-labelledby="new-user-h"
      onSubmit={form.handleSubmit((v) => create.mutate(v))}
      noValidate
    >
      <h3 id="new-user-h">New user</h3>
      <div className="field-row">
        <Field label="User name" error={errors.username?.message}>
          {(id, d) => (
            <input id={id} className="input" autoComplete="off" aria-describedby={d} {...form.register('username')} />
          )}
        </Field>
        <Field label="Role" error={errors.roleID?.message}>
          {(id, d) => (
            <select id={id} className="select" aria-describedby={d} {...form.register('roleID')}>
              {ROLES.map(([r, name, what]) => (
                <option key={r} value={String(r)}>
                  {name} — {what}
                </option>
              ))}
            </select>
          )}
        </Field>
      </div>
      <div className="field-row">
        <PasswordField
          label="Password"
          error={errors.password?.message}
          help={`At least ${MIN_PASSWORD} characters.`}
          autoComplete="new-password"
          registration={form.register('password')}
        />
        <PasswordField
          label="Password again"
          error={errors.confirm?.message}
          autoComplete="new-password"
          registration={form.register('confirm')}
        />
      </div>
      {errors.root?.message ? <Notice tone="error">{errors.root.message}</Notice> : null}
      {made ? <Notice tone="ok">{made}</Notice> : null}
      <div className="form-actions">
        <button type="submit" className="btn btn-primary" disabled={create.isPending}>
          New user
        </button>
      </div>
    </form>
  );
}

const resetSchema = z.object({ password: z.string().min(MIN_PASSWORD, `At least ${MIN_PASSWORD} characters.`) });
type Reset = z.infer<typeof resetSchema>;

/** An administrator sets another user's password; the manager ends that user's sessions. */
function ResetPassword({ user }: { user: Administrator }) {
  const [open, setOpen] = useState(false);
  const qc = useQueryClient();
  const form = useForm<Reset>({ resolver: zodResolver(resetSchema), defaultValues: { password: '' } });
  const reset = useMutation({
    mutationFn: (v: Reset) => post<Administrator>(`/api/administrators/${user.ID}`, { password: v.password }),
    onSuccess: async () => {
      setOpen(false);
      await qc.invalidateQueries({ queryKey: ['administrators'] });
    },
    onError: (e) => showApiError(form, e, (code) => (code === 'PASSWORD_TOO_WEAK' ? 'password' : undefined)),
  });
  return (
    <Dialog.Root
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (o) form.reset({ password: '' });
      }}
    >
      <Dialog.Trigger asChild>
        <button type="button" className="btn btn-small">
          Reset password
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title className="dialog-title">New password for “{user.username}”</Dialog.Title>
          <Dialog.Description className="dialog-text">
            The user is signed out everywhere and signs in again with this password.
          </Dialog.Description>
          <form onSubmit={form.handleSubmit((v) => reset.mutate(v))} noValidate>
            <PasswordField
              label="New password"
              error={form.formState.errors.password?.message}
              autoComplete="new-password"
              registration={form.register('password')}
            />
            {form.formState.errors.root?.message ? (
              <Notice tone="error">{form.formState.errors.root.message}</Notice>
            ) : null}
            <div className="dialog-actions">
              <Dialog.Close asChild>
                <button type="button" className="btn">
                  Cancel
                </button>
              </Dialog.Close>
              <button type="submit" className="btn btn-primary" disabled={reset.isPending}>
                Set password
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}
