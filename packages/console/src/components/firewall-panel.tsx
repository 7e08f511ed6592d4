import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { type Assignments, type EffectiveFirewall, type EffectiveRule, type FirewallRule, get, post } from '../api';
import { useListName, usePolicyName } from '../queries';
import { useSession } from '../session';
import { GuardedLink, useUnsavedChanges } from './guard';
import { ErrorBox, Loading, Notice } from './ui';

/** Evaluation order (docs/firewall.md): priority 4 → 0, then bypass, log-only, force-allow, deny, allow. */
const ACTION_ORDER = ['bypass', 'log-only', 'force-allow', 'deny', 'allow'];
export function evaluationOrder<T extends { priority: string; action: string }>(rules: T[]): T[] {
  return [...rules].sort(
    (a, b) =>
      Number(b.priority) - Number(a.priority) || ACTION_ORDER.indexOf(a.action) - ACTION_ORDER.indexOf(b.action),
  );
}

type Side = 'source' | 'destination';
type ListName = ReturnType<typeof useListName>;

/** A rule's IP match in words: any, an address, a block, a range, several, or a list. */
export function ipText(r: FirewallRule | EffectiveRule, side: Side, listName?: ListName): string {
  const g = (k: string) => (r as unknown as Record<string, unknown>)[`${side}IP${k}`];
  const not = g('Not') ? 'not ' : '';
  switch (g('Type')) {
    case 'single':
      return `${not}${g('Value')}`;
    case 'masked-ip':
      return `${not}${g('Value')}/${g('Mask')}`;
    case 'range':
      return `${not}${g('RangeFrom')}–${g('RangeTo')}`;
    case 'multiple':
      return `${not}${((g('Multiple') as string[] | undefined) ?? []).join(', ')}`;
    case 'ip-list':
      return `${not}IP list ${listName ? listName('ip', g('ListID')) : `#${g('ListID')}`}`;
    default:
      return 'any';
  }
}

/** A rule's port match in words. */
export function portText(r: FirewallRule | EffectiveRule, side: Side, listName?: ListName): string {
  const g = (k: string) => (r as unknown as Record<string, unknown>)[`${side}Port${k}`];
  const not = g('Not') ? 'not ' : '';
  if (g('Type') === 'multiple') return `${not}${((g('Multiple') as string[] | undefined) ?? []).join(', ')}`;
  if (g('Type') === 'port-list')
    return `${not}port list ${listName ? listName('port', g('ListID')) : `#${g('ListID')}`}`;
  return 'any';
}

