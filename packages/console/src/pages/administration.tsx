import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useParams } from 'wouter';
import { ApiError, del, get, post } from '../api';
import { SideNav } from '../components/layout';
import { ActionTable, ConfirmButton, ErrorBox, Field, KeyValues, Loading, Notice, PageHeader } from '../components/ui';
import { dateTime } from '../format';
import { useSession } from '../session';
import { ActivationTokens } from './activation-tokens';
import { ApiKeys } from './api-keys';
import { DeploymentScripts } from './deployment-scripts';
import { Users } from './users';

const SECTIONS = [
  ['users', 'Users'],
  ['tls', 'TLS Policy'],
  ['notifiers', 'Notifiers'],
  ['audit', 'Audit Log'],
  ['apikeys', 'API Keys'],
  ['tokens', 'Activation Tokens'],
  ['scripts', 'Deployment Scripts'],
] as const;

export function Administration() {
  const params = useParams<{ section?: string }>();
  const section = SECTIONS.find(([s]) => s === params.section)?.[0] ?? 'users';
  return (
    <div className="page">
      <PageHeader title="Administration" />
      <div className="with-sidenav">
        <SideNav
          label="Administration"
          current={`/administration/${section}`}
          items={SECTIONS.map(([s, label]) => ({ href: `/administration/${s}`, label }))}
        />
        <div className="editor-content">
          {section === 'users' ? <Users /> : null}
          {section === 'tls' ? <TlsPolicy /> : null}
          {section === 'notifiers' ? <Notifiers /> : null}
          {section === 'audit' ? <AuditLog /> : null}
          {section === 'apikeys' ? <ApiKeys /> : null}
          {section === 'tokens' ? <ActivationTokens /> : null}
          {section === 'scripts' ? <DeploymentScripts /> : null}
        </div>
      </div>
    </div>
  );
}

interface TlsPolicyView {
  value: string;
  source: string;
  summary: string;
  warning: string | null;
  minVersion: string;
  maxVersion: string;
  validValues: string[];
  legacyListener: { open: boolean; port: number | null };
}

interface Preflight {
  policy: string;
  summary: string;
  warning: string | null;
  rows: Array<{
    rowId: string;
    label: string;
    connects: boolean;
    protocol: string | null;
    suite: string | null;
    detail: string;
  }>;
  computers: { total: number; counts: { connects: number; cutOff: number; unknown: number }; notes: string[] };
}

