import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { type Dashboard as DashboardData, get } from '../api';
import { GuardedLink } from '../components/guard';
import { ErrorBox, Loading, PageHeader, StatusBadge } from '../components/ui';
import { ago, dateTime } from '../format';

const STATUSES = [
  'Managed (Online)',
  'Offline',
  'Update Pending (Heartbeat)',
  'Updating',
  'VM Stopped',
  'Activation Required',
  'Deactivated',
];

/** Subscribes to the manager's dashboard stream (server-sent events) and keeps the query cache current. */
function useLiveDashboard(): 'connecting' | 'live' | 'reconnecting' {
  const qc = useQueryClient();
  const [state, setState] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  useEffect(() => {
    const es = new EventSource('/api/dashboard/stream');
    es.addEventListener('dashboard', (e) => {
      qc.setQueryData(['dashboard'], JSON.parse((e as MessageEvent<string>).data) as DashboardData);
      setState('live');
    });
    // EventSource reconnects by itself (WHATWG HTML §9.2.3); say so meanwhile.
    es.onerror = () => setState('reconnecting');
    return () => es.close();
  }, [qc]);
  return state;
}

export function Dashboard() {
  const q = useQuery({ queryKey: ['dashboard'], queryFn: () => get<DashboardData>('/api/dashboard') });
  const live = useLiveDashboard();
  const d = q.data;
  return (
    <div className="page">
      <PageHeader
        title="Dashboard"
        subtitle={
          <span className={`live live-${live}`} role="status">
            {live === 'live'
              ? 'Live: updates as computers report'
              : live === 'connecting'
                ? 'Connecting…'
                : 'Reconnecting…'}
          </span>
        }
      />
      <ErrorBox error={q.error} />
      {!d ? (
        <Loading />
      ) : (
        <>
          <section aria-labelledby="status-h" className="card">
            <h2 id="status-h">Computers by status</h2>
            <p className="card-sub">{d.computers.total.toLocaleString()} computers</p>
            <ul className="tiles">
              {STATUSES.map((s) => (
                <li key={s} className="tile">
                  <GuardedLink href={`/computers?status=${encodeURIComponent(s)}`} className="tile-link">
                    <span className="tile-count" data-status={s}>
                      {(d.computers.byStatus[s] ?? 0).toLocaleString()}
                    </span>
                    <StatusBadge status={s} />
                  </GuardedLink>
                </li>
              ))}
            </ul>
          </section>
          <div className="grid-2">
            <section aria-labelledby="alerts-h" className="card">
              <h2 id="alerts-h">
                Active alerts <span className="count">{d.alerts.active}</span>
              </h2>
              {d.alerts.recent.length === 0 ? (
                <p className="empty">No active alerts.</p>
              ) : (
                <ul className="feed">
                  {d.alerts.recent.map((a) => (
                    <li key={a.ID}>
                      <StatusBadge status={a.severity} /> <strong>{a.name}</strong>{' '}
                      {a.hostName ? `on ${a.hostName}` : ''}
                      <span className="feed-time">{ago(a.raisedAt)}</span>
                      <div className="feed-msg">{a.message}</div>
                    </li>
                  ))}
                </ul>
              )}
              <GuardedLink href="/alerts" className="more">
                All alerts
              </GuardedLink>
            </section>
            <section aria-labelledby="events-h" className="card">
              <h2 id="events-h">Recent events</h2>
              {d.events.recent.length === 0 ? (
                <p className="empty">No events yet.</p>
              ) : (
                <ul className="feed">
                  {d.events.recent.map((e) => (
                    <li key={e.ID}>
                      <StatusBadge status={e.severity} /> <strong>{e.hostName ?? `computer ${e.computerID}`}</strong>{' '}
                      {e.type}
                      <span className="feed-time" title={dateTime(e.receivedAt)}>
                        {ago(e.receivedAt)}
                      </span>
                      <div className="feed-msg">{e.message}</div>
                    </li>
                  ))}
                </ul>
              )}
              <GuardedLink href="/events" className="more">
                All events
              </GuardedLink>
            </section>
          </div>
        </>
      )}
    </div>
  );
}
