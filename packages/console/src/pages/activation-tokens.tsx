import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { del, get, post } from '../api';
import { memberNamed, showApiError } from '../components/form-errors';
import { ActionTable, ConfirmButton, ErrorBox, Field, Notice, SecretDialog, TextField } from '../components/ui';
import { dateTime } from '../format';
import { usePolicies } from '../queries';
import { useSession } from '../session';

/** `/api/activationtokens` as listed (never the secret). */
interface ActivationToken {
  ID: number;
  policyID: number;
  policyName: string | null;
  description: string;
  maxUses: number | null;
  uses: number;
  expires: number | null;
  created: number;
  revoked: number | null;
  status: 'valid' | 'expired' | 'used-up' | 'revoked';
}

const STATUS: Record<ActivationToken['status'], [string, string]> = {
  valid: ['Valid', 'ok'],
  expired: ['Expired', 'muted'],
  'used-up': ['Used up', 'muted'],
  revoked: ['Revoked', 'bad'],
};

// Whole numbers or empty; their ranges are the manager's to refuse, beside the field.
const whole = z.string().regex(/^(-?\d+)?$/, 'A whole number, or empty.');
const schema = z.object({
  policyID: z.string().regex(/^\d+$/, 'Choose a policy.'),
  description: z.string(),
  maxUses: whole,
  hours: whole,
});
type NewToken = z.infer<typeof schema>;
const EMPTY: NewToken = { policyID: '', description: '', maxUses: '1', hours: '24' };

/** Administration > Activation Tokens: what agents activate with (`palisade-agent activate --token`). */
export function ActivationTokens() {
  const session = useSession();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['activationtokens'],
    queryFn: async () => (await get<{ activationTokens: ActivationToken[] }>('/api/activationtokens')).activationTokens,
    staleTime: 0,
  });
  const [notice, setNotice] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const revoke = useMutation({
    mutationFn: (t: ActivationToken) => del(`/api/activationtokens/${t.ID}`),
    onMutate: () => setNotice(null),
    onSuccess: async (_r, t) => {
      setNotice({ tone: 'ok', text: `Token ${t.ID} revoked: activation with it is refused from now on.` });
      await qc.invalidateQueries({ queryKey: ['activationtokens'] });
    },
    onError: (e, t) => setNotice({ tone: 'error', text: `Token ${t.ID} not revoked: ${(e as Error).message}` }),
  });
  const rows = q.data ?? [];
  return (
    <section className="card" aria-labelledby="tokens-h">
      <h2 id="tokens-h">Activation Tokens</h2>
      <p className="card-sub">
        An agent activates with a token (<code>palisade-agent activate --token …</code>) into the token's policy. Each
        has a number of uses and an expiry; revoking one refuses it at once. Deployment scripts make their own.
      </p>
      <ErrorBox error={q.error} />
      {notice ? <Notice tone={notice.tone}>{notice.text}</Notice> : null}
      <ActionTable
        label="Activation tokens"
        columns={['ID', 'Status', 'Policy', 'Uses', 'Expires', 'Created', 'Description']}
        rows={rows}
        pending={q.isPending}
        empty="No activation tokens."
        rowKey={(t) => t.ID}
        cells={(t) => {
          const [label, tone] = STATUS[t.status];
          return (
            <>
              <td>{t.ID}</td>
              <td>
                <span className={`badge badge-${tone}`}>{label}</span>
              </td>
              <td>{t.policyName ?? `policy #${t.policyID}`}</td>
              <td>
                {t.uses} of {t.maxUses ?? 'unlimited'}
              </td>
              <td>{t.expires === null ? 'Never' : dateTime(t.expires)}</td>
              <td>{dateTime(t.created)}</td>
              <td>{t.description || '—'}</td>
            </>
          );
        }}
        actions={
          session.canWrite
            ? (t) =>
                t.status === 'revoked' ? null : (
                  <ConfirmButton
                    label="Revoke"
                    danger
                    title={`Revoke activation token ${t.ID}?`}
                    text="Agents activating with it are refused from now on; computers it activated stay."
                    confirm="Revoke"
                    disabled={revoke.isPending}
                    onConfirm={() => revoke.mutate(t)}
                  />
                )
            : undefined
        }
      />
      {session.canWrite ? <NewTokenForm /> : null}
    </section>
  );
}

const num = (s: string) => (s.trim() === '' ? null : Number(s));

function NewTokenForm() {
  const qc = useQueryClient();
  const policies = usePolicies();
  const form = useForm<NewToken>({ resolver: zodResolver(schema), defaultValues: EMPTY });
  const [secret, setSecret] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (v: NewToken) => {
      const hours = num(v.hours);
      return post<ActivationToken & { token: string }>('/api/activationtokens', {
        policyID: Number(v.policyID),
        description: v.description,
        maxUses: num(v.maxUses),
        expires: hours === null ? null : Date.now() + hours * 3_600_000,
      });
    },
    onSuccess: async (t) => {
      form.reset({ ...EMPTY, policyID: form.getValues('policyID') });
      setSecret(t.token);
      await qc.invalidateQueries({ queryKey: ['activationtokens'] });
    },
    onError: (e) =>
      showApiError(
        form,
        e,
        (code, message) =>
          (code === 'POLICY_NOT_FOUND' ? 'policyID' : undefined) ??
          memberNamed<NewToken>({
            policyID: 'policyID',
            description: 'description',
            maxUses: 'maxUses',
            expires: 'hours',
          })(code, message),
      ),
  });
  const errors = form.formState.errors;
  const list = policies.data ?? [];
  return (
    <>
      <form
        className="section"
        aria-labelledby="new-token-h"
        onSubmit={form.handleSubmit((v) => create.mutate(v))}
        noValidate
      >
        <h3 id="new-token-h">New activation token</h3>
        <div className="field-row">
          <Field label="Policy" help="Computers activated with it get this policy." error={errors.policyID?.message}>
            {(id, d) => (
              <select id={id} className="select" aria-describedby={d} {...form.register('policyID')}>
                <option value="">Choose…</option>
                {list.map((p) => (
                  <option key={p.ID} value={String(p.ID)}>
                    {p.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <TextField
            label="Description"
            help="What it is for, shown in the list."
            error={errors.description?.message}
            registration={form.register('description')}
          />
        </div>
        <div className="field-row">
          <TextField
            label="Maximum uses"
            help="Empty: unlimited."
            inputMode="numeric"
            error={errors.maxUses?.message}
            registration={form.register('maxUses')}
          />
          <TextField
            label="Expires after (hours)"
            help="Empty: never expires."
            inputMode="numeric"
            error={errors.hours?.message}
            registration={form.register('hours')}
          />
        </div>
        {errors.root?.message ? <Notice tone="error">{errors.root.message}</Notice> : null}
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={create.isPending}>
            New activation token
          </button>
        </div>
      </form>
      <SecretDialog title="Activation token created" label="Token" secret={secret} onClose={() => setSecret(null)} />
    </>
  );
}
