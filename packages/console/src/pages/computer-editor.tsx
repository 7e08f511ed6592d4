import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'wouter';
import { type Computer, del, get, type Policy, post } from '../api';
import { EffectiveRules, RuleAssignments } from '../components/firewall-panel';
import { useGuard } from '../components/guard';
import { SideNav } from '../components/layout';
import { GeneralSettingsTabs, SettingsForm, type SettingsTarget } from '../components/settings-form';
import { ConfirmButton, ErrorBox, KeyValues, Loading, Notice, PageHeader, StatusBadge } from '../components/ui';
import { ago, clockOffset, dateTime, platformName } from '../format';
import { useCatalog, usePolicies, usePolicyName } from '../queries';
import { useSession } from '../session';
import { AlertsTable } from './alerts';
import { EventsTable } from './events';

const SECTIONS = ['overview', 'firewall', 'settings', 'events', 'alerts'] as const;
const LABELS: Record<(typeof SECTIONS)[number], string> = {
  overview: 'Overview',
  firewall: 'Firewall',
  settings: 'Settings',
  events: 'Events',
  alerts: 'Alerts',
};

export function useComputer(id: number) {
  return useQuery({ queryKey: ['computer', id], queryFn: () => get<Computer>(`/api/computers/${id}`) });
}

/** The Computer editor: Overview, Firewall, Settings (General: Heartbeat, Communication Direction), Events, Alerts. */
export function ComputerEditor() {
  const params = useParams<{ id: string; section?: string }>();
  const id = Number(params.id);
  const section = (SECTIONS as readonly string[]).includes(params.section ?? '')
    ? (params.section as (typeof SECTIONS)[number])
    : 'overview';
  const c = useComputer(id);
  const overrides = useQuery({
    queryKey: ['computer', id, 'overrides'],
    queryFn: () => get<Computer>(`/api/computers/${id}?overrides=true`),
  });
  const policy = useQuery({
    queryKey: ['policy', c.data?.policyID],
    queryFn: () => get<Policy>(`/api/policies/${c.data?.policyID}`),
    enabled: c.data !== undefined,
  });
  const catalog = useCatalog();
  const computer = c.data;
  const target: SettingsTarget | null =
    computer && overrides.data && policy.data
      ? {
          kind: 'computer',
          id,
          isBase: false,
          effective: computer.computerSettings,
          overrides: overrides.data.computerSettings,
          inherited: policy.data.policySettings,
          platform: computer.platform,
        }
      : null;
  return (
    <div className="page editor">
      <PageHeader
        title={computer ? computer.hostName : 'Computer'}
        subtitle={
          computer ? (
            <>
              Computer editor · {platformName(computer.platform)} ·{' '}
              <StatusBadge status={computer.computerStatus.agentStatusMessages[0] ?? ''} />
            </>
          ) : undefined
        }
      />
      <div className="editor-body">
        <SideNav
          label="Computer editor"
          current={`/computers/${id}/${section}`}
          items={SECTIONS.map((s) => ({ href: `/computers/${id}/${s}`, label: LABELS[s] }))}
        />
        <div className="editor-content">
          <ErrorBox error={c.error} />
          {!computer ? (
            c.error ? null : (
              <Loading />
            )
          ) : section === 'overview' ? (
            <Overview computer={computer} />
          ) : section === 'settings' ? (
            <GeneralSettingsTabs catalog={catalog.data} target={target} />
          ) : section === 'firewall' ? (
            <>
              {catalog.data && target ? (
                <section className="card">
                  <SettingsForm catalog={catalog.data} sections={['Firewall']} target={target} />
                </section>
              ) : null}
              <EffectiveRules computerId={id} />
              <RuleAssignments kind="computers" id={id} />
            </>
          ) : section === 'events' ? (
            <EventsTable computerId={id} />
          ) : (
            <AlertsTable computerId={id} />
          )}
        </div>
      </div>
    </div>
  );
}

/** `GET /api/computers/{id}/agentupgrades`: newest first. */
interface AgentUpgrade {
  ID: number;
  fromVersion: string;
  toVersion: string;
  status: 'pending' | 'sent' | 'succeeded' | 'failed' | 'rolled-back' | 'superseded';
  reason: string | null;
  requestedBy: string;
  created: number;
  sent: number | null;
  completed: number | null;
}