/** A computer's effective rules as the agent enforces them, the hidden listening-port rule marked. */
export function EffectiveRules({ computerId }: { computerId: number }) {
  const q = useQuery({
    queryKey: ['effective-firewall', computerId],
    queryFn: () => get<EffectiveFirewall>(`/api/computers/${computerId}/firewall/effective`),
  });
  const policyName = usePolicyName();
  const listName = useListName();
  if (q.error) return <ErrorBox error={q.error} />;
  const e = q.data;
  if (!e) return <Loading />;
  const ordered = evaluationOrder(e.rules);
  const replacement = e.rules.find((r) => r.replacesHiddenRule);
  const origin = (r: EffectiveRule) => {
    if (r.hidden) return 'Manager (hidden rule)';
    const m = /^policy:(\d+)$/.exec(r.source);
    return m ? policyName(Number(m[1])) : 'This computer';
  };
  return (
    <section className="card" aria-labelledby="effective-h">
      <h2 id="effective-h">Rules in effect</h2>
      <p className="card-sub">
        Firewall {e.firewallState}; communication {e.communicationDirection}
        {e.listeningPort !== null ? `, the agent listens on port ${e.listeningPort}` : ', the agent does not listen'}.
        Rules are listed in evaluation order: priority 4 (highest) first, then bypass, log only, force allow, deny,
        allow.
      </p>
      {e.hiddenRule === 'present' ? (
        <Notice>
          The manager adds a hidden rule (priority 4, Bypass) that opens the agent's listening port {e.listeningPort} to
          incoming TCP from any address. A priority 4 Force Allow or Bypass rule for incoming TCP to that port replaces
          it.
        </Notice>
      ) : null}
      {e.hiddenRule === 'replaced' && replacement ? (
        <Notice tone="ok">
          The hidden listening-port rule is replaced by “{replacement.name}” (rule {replacement.ID}), which restricts
          who may reach port {e.listeningPort}.
        </Notice>
      ) : null}
      <div className="table-wrap">
        <table className="data-table" aria-label="Rules in effect">
          <thead>
            <tr>
              <th>#</th>
              <th>Name</th>
              <th>Priority</th>
              <th>Action</th>
              <th>Direction</th>
              <th>Protocol</th>
              <th>Source</th>
              <th>Destination port</th>
              <th>Assigned by</th>
              <th>Packets</th>
            </tr>
          </thead>
          <tbody>
            {ordered.length === 0 ? (
              <tr>
                <td colSpan={10} className="empty">
                  No rules: all traffic is allowed.
                </td>
              </tr>
            ) : (
              ordered.map((r, i) => (
                <tr key={r.agentRuleID} className={r.hidden ? 'row-hidden-rule' : undefined}>
                  <td>{i + 1}</td>
                  <td>
                    {r.name}
                    {r.hidden ? <span className="badge badge-info">Hidden rule</span> : null}
                    {r.replacesHiddenRule ? <span className="badge badge-ok">Replaces the hidden rule</span> : null}
                    {r.hiddenRuleMismatches?.length ? (
                      <span className="cell-sub">
                        Does not replace the hidden rule: {r.hiddenRuleMismatches.join('; ')}
                      </span>
                    ) : null}
                  </td>
                  <td>{r.priority}</td>
                  <td>{r.action}</td>
                  <td>{r.direction}</td>
                  <td>{String(r.protocol)}</td>
                  <td>{ipText(r, 'source', listName)}</td>
                  <td>{portText(r, 'destination', listName)}</td>
                  <td>{origin(r)}</td>
                  <td>{r.counters ? r.counters.packets.toLocaleString() : '—'}</td>
                </tr>
              ))
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}

/** Which rules a policy or computer assigns itself (inherited ones shown, fixed). */
export function RuleAssignments({ kind, id }: { kind: 'policies' | 'computers'; id: number }) {
  const session = useSession();
  const qc = useQueryClient();
  const policyName = usePolicyName();
  const rules = useQuery({
    queryKey: ['firewall-rules'],
    queryFn: async () => (await get<{ firewallRules: FirewallRule[] }>('/api/firewallrules')).firewallRules,
  });
  const a = useQuery({
    queryKey: ['assignments', kind, id],
    queryFn: () => get<Assignments>(`/api/${kind}/${id}/firewall`),
  });
  const [own, setOwn] = useState<number[] | null>(null);
  const stored = useMemo(() => a.data?.ruleIDs ?? [], [a.data]);
  const chosen = own ?? stored;
  const dirty = own !== null && (own.length !== stored.length || own.some((x) => !stored.includes(x)));
  useUnsavedChanges(dirty);
  const save = useMutation({
    mutationFn: () => post(`/api/${kind}/${id}/firewall`, { ruleIDs: chosen }),
    onSuccess: async () => {
      await qc.invalidateQueries();
      setOwn(null);
    },
  });
  if (rules.error || a.error) return <ErrorBox error={rules.error ?? a.error} />;
  if (!rules.data || !a.data) return <Loading />;
  const inherited = new Map(a.data.inheritedRuleIDs.map((x) => [x.ruleID, x.policyID]));
  return (
    <section className="card" aria-labelledby={`assign-${kind}-h`}>
      <h2 id={`assign-${kind}-h`}>Assigned rules</h2>
      <p className="card-sub">
        Rules inherited from parent policies apply here too and cannot be removed here. Manage the rules themselves
        under <GuardedLink href="/firewall-rules">Firewall Rules</GuardedLink>.
      </p>
      {rules.data.length === 0 ? (
        <p className="empty">No firewall rules exist yet.</p>
      ) : (
        <ul className="checklist">
          {rules.data.map((r) => {
            const from = inherited.get(r.ID);
            const checked = from !== undefined || chosen.includes(r.ID);
            return (
              <li key={r.ID}>
                <label>
                  <input
                    type="checkbox"
                    checked={checked}
                    disabled={from !== undefined || !session.canWrite}
                    onChange={(e) => setOwn(e.target.checked ? [...chosen, r.ID] : chosen.filter((x) => x !== r.ID))}
                  />
                  <span className="rule-name">{r.name}</span>
                  <span className="cell-sub">
                    priority {r.priority}, {r.action}, {r.direction}
                    {from !== undefined ? ` — inherited from ${policyName(from)}` : ''}
                  </span>
                </label>
              </li>
            );
          })}
        </ul>
      )}
      <ErrorBox error={save.error} />
      {session.canWrite ? (
        <div className="form-actions">
          <button
            type="button"
            className="btn btn-primary"
            disabled={!dirty || save.isPending}
            onClick={() => save.mutate()}
          >
            Save
          </button>
        </div>
      ) : null}
    </section>
  );
}