function TlsPolicy() {
  const session = useSession();
  const qc = useQueryClient();
  const current = useQuery({ queryKey: ['tls-policy'], queryFn: () => get<TlsPolicyView>('/api/tls/policy') });
  const [choice, setChoice] = useState<string | null>(null);
  const wanted = choice ?? current.data?.value ?? 'modern';
  const preflight = useQuery({
    queryKey: ['tls-preflight', wanted],
    queryFn: () => get<Preflight>(`/api/tls/preflight?policy=${encodeURIComponent(wanted)}`),
  });
  const save = useMutation({
    mutationFn: () => post('/api/tls/policy', { value: wanted }),
    onSuccess: async () => {
      setChoice(null);
      await qc.invalidateQueries({ queryKey: ['tls-policy'] });
    },
  });
  const id = useId();
  const c = current.data;
  if (current.error) return <ErrorBox error={current.error} />;
  if (!c) return <Loading />;
  const p = preflight.data;
  return (
    <section className="card" aria-labelledby="tls-h">
      <h2 id="tls-h">Agent TLS policy</h2>
      <KeyValues
        rows={[
          ['In force', `${c.value} (${c.source})`],
          ['Protocols', `${c.minVersion} to ${c.maxVersion}`],
          ['Summary', c.summary],
          ['TLS 1.0/1.1 listener', c.legacyListener.open ? `open on port ${c.legacyListener.port}` : 'closed'],
        ]}
      />
      <Field
        label="Policy to check"
        help="The preflight below shows what the chosen policy admits before you switch to it."
      >
        {(fid, d) => (
          <select
            id={fid}
            className="select"
            aria-describedby={d}
            value={wanted}
            onChange={(e) => setChoice(e.target.value)}
          >
            {c.validValues.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        )}
      </Field>
      <h3 id={id}>Preflight: {wanted}</h3>
      {p ? (
        <>
          <p>{p.summary}</p>
          {p.warning ? <Notice tone="warn">{p.warning}</Notice> : null}
          <p>
            Enrolled computers: {p.computers.total} — {p.computers.counts.connects} connect, {p.computers.counts.cutOff}{' '}
            cut off, {p.computers.counts.unknown} unknown.
          </p>
          <div className="table-wrap">
            <table className="data-table" aria-labelledby={id}>
              <thead>
                <tr>
                  <th>Agent version</th>
                  <th>Connects</th>
                  <th>Protocol</th>
                  <th>Cipher suite</th>
                </tr>
              </thead>
              <tbody>
                {p.rows.map((r) => (
                  <tr key={r.rowId}>
                    <td>{r.label}</td>
                    <td>{r.connects ? 'Yes' : <strong>No — cut off</strong>}</td>
                    <td>{r.protocol ?? '—'}</td>
                    <td>
                      <code>{r.suite ?? '—'}</code>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      ) : (
        <ErrorBox error={preflight.error} />
      )}
      <ErrorBox error={save.error} />
      {session.canWrite ? (
        <div className="form-actions">
          <ConfirmButton
            label={`Switch to ${wanted}`}
            disabled={wanted === c.value}
            title={`Switch the agent TLS policy to ${wanted}?`}
            text={
              p
                ? `${p.computers.counts.cutOff} enrolled computer(s) would be cut off. ${p.summary}`
                : 'Check the preflight first.'
            }
            confirm="Switch"
            onConfirm={() => save.mutate()}
          />
        </div>
      ) : null}
    </section>
  );
}

interface NotifierView {
  ID: number;
  name: string;
  kind: 'webhook' | 'syslog';
  enabled: boolean;
  sources: string[];
  minSeverity: string;
  webhook?: { url: string };
  syslog?: { host: string; port: number; transport: string; format: string };
  delivery: { delivered: number; failures: number; lastError: string | null; lastDeliveredAt: number | null };
}

function Notifiers() {
  const session = useSession();
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['notifiers'],
    queryFn: async () => (await get<{ notifiers: NotifierView[] }>('/api/notifiers')).notifiers,
  });
  const [kind, setKind] = useState<'webhook' | 'syslog'>('webhook');
  const [name, setName] = useState('');
  const [target, setTarget] = useState('');
  const [notice, setNotice] = useState<{ tone: 'ok' | 'error'; text: string } | null>(null);
  const [createError, setCreateError] = useState<{ field: 'name' | 'target' | null; text: string } | null>(null);
  const create = useMutation({
    mutationFn: () => {
      const body =
        kind === 'webhook'
          ? { name, kind, webhook: { url: target } }
          : { name, kind, syslog: { host: target.split(':')[0] ?? '', port: Number(target.split(':')[1] ?? 514) } };
      return post('/api/notifiers', body);
    },
    onMutate: () => setCreateError(null),
    onSuccess: async () => {
      setName('');
      setTarget('');
      await qc.invalidateQueries({ queryKey: ['notifiers'] });
    },
    onError: (e) => setCreateError(notifierFieldError(e)),
  });
  // POST /api/notifiers/{id}/test answers once the receiver took the message, or with its reason.
  const test = useMutation({
    mutationFn: (n: NotifierView) => post<{ message: string }>(`/api/notifiers/${n.ID}/test`),
    onMutate: () => setNotice(null),
    onSuccess: (r, n) => setNotice({ tone: 'ok', text: `“${n.name}”: ${r.message}` }),
    onError: (e, n) => setNotice({ tone: 'error', text: `Test of “${n.name}” failed: ${(e as Error).message}` }),
  });
  const remove = useMutation({
    mutationFn: (id: number) => del(`/api/notifiers/${id}`),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['notifiers'] }),
  });
  return (
    <section className="card" aria-labelledby="notifiers-h">
      <h2 id="notifiers-h">Notifiers</h2>
      <p className="card-sub">
        Alerts and events leave the manager by webhook (JSON) and syslog (RFC 5424, optionally CEF).
      </p>
      <ErrorBox error={q.error ?? remove.error} />
      {notice ? <Notice tone={notice.tone}>{notice.text}</Notice> : null}
      <ActionTable
        label="Notifiers"
        columns={['Name', 'Kind', 'Destination', 'Delivered', 'Last error']}
        rows={q.data ?? []}
        pending={q.isPending}
        empty="No notifiers."
        rowKey={(n) => n.ID}
        cells={(n) => (
          <>
            <td>{n.name}</td>
            <td>{n.kind}</td>
            <td>
              {n.webhook
                ? n.webhook.url
                : n.syslog
                  ? `${n.syslog.host}:${n.syslog.port} (${n.syslog.transport}, ${n.syslog.format})`
                  : ''}
            </td>
            <td>{n.delivery.delivered}</td>
            <td>{n.delivery.lastError ?? '—'}</td>
          </>
        )}
        actions={
          session.canWrite
            ? (n) => (
                <>
                  <button
                    type="button"
                    className="btn btn-small"
                    disabled={test.isPending}
                    onClick={() => test.mutate(n)}
                  >
                    {test.isPending && test.variables?.ID === n.ID ? 'Sending…' : 'Send test'}
                  </button>
                  <ConfirmButton
                    label="Delete"
                    danger
                    title={`Delete notifier “${n.name}”?`}
                    text="Its undelivered backlog is dropped with it."
                    confirm="Delete"
                    onConfirm={() => remove.mutate(n.ID)}
                  />
                </>
              )
            : undefined
        }
      />
      {session.canWrite ? (
        <form
          className="inline-form"
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <Field label="Kind">
            {(id) => (
              <select
                id={id}
                className="select"
                value={kind}
                onChange={(e) => setKind(e.target.value as 'webhook' | 'syslog')}
              >
                <option value="webhook">Webhook</option>
                <option value="syslog">Syslog</option>
              </select>
            )}
          </Field>
          <Field label="Name" error={createError?.field === 'name' ? createError.text : undefined}>
            {(id, d) => (
              <input
                id={id}
                className="input"
                aria-describedby={d}
                aria-invalid={createError?.field === 'name' || undefined}
                value={name}
                onChange={(e) => setName(e.target.value)}
              />
            )}
          </Field>
          <Field
            label={kind === 'webhook' ? 'URL' : 'Host:port'}
            error={createError?.field === 'target' ? createError.text : undefined}
          >
            {(id, d) => (
              <input
                id={id}
                className="input"
                aria-describedby={d}
                aria-invalid={createError?.field === 'target' || undefined}
                value={target}
                onChange={(e) => setTarget(e.target.value)}
              />
            )}
          </Field>
          <button type="submit" className="btn" disabled={!name || !target || create.isPending}>
            New notifier
          </button>
        </form>
      ) : null}
      {createError && createError.field === null ? <Notice tone="error">{createError.text}</Notice> : null}
    </section>
  );
}

