import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { type Alert, get, post } from '../api';
import { ActionTable, ErrorBox, PageHeader, StatusBadge } from '../components/ui';
import { dateTime } from '../format';
import { useSession } from '../session';

const PAGE = 50;

/** Alerts, newest first; active ones can be dismissed (it stays open until its condition ends). */
export function AlertsTable({ computerId }: { computerId?: number }) {
  const session = useSession();
  const qc = useQueryClient();
  const [which, setWhich] = useState<'true' | 'false' | ''>('true');
  const [offset, setOffset] = useState(0);
  const filterId = useId();
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (which) params.set('active', which);
  if (computerId !== undefined) params.set('computer', String(computerId));
  const q = useQuery({
    queryKey: ['alerts', params.toString()],
    queryFn: () => get<{ alerts: Alert[]; total: number }>(`/api/alerts?${params}`),
    placeholderData: keepPreviousData,
  });
  const dismiss = useMutation({
    mutationFn: (id: number) => post(`/api/alerts/${id}/dismiss`),
    onSuccess: () => qc.invalidateQueries(),
  });
  const alerts = q.data?.alerts ?? [];
  const total = q.data?.total ?? 0;
  return (
    <div className="card">
      <div className="filters">
        <div className="filter">
          <label htmlFor={filterId}>Show</label>
          <select
            id={filterId}
            className="select"
            value={which}
            onChange={(e) => {
              setWhich(e.target.value as typeof which);
              setOffset(0);
            }}
          >
            <option value="true">Active alerts</option>
            <option value="false">Cleared or dismissed</option>
            <option value="">All alerts</option>
          </select>
        </div>
      </div>
      <ErrorBox error={q.error ?? dismiss.error} />
      <ActionTable
        label="Alerts"
        columns={['Severity', 'Alert', 'Computer', 'Message', 'Raised', 'State']}
        rows={alerts}
        pending={q.isPending}
        empty="No alerts."
        rowKey={(a) => a.ID}
        cells={(a) => (
          <>
            <td>
              <StatusBadge status={a.severity} />
            </td>
            <td>{a.name}</td>
            <td>{a.hostName ?? '—'}</td>
            <td>{a.message}</td>
            <td>{dateTime(a.raisedAt)}</td>
            <td>
              {a.active
                ? 'Active'
                : a.dismissedAt
                  ? `Dismissed ${dateTime(a.dismissedAt)}`
                  : `Cleared ${dateTime(a.clearedAt)}`}
            </td>
          </>
        )}
        actions={
          session.canWrite
            ? (a) =>
                a.active ? (
                  <button type="button" className="btn btn-small" onClick={() => dismiss.mutate(a.ID)}>
                    Dismiss
                  </button>
                ) : null
            : undefined
        }
      />
      <nav className="pager" aria-label="Alert pages">
        <span>
          {total === 0 ? 'No alerts' : `${offset + 1}–${Math.min(total, offset + PAGE)} of ${total.toLocaleString()}`}
        </span>
        <button
          type="button"
          className="btn btn-small"
          disabled={offset === 0}
          onClick={() => setOffset(Math.max(0, offset - PAGE))}
        >
          Previous
        </button>
        <button
          type="button"
          className="btn btn-small"
          disabled={offset + PAGE >= total}
          onClick={() => setOffset(offset + PAGE)}
        >
          Next
        </button>
      </nav>
    </div>
  );
}

export function Alerts() {
  return (
    <div className="page">
      <PageHeader
        title="Alerts"
        subtitle="Raised and cleared by the manager's monitor. Dismissing an alert removes it from the active list; it stays open until its condition ends."
      />
      <AlertsTable />
    </div>
  );
}
