import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { del, get, post } from '../api';
import { memberNamed, showApiError } from '../components/form-errors';
import { ActionTable, ConfirmButton, ErrorBox, Notice, RoleField, SecretDialog, TextField } from '../components/ui';
import { dateTime } from '../format';
import { roleName } from '../roles';
import { useSession } from '../session';

/** Deep Security's ApiKey as `/api/apikeys` lists it (never the secret). */
interface ApiKey {
  ID: number;
  keyName: string;
  description: string;
  roleID: number;
  active: boolean;
  created: number;
  lastSignIn: number | null;
  expiryDate: number | null;
}

// Only what the form itself must know; lengths and roles are the manager's to refuse, beside the field.
const schema = z.object({
  keyName: z.string().trim().min(1, 'A name is required.'),
  description: z.string(),
  roleID: z.enum(['1', '2']),
  expiry: z.string().regex(/^(\d{4}-\d{2}-\d{2})?$/, 'A date, or empty for never.'),
});
type NewKey = z.infer<typeof schema>;
const EMPTY: NewKey = { keyName: '', description: '', roleID: '2', expiry: '' };

function status(k: ApiKey, now: number): [string, string] {
  if (!k.active) return ['Locked', 'muted'];
  if (k.expiryDate !== null && k.expiryDate <= now) return ['Expired', 'bad'];
  return ['Active', 'ok'];
}

/** Administration > API Keys: the keys scripts use (`api-secret-key`), a new one (its secret shown once), Delete. */
export function ApiKeys() {
  const session = useSession();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['apikeys'],
    queryFn: async () => (await get<{ apiKeys: ApiKey[] }>('/api/apikeys')).apiKeys,
    staleTime: 0,
  });
  const [notice, setNotice] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const remove = useMutation({
    mutationFn: (k: ApiKey) => del(`/api/apikeys/${k.ID}`),
    onMutate: () => setNotice(null),
    onSuccess: async (_r, k) => {
      setNotice({ tone: 'ok', text: `“${k.keyName}” deleted: requests with it are refused from now on.` });
      await qc.invalidateQueries({ queryKey: ['apikeys'] });
    },
    onError: (e, k) => setNotice({ tone: 'error', text: `“${k.keyName}” not deleted: ${(e as Error).message}` }),
  });
  const now = Date.now();
  const rows = q.data ?? [];
  return (
    <section className="card" aria-labelledby="apikeys-h">
      <h2 id="apikeys-h">API Keys</h2>
      <p className="card-sub">
        Scripts call the REST API with a key's secret in the <code>api-secret-key</code> header. A key acts with its
        role; deleting it revokes it at once.
      </p>
      <ErrorBox error={q.error} />
      {notice ? <Notice tone={notice.tone}>{notice.text}</Notice> : null}
      <ActionTable
        label="API keys"
        columns={['Name', 'Role', 'Status', 'Expires', 'Last used', 'Created']}
        rows={rows}
        pending={q.isPending}
        empty="No API keys."
        rowKey={(k) => k.ID}
        cells={(k) => {
          const [label, tone] = status(k, now);
          return (
            <>
              <td>
                <strong>{k.keyName}</strong>
                {k.description ? <span className="cell-sub"> {k.description}</span> : null}
              </td>
              <td>{roleName(k.roleID)}</td>
              <td>
                <span className={`badge badge-${tone}`}>{label}</span>
              </td>
              <td>{k.expiryDate === null ? 'Never' : dateTime(k.expiryDate)}</td>
              <td>{k.lastSignIn === null ? 'Never' : dateTime(k.lastSignIn)}</td>
              <td>{dateTime(k.created)}</td>
            </>
          );
        }}
        actions={
          session.canWrite
            ? (k) => (
                <ConfirmButton
                  label="Delete"
                  danger
                  title={`Delete API key “${k.keyName}”?`}
                  text="Requests made with it are refused from the next one on. This cannot be undone."
                  confirm="Delete"
                  disabled={remove.isPending}
                  onConfirm={() => remove.mutate(k)}
                />
              )
            : undefined
        }
      />
      {session.canWrite ? <NewApiKeyForm /> : null}
    </section>
  );
}

function NewApiKeyForm() {
  const qc = useQueryClient();
  const form = useForm<NewKey>({ resolver: zodResolver(schema), defaultValues: EMPTY });
  const [secret, setSecret] = useState<{ name: string; secret: string } | null>(null);
  const create = useMutation({
    mutationFn: (v: NewKey) =>
      post<ApiKey & { secretKey: string }>('/api/apikeys', {
        keyName: v.keyName,
        description: v.description,
        roleID: Number(v.roleID),
        // The key is refused from 00:00 UTC of the day chosen.
        expiryDate: v.expiry ? Date.parse(`${v.expiry}T00:00:00Z`) : null,
      }),
    onSuccess: async (k) => {
      form.reset(EMPTY);
      setSecret({ name: k.keyName, secret: k.secretKey });
      await qc.invalidateQueries({ queryKey: ['apikeys'] });
    },
    onError: (e) =>
      showApiError(
        form,
        e,
        (code, message) =>
          (code === 'ROLE_REFERENCE_UNKNOWN' ? 'roleID' : undefined) ??
          memberNamed<NewKey>({
            keyName: 'keyName',
            description: 'description',
            roleID: 'roleID',
            expiryDate: 'expiry',
          })(code, message),
      ),
  });
  const errors = form.formState.errors;
  return (
    <>
      <form
        className="section"
        aria-labelledby="new-key-h"
        onSubmit={form.handleSubmit((v) => create.mutate(v))}
        noValidate
      >
        <h3 id="new-key-h">New API key</h3>
        <div className="field-row">
          <TextField
            label="Name"
            autoComplete="off"
            error={errors.keyName?.message}
            registration={form.register('keyName')}
          />
          <RoleField error={errors.roleID?.message} registration={form.register('roleID')} />
        </div>
        <div className="field-row">
          <TextField
            label="Description"
            error={errors.description?.message}
            registration={form.register('description')}
          />
          <TextField
            label="Expires on"
            type="date"
            help="Optional: refused from 00:00 UTC that day. Empty: never expires."
            error={errors.expiry?.message}
            registration={form.register('expiry')}
          />
        </div>
        {errors.root?.message ? <Notice tone="error">{errors.root.message}</Notice> : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            New API key
          </button>
        </div>
      </form>
      <SecretDialog
        title={`API key “${secret?.name ?? ''}” created`}
        label="Secret key"
        secret={secret?.secret ?? null}
        onClose={() => setSecret(null)}
      />
    </>
  );
}