/**
 * Which field of the New notifier form a refusal concerns: the name (taken, empty) or the
 * destination (`webhook.url …`, `syslog.host …`, `body.syslog.port …`); null when neither.
 */
function notifierFieldError(e: unknown): { field: 'name' | 'target' | null; text: string } {
  const text = e instanceof ApiError ? e.message : String((e as Error)?.message ?? e);
  if (!(e instanceof ApiError)) return { field: null, text };
  if (e.code === 'NOTIFIER_NAME_TAKEN' || /\bbody\.name\b/.test(text)) return { field: 'name', text };
  if (/\b(webhook|syslog)\.(url|host|port)\b/.test(text)) return { field: 'target', text };
  return { field: null, text };
}

interface AuditEvent {
  ID: number;
  time: number;
  actor: { type: string; ID: number | null; name: string | null };
  action: string;
  targetType: string;
  targetID: number | null;
  setting: string | null;
  oldValue: string | null;
  newValue: string | null;
}

function AuditLog() {
  const [before, setBefore] = useState<number[]>([]);
  const last = before[before.length - 1];
  const q = useQuery({
    queryKey: ['audit', last],
    queryFn: async () =>
      (await get<{ auditEvents: AuditEvent[] }>(`/api/auditevents?limit=50${last ? `&beforeID=${last}` : ''}`))
        .auditEvents,
  });
  const rows = q.data ?? [];
  return (
    <section className="card" aria-labelledby="audit-h">
      <h2 id="audit-h">Audit log</h2>
      <p className="card-sub">Who changed what, newest first, including console sign-ins and their failures.</p>
      <ErrorBox error={q.error} />
      <ActionTable
        label="Audit log"
        columns={['Time', 'Who', 'Action', 'Target', 'Setting', 'Old value', 'New value']}
        rows={rows}
        pending={q.isPending}
        empty={before.length === 0 ? 'Nothing audited yet.' : 'No older entries.'}
        rowKey={(e) => e.ID}
        cells={(e) => (
          <>
            <td>{dateTime(e.time)}</td>
            <td className="cell-name">{e.actor.name ?? e.actor.type}</td>
            <td className="cell-code">
              <code>{e.action}</code>
            </td>
            <td>
              {e.targetType}
              {e.targetID !== null ? ` ${e.targetID}` : ''}
            </td>
            {/* Setting names are long single words (platformSettingAgentCommunicationsDirection). */}
            <td className="cell-wrap">{e.setting ?? '—'}</td>
            <td className="cell-wrap">{e.oldValue ?? '—'}</td>
            <td className="cell-wrap">{e.newValue ?? '—'}</td>
          </>
        )}
      />
      <nav className="pager" aria-label="Audit pages">
        <button
          type="button"
          className="btn btn-small"
          disabled={before.length === 0}
          onClick={() => setBefore(before.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          className="btn btn-small"
          disabled={rows.length < 50}
          onClick={() => rows.length && setBefore([...before, rows[rows.length - 1]?.ID ?? 0])}
        >
          Older
        </button>
      </nav>
    </section>
  );
}
