import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { ColumnDef, PaginationState, SortingState } from '@tanstack/react-table';
import { useEffect, useId, useMemo, useState } from 'react';
import { useSearch } from 'wouter';
import { type Computer, type ComputerPage, get } from '../api';
import { DataTable } from '../components/data-table';
import { useGuard } from '../components/guard';
import { ErrorBox, PageHeader, StatusBadge } from '../components/ui';
import { ago, clockOffset, dateTime, platformName } from '../format';
import { usePolicies, usePolicyName } from '../queries';

const STATUSES = ['Managed (Online)', 'Offline', 'Update Pending (Heartbeat)', 'Updating', 'VM Stopped', 'Deactivated'];

/** Table column → the list route's sortBy. */
const SORT_KEY: Record<string, string> = {
  hostName: 'hostName',
  platform: 'platform',
  policy: 'policyID',
  status: 'status',
  lastAgentCommunication: 'lastAgentCommunication',
  agentVersion: 'agentVersion',
};

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

export function Computers() {
  const params = new URLSearchParams(useSearch());
  const [search, setSearch] = useState('');
  const [status, setStatus] = useState(params.get('status') ?? '');
  const [policy, setPolicy] = useState('');
  const [sorting, setSorting] = useState<SortingState>([{ id: 'hostName', desc: false }]);
  const [pagination, setPagination] = useState<PaginationState>({ pageIndex: 0, pageSize: 25 });
  const [selected, setSelected] = useState<number | null>(null);
  const { navigate } = useGuard();
  const policies = usePolicies();
  const policyName = usePolicyName();
  const term = useDebounced(search.trim(), 250);
  const ids = { search: useId(), status: useId(), policy: useId() };

  // A new filter starts again at the first page.
  // biome-ignore lint/correctness/useExhaustiveDependencies: the filters are the trigger
  useEffect(() => setPagination((p) => ({ ...p, pageIndex: 0 })), [term, status, policy]);

  const sort = sorting[0] ?? { id: 'hostName', desc: false };
  const query = new URLSearchParams({
    limit: String(pagination.pageSize),
    offset: String(pagination.pageIndex * pagination.pageSize),
    sortBy: SORT_KEY[sort.id] ?? 'hostName',
    sortOrder: sort.desc ? 'desc' : 'asc',
  });
  if (term) query.set('search', term);
  if (status) query.set('status', status);
  if (policy) query.set('policyID', policy);
  const q = useQuery({
    queryKey: ['computers', query.toString()],
    queryFn: () => get<ComputerPage>(`/api/computers?${query}`),
    placeholderData: keepPreviousData,
  });

  const columns = useMemo<ColumnDef<Computer, unknown>[]>(
    () => [
      {
        id: 'hostName',
        header: 'Host name',
        accessorKey: 'hostName',
        cell: (c) => <strong>{c.row.original.hostName}</strong>,
      },
      { id: 'platform', header: 'Platform', accessorFn: (r) => platformName(r.platform) },
      { id: 'policy', header: 'Policy', accessorFn: (r) => policyName(r.policyID) },
      {
        id: 'status',
        header: 'Status',
        accessorFn: (r) => r.computerStatus.agentStatusMessages[0] ?? '',
        cell: (c) => <StatusBadge status={c.getValue() as string} />,
      },
      {
        id: 'direction',
        header: 'Communication direction',
        enableSorting: false,
        accessorFn: (r) => r.computerSettings.platformSettingAgentCommunicationsDirection?.value ?? '',
      },
      {
        id: 'lastAgentCommunication',
        header: 'Last communication',
        accessorKey: 'lastAgentCommunication',
        cell: (c) => (
          <span title={dateTime(c.row.original.lastAgentCommunication)}>
            {ago(c.row.original.lastAgentCommunication)}
          </span>
        ),
      },
      { id: 'agentVersion', header: 'Agent version', accessorKey: 'agentVersion' },
      {
        id: 'tls',
        header: 'TLS',
        enableSorting: false,
        accessorFn: (r) => r.tlsProtocol ?? '',
        cell: (c) =>
          c.row.original.tlsProtocol ? (
            <span title={c.row.original.tlsCipherSuite ?? ''}>
              {c.row.original.tlsProtocol}
              <span className="cell-sub">{c.row.original.tlsCipherSuite}</span>
            </span>
          ) : (
            '—'
          ),
      },
      {
        id: 'clock',
        header: 'Clock offset',
        enableSorting: false,
        accessorFn: (r) => clockOffset(r.agentClockOffsetMs),
      },
    ],
    [policyName],
  );
  const open = (id: number) => navigate(`/computers/${id}/overview`);
  const data = q.data;
  return (
    <div className="page">
      <PageHeader
        title="Computers"
        subtitle="Computers that activated with this manager. Select a row, then click Details to open the Computer editor."
        actions={
          <button
            type="button"
            className="btn btn-primary"
            disabled={selected === null}
            onClick={() => selected !== null && open(selected)}
          >
            Details
          </button>
        }
      />
      <search className="filters">
        <div className="filter">
          <label htmlFor={ids.search}>Search</label>
          <input
            id={ids.search}
            type="search"
            className="input"
            placeholder="Host name or IP address"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
          />
        </div>
        <div className="filter">
          <label htmlFor={ids.status}>Status</label>
          <select id={ids.status} className="select" value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">All statuses</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="filter">
          <label htmlFor={ids.policy}>Policy</label>
          <select id={ids.policy} className="select" value={policy} onChange={(e) => setPolicy(e.target.value)}>
            <option value="">All policies</option>
            {(policies.data ?? []).map((p) => (
              <option key={p.ID} value={String(p.ID)}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
      </search>
      <ErrorBox error={q.error} />
      <DataTable
        label="Computers"
        data={data?.computers ?? []}
        columns={columns}
        rowId={(c) => c.ID}
        rowLabel={(c) => c.hostName}
        selected={selected}
        onSelect={setSelected}
        onOpen={open}
        loading={q.isFetching}
        empty={term || status || policy ? 'No computers match these filters.' : 'No computers have activated yet.'}
        server={{
          total: data?.total ?? 0,
          pagination,
          onPaginationChange: setPagination,
          sorting,
          onSortingChange: setSorting,
        }}
      />
    </div>
  );
}
