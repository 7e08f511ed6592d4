import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { type AgentEvent, get } from '../api';
import { ErrorBox, PageHeader, StatusBadge } from '../components/ui';
import { dateTime } from '../format';

const SEVERITIES = ['info', 'warning', 'error', 'critical'];

/** Agent events, newest first, with filters and cursor paging (`GET /api/events`). */
export function EventsTable({ computerId }: { computerId?: number }) {
  const [severity, setSeverity] = useState('');
  const [type, setType] = useState('');
  // The cursors of the pages seen so far: Previous goes back one.
  const [cursors, setCursors] = useState<string[]>([]);
  const ids = { severity: useId(), type: useId() };
  const params = new URLSearchParams({ limit: '50' });
  if (severity) params.set('severity', severity);
  if (type.trim()) params.set('type', type.trim());
  if (computerId !== undefined) params.set('computer', String(computerId));
  const cursor = cursors[cursors.length - 1];
  if (cursor) params.set('cursor', cursor);
  const q = useQuery({
    queryKey: ['events', params.toString()],
    queryFn: () => get<{ events: AgentEvent[]; nextCursor: string | null }>(`/api/events?${params}`),
    placeholderData: keepPreviousData,
  });
  const events = q.data?.events ?? [];
  return (
    <div className="card">
      <div className="filters">
        <div className="filter">
          <label htmlFor={ids.severity}>Severity</label>
          <select
            id={ids.severity}
            className="select"
            value={severity}
            onChange={(e) => {
              setSeverity(e.target.value);
              setCursors([]);
            }}
          >
            <option value="">Any severity</option>
            {SEVERITIES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor={ids.type}>Event type</label>
          <input
            id={ids.type}
            className="input"
            placeholder="e.g. firewall.deny"
            value={type}
            onChange={(e) => {
              setType(e.target.value);
              setCursors([]);
            }}
          />
        </div>
      </div>
      <ErrorBox error={q.error} />
      <div className="table-wrap">
        <table className="data-table" aria-label="Events">
          <thead>
            <tr>
              <th>Received</th>
              <th>Severity</th>
              <th>Computer</th>
              <th>Type</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {events.length === 0 ? (
              <tr>
                <td colSpan={5} className="empty">
                  {q.isPending ? 'Loading…' : 'No events.'}
                </td>
              </tr>
            ) : (
              events.map((e) => (
                <tr key={e.ID}>
                  <td>{dateTime(e.receivedAt)}</td>
                  <td>
                    <StatusBadge status={e.severity} />
                  </td>
                  <td>{e.hostName ?? `computer ${e.computerID}`}</td>
                  <td>
                    <code>{e.type}</code>
                  </td>
                  <td>{e.message}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
      <nav className="pager" aria-label="Event pages">
        <button
          type="button"
          className="btn btn-small"
          disabled={cursors.length === 0}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          Newer
        </button>
        <button
          type="button"
          className="btn btn-small"
          disabled={!q.data?.nextCursor}
          onClick={() => q.data?.nextCursor && setCursors([...cursors, q.data.nextCursor])}
        >
          Older
        </button>
      </nav>
    </div>
  );
}

export function Events() {
  return (
    <div className="page">
      <PageHeader title="Events" subtitle="What agents reported, as the manager stored it." />
      <EventsTable />
    </div>
  );
}