const UPGRADE_STATUS: Record<AgentUpgrade['status'], [string, string]> = {
  pending: ['Pending: waits for the next heartbeat', 'info'],
  sent: ['Sent: the agent is installing it', 'info'],
  succeeded: ['Succeeded', 'ok'],
  failed: ['Failed: not installed', 'bad'],
  'rolled-back': ['Rolled back', 'warn'],
  superseded: ['Superseded by a newer request', 'muted'],
};

/** The agent upgrades requested for the computer and how each ended (docs/deployment.md). */
function AgentUpgrades({ computerId }: { computerId: number }) {
  const q = useQuery({
    queryKey: ['agentupgrades', computerId],
    queryFn: async () =>
      (await get<{ agentUpgrades: AgentUpgrade[] }>(`/api/computers/${computerId}/agentupgrades`)).agentUpgrades,
    // An upgrade moves on with the agent's heartbeats: followed while one is under way.
    refetchInterval: (query) =>
      query.state.data?.some((u) => u.status === 'pending' || u.status === 'sent') ? 5_000 : false,
  });
  const rows = q.data ?? [];
  return (
    <section className="card" aria-labelledby="upgrades-h">
      <h2 id="upgrades-h">Agent upgrades</h2>
      <ErrorBox error={q.error} />
      {q.data && rows.length === 0 ? (
        <p className="empty">No upgrade has been requested for this computer.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table" aria-label="Agent upgrades">
            <thead>
              <tr>
                <th>Version</th>
                <th>State</th>
                <th>Requested</th>
                <th>Sent</th>
                <th>Completed</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((u) => {
                const [label, tone] = UPGRADE_STATUS[u.status] ?? [u.status, 'muted'];
                return (
                  <tr key={u.ID}>
                    <td>
                      {u.fromVersion} → <strong>{u.toVersion}</strong>
                    </td>
                    <td>
                      <span className={`badge badge-${tone}`}>{label}</span>
                    </td>
                    <td>{dateTime(u.created)}</td>
                    <td>{u.sent === null ? '—' : dateTime(u.sent)}</td>
                    <td>{u.completed === null ? '—' : dateTime(u.completed)}</td>
                    <td>{u.reason ?? '—'}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

interface ActionResult {
  message: string;
  status: string;
}

function Overview({ computer }: { computer: Computer }) {
  const session = useSession();
  const policyName = usePolicyName();
  const policies = usePolicies();
  const qc = useQueryClient();
  const { navigate } = useGuard();
  const [result, setResult] = useState<ActionResult | null>(null);
  const [policyId, setPolicyId] = useState<number | null>(null);
  const action = useMutation({
    mutationFn: (a: 'checkstatus' | 'sendpolicy') => post<ActionResult>(`/api/computers/${computer.ID}/actions/${a}`),
    onSuccess: async (r) => {
      setResult(r);
      await qc.invalidateQueries();
    },
  });
  const assign = useMutation({
    mutationFn: (p: number) => post(`/api/computers/${computer.ID}`, { policyID: p }),
    onSuccess: async () => {
      setPolicyId(null);
      await qc.invalidateQueries();
    },
  });
  const upgrade = useMutation({
    mutationFn: () => post<ActionResult>(`/api/computers/${computer.ID}/actions/upgradeagent`),
    onMutate: () => setResult(null),
    onSuccess: async (r) => {
      setResult({ ...r, status: 'ok' });
      await qc.invalidateQueries({ queryKey: ['agentupgrades', computer.ID] });
    },
  });
  const deactivate = useMutation({
    mutationFn: () => del(`/api/computers/${computer.ID}`),
    onSuccess: async () => {
      await qc.invalidateQueries();
      navigate('/computers');
    },
  });
  const fp = computer.configurationFingerprint;
  const active = computer.computerStatus.agentStatus === 'active';
  return (
    <>
      <section className="card" aria-labelledby="general-h">
        <h2 id="general-h">General</h2>
        <KeyValues
          rows={[
            ['Host name', computer.hostName],
            ['Platform', platformName(computer.platform)],
            ['Status', <StatusBadge key="s" status={computer.computerStatus.agentStatusMessages[0] ?? ''} />],
            ['Policy', policyName(computer.policyID)],
            [
              'Last communication',
              `${dateTime(computer.lastAgentCommunication)} (${ago(computer.lastAgentCommunication)})`,
            ],
            ['Last IP address', computer.lastIPUsed ?? '—'],
            ['Agent version', computer.agentVersion],
            ['TLS', computer.tlsProtocol ? `${computer.tlsProtocol} · ${computer.tlsCipherSuite ?? ''}` : '—'],
            [
              'Manager certificate',
              computer.tlsCertificateType === 'ECDSA'
                ? 'ECDSA P-256'
                : computer.tlsCertificateType === 'RSA'
                  ? 'RSA-2048'
                  : '—',
            ],
            ['Clock offset', clockOffset(computer.agentClockOffsetMs)],
            ['VM state', computer.vmState ?? 'not reported'],
            ['Activated', dateTime(computer.activatedAt)],
          ]}
        />
      </section>
      <section className="card" aria-labelledby="config-h">
        <h2 id="config-h">Security configuration</h2>
        <KeyValues
          rows={[
            ['Expected fingerprint', <code key="e">{fp.expected ?? '—'}</code>],
            ['Applied fingerprint', <code key="a">{fp.applied ?? '—'}</code>],
            [
              'Up to date',
              fp.expected !== null && fp.expected === fp.applied
                ? 'Yes'
                : 'No: the agent gets it as its communication direction allows',
            ],
          ]}
        />
        {session.canWrite && active ? (
          <div className="inline-form">
            <label htmlFor="assign-policy">Assign policy</label>
            <select
              id="assign-policy"
              className="select"
              value={policyId ?? computer.policyID}
              onChange={(e) => setPolicyId(Number(e.target.value))}
            >
              {(policies.data ?? []).map((p) => (
                <option key={p.ID} value={p.ID}>
                  {p.name}
                </option>
              ))}
            </select>
            <button
              type="button"
              className="btn"
              disabled={policyId === null || policyId === computer.policyID || assign.isPending}
              onClick={() => policyId !== null && assign.mutate(policyId)}
            >
              Save
            </button>
          </div>
        ) : null}
        <ErrorBox error={assign.error} />
      </section>
      <section className="card" aria-labelledby="drivers-h">
        <h2 id="drivers-h">Drivers</h2>
        {computer.drivers.length === 0 ? (
          <p className="empty">The agent has not reported its drivers yet.</p>
        ) : (
          <table className="data-table" aria-label="Drivers">
            <thead>
              <tr>
                <th>Driver</th>
                <th>Status</th>
                <th>Reason</th>
              </tr>
            </thead>
            <tbody>
              {computer.drivers.map((d) => (
                <tr key={d.name}>
                  <td>{d.name}</td>
                  <td>
                    <StatusBadge status={d.status === 'online' ? 'Managed (Online)' : 'Offline'} />
                  </td>
                  <td>{d.reason ?? '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      {session.canWrite && active ? (
        <section className="card" aria-labelledby="actions-h">
          <h2 id="actions-h">Actions</h2>
          <div className="toolbar">
            <button
              type="button"
              className="btn"
              disabled={action.isPending}
              onClick={() => action.mutate('checkstatus')}
            >
              Check Status
            </button>
            <button
              type="button"
              className="btn"
              disabled={action.isPending}
              onClick={() => action.mutate('sendpolicy')}
            >
              Send Policy
            </button>
            <ConfirmButton
              label="Upgrade agent"
              title={`Upgrade the agent on ${computer.hostName}?`}
              text="It installs the newest agent package the manager holds for its platform after its next heartbeat, and goes back to the version it runs now if the new one does not heartbeat in time."
              confirm="Upgrade"
              disabled={upgrade.isPending}
              onConfirm={() => upgrade.mutate()}
            />
            <ConfirmButton
              label="Deactivate"
              danger
              title={`Deactivate ${computer.hostName}?`}
              text="Its certificate is revoked: the agent is refused until it is activated again. The record stays, shown Deactivated."
              confirm="Deactivate"
              onConfirm={() => deactivate.mutate()}
            />
          </div>
          {result ? <Notice tone={result.status === 'failed' ? 'error' : 'ok'}>{result.message}</Notice> : null}
          <ErrorBox error={action.error ?? upgrade.error ?? deactivate.error} />
        </section>
      ) : null}
      <AgentUpgrades computerId={computer.ID} />
    </>
  );
}
