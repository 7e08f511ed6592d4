import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { type Administrator, del, get, post } from '../api';
import { MIN_PASSWORD } from '../components/change-password';
import { showApiError } from '../components/form-errors';
import {
  ActionTable,
  ConfirmButton,
  ErrorBox,
  FormDialog,
  Notice,
  PasswordField,
  RoleField,
  TextField,
} from '../components/ui';
import { dateTime } from '../format';
import { roleName } from '../roles';
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

/** Administration > Users: console users, a new one, Rename, Change role, Disable / Enable, Reset password, Delete. */
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
  const remove = useMutation({
    mutationFn: (u: Administrator) => del(`/api/administrators/${u.ID}`),
    onMutate: () => setNotice(null),
    onSuccess: async (_r, u) => {
      setNotice({ tone: 'ok', text: `“${u.username}” deleted.` });
      await qc.invalidateQueries({ queryKey: ['administrators'] });
    },
    onError: (e, u) => setNotice({ tone: 'error', text: `“${u.username}” not deleted: ${(e as Error).message}` }),
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
      <ActionTable
        label="Users"
        columns={['User name', 'Role', 'Status', 'Last sign-in', 'Created']}
        rows={rows}
        pending={q.isPending}
        empty="No users."
        rowKey={(u) => u.ID}
        cells={(u) => (
          <>
            <td>
              <strong>{u.username}</strong>
              {u.username === session.name ? <span className="cell-sub"> (you)</span> : null}
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
          </>
        )}
        actions={
          session.canWrite
            ? (u) => (
                <>
                  <ModifyUser user={u} what="name" />
                  <ModifyUser user={u} what="role" />
                  {u.username === session.name ? null : (
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
                      <ConfirmButton
                        label="Delete"
                        danger
                        title={`Delete “${u.username}”?`}
                        text="The user is removed and signed out; the audit log keeps its name. This cannot be undone."
                        confirm="Delete"
                        disabled={remove.isPending}
                        onConfirm={() => remove.mutate(u)}
                      />
                    </>
                  )}
                </>
              )
            : undefined
        }
      />
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
        <TextField
          label="User name"
          autoComplete="off"
          error={errors.username?.message}
          registration={form.register('username')}
        />
        <RoleField error={errors.roleID?.message} registration={form.register('roleID')} />
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
    <FormDialog
      label="Reset password"
      title={`New password for “${user.username}”`}
      text="The user is signed out everywhere and signs in again with this password."
      submit="Set password"
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (o) form.reset({ password: '' });
      }}
      onSubmit={form.handleSubmit((v) => reset.mutate(v))}
      pending={reset.isPending}
      rootError={form.formState.errors.root?.message}
    >
      <PasswordField
        label="New password"
        error={form.formState.errors.password?.message}
        autoComplete="new-password"
        registration={form.register('password')}
      />
    </FormDialog>
  );
}

const modifySchema = z.object({
  username: z.string().trim().min(1, 'A name is required.'),
  roleID: z.enum(['1', '2']),
});
type Modify = z.infer<typeof modifySchema>;

/**
 * Rename or Change role (`POST /api/administrators/{id}`): the manager's refusal beside the field,
 * a name taken or invalid beside the name, the last full-access user's (409) beside the role.
 */
function ModifyUser({ user, what }: { user: Administrator; what: 'name' | 'role' }) {
  const [open, setOpen] = useState(false);
  const qc = useQueryClient();
  const initial: Modify = { username: user.username, roleID: user.roleID === 2 ? '2' : '1' };
  const form = useForm<Modify>({ resolver: zodResolver(modifySchema), defaultValues: initial });
  const modify = useMutation({
    mutationFn: (v: Modify) =>
      post<Administrator>(
        `/api/administrators/${user.ID}`,
        what === 'name' ? { username: v.username } : { roleID: Number(v.roleID) },
      ),
    onSuccess: async () => {
      setOpen(false);
      // Renaming oneself changes the name the top bar shows.
      await qc.invalidateQueries({ queryKey: ['administrators'] });
      await qc.invalidateQueries({ queryKey: ['session'] });
    },
    onError: (e) =>
      showApiError(form, e, (code) =>
        code === 'USER_NAME_TAKEN' || code === 'USER_INVALID' || code === 'VALIDATION_FAILED'
          ? what === 'name'
            ? 'username'
            : undefined
          : code === 'LAST_FULL_ACCESS_USER' || code === 'ROLE_REFERENCE_UNKNOWN'
            ? 'roleID'
            : undefined,
      ),
  });
  const errors = form.formState.errors;
  return (
    <FormDialog
      label={what === 'name' ? 'Rename' : 'Change role'}
      title={what === 'name' ? `Rename “${user.username}”` : `Role of “${user.username}”`}
      text={
        what === 'name'
          ? 'The user signs in with the new name from now on; the audit log keeps the old one.'
          : 'Takes effect at the next request: an Auditor sees everything and changes nothing.'
      }
      submit={what === 'name' ? 'Rename' : 'Change role'}
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (o) form.reset(initial);
      }}
      onSubmit={form.handleSubmit((v) => modify.mutate(v))}
      pending={modify.isPending}
      rootError={errors.root?.message}
    >
      {what === 'name' ? (
        <TextField
          label="User name"
          autoComplete="off"
          error={errors.username?.message}
          registration={form.register('username')}
        />
      ) : (
        <RoleField error={errors.roleID?.message} registration={form.register('roleID')} />
      )}
    </FormDialog>
  );
}
