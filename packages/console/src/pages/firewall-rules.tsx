import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useMemo, useState } from 'react';
import { useForm } from 'react-hook-form';
import { useParams } from 'wouter';
import { z } from 'zod';
import { ApiError, del, type FirewallRule, get, post, put } from '../api';
import { DataTable } from '../components/data-table';
import { ipText, portText } from '../components/firewall-panel';
import { useGuard, useUnsavedChanges } from '../components/guard';
import { SideNav } from '../components/layout';
import { ConfirmButton, ErrorBox, Field, Loading, Notice, PageHeader } from '../components/ui';
import { useSession } from '../session';
import { POLICIES_NAV } from './policies';

function useRules() {
  return useQuery({
    queryKey: ['firewall-rules'],
    queryFn: async () => (await get<{ firewallRules: FirewallRule[] }>('/api/firewallrules')).firewallRules,
  });
}

export function FirewallRules() {
  const q = useRules();
  const session = useSession();
  const qc = useQueryClient();
  const { navigate } = useGuard();
  const [selected, setSelected] = useState<number | null>(null);
  const chosen = q.data?.find((r) => r.ID === selected);
  const remove = useMutation({
    mutationFn: (id: number) => del(`/api/firewallrules/${id}`),
    onSuccess: async () => {
      setSelected(null);
      await qc.invalidateQueries({ queryKey: ['firewall-rules'] });
    },
  });
  const columns = useMemo<ColumnDef<FirewallRule, unknown>[]>(
    () => [
      { id: 'name', header: 'Name', accessorKey: 'name', cell: (c) => <strong>{c.row.original.name}</strong> },
      { id: 'priority', header: 'Priority', accessorKey: 'priority' },
      { id: 'action', header: 'Action', accessorKey: 'action' },
      { id: 'direction', header: 'Direction', accessorKey: 'direction' },
      { id: 'protocol', header: 'Protocol', accessorFn: (r) => String(r.protocol) },
      {
        id: 'source',
        header: 'Source IP',
        enableSorting: false,
        accessorFn: (r) => ipText(r, 'source'),
      },
      {
        id: 'ports',
        header: 'Destination ports',
        enableSorting: false,
        accessorFn: (r) => portText(r, 'destination'),
      },
    ],
    [],
  );
  const open = (id: number) => navigate(`/firewall-rules/${id}`);
  return (
    <div className="page">
      <PageHeader
        title="Firewall Rules"
        subtitle="Reusable rules. Assign them to policies or computers (their Firewall page) to enforce them."
        actions={
          <>
            {session.canWrite ? (
              <button type="button" className="btn" onClick={() => navigate('/firewall-rules/new')}>
                New
              </button>
            ) : null}
            <button
              type="button"
              className="btn btn-primary"
              disabled={!chosen}
              onClick={() => chosen && open(chosen.ID)}
            >
              Details
            </button>
            {session.canWrite ? (
              <ConfirmButton
                label="Delete"
                danger
                disabled={!chosen}
                title={`Delete “${chosen?.name ?? ''}”?`}
                text="A rule still assigned to a policy or computer cannot be deleted."
                confirm="Delete"
                onConfirm={() => chosen && remove.mutate(chosen.ID)}
              />
            ) : null}
          </>
        }
      />
      <div className="with-sidenav">
        <SideNav label="Policies" items={POLICIES_NAV} current="/firewall-rules" />
        <div className="editor-content">
          <ErrorBox error={q.error} />
          {remove.error ? <Notice tone="error">Not deleted: {(remove.error as Error).message}</Notice> : null}
          <DataTable
            label="Firewall rules"
            data={q.data ?? []}
            columns={columns}
            rowId={(r) => r.ID}
            rowLabel={(r) => r.name}
            selected={selected}
            onSelect={setSelected}
            onOpen={open}
            loading={q.isPending}
            empty="No firewall rules yet."
          />
        </div>
      </div>
    </div>
  );
}

// ----- editor ------------------------------------------------------------------------------------

const ACTIONS: Array<[string, string]> = [
  ['allow', 'Allow: permits matching traffic; anything no allow rule matches is denied.'],
  ['deny', 'Deny: drops matching traffic.'],
  ['force-allow', 'Force Allow: permits matching traffic even if a deny rule matches it.'],
  ['bypass', 'Bypass: permits matching traffic without further inspection, over deny rules.'],
  ['log-only', 'Log Only: records matching traffic and changes nothing.'],
];
const PRIORITIES: Array<[string, string]> = [
  ['4', '4 — Highest'],
  ['3', '3 — High'],
  ['2', '2 — Normal'],
  ['1', '1 — Low'],
  ['0', '0 — Lowest'],
];
const LISTS = [
  [
    'sourceIp',
    'Source IP',
    'any, or addresses, CIDR blocks (10.0.0.0/8) and ranges (a-b), one per line or comma-separated',
  ],
  ['destinationIp', 'Destination IP', 'any, or addresses, CIDR blocks and ranges'],
  ['sourceMac', 'Source MAC', 'any, or MAC addresses (incoming rules only)'],
  ['destinationMac', 'Destination MAC', 'any, or MAC addresses (incoming rules only)'],
  ['sourcePorts', 'Source ports', 'any, or ports and ranges (1024-65535); TCP and UDP only'],
  ['destinationPorts', 'Destination ports', 'any, or ports and ranges; TCP and UDP only'],
] as const;
type ListName = (typeof LISTS)[number][0];

const ruleSchema = z.object({
  name: z.string().trim().min(1, 'Give the rule a name').max(255),
  description: z.string().max(2000),
  action: z.enum(['allow', 'deny', 'force-allow', 'bypass', 'log-only']),
  priority: z.enum(['0', '1', '2', '3', '4']),
  direction: z.enum(['incoming', 'outgoing']),
  frameType: z.string(),
  protocol: z.string(),
  sourceIp: z.string(),
  sourceIpNot: z.boolean(),
  destinationIp: z.string(),
  destinationIpNot: z.boolean(),
  sourceMac: z.string(),
  sourceMacNot: z.boolean(),
  destinationMac: z.string(),
  destinationMacNot: z.boolean(),
  sourcePorts: z.string(),
  sourcePortsNot: z.boolean(),
  destinationPorts: z.string(),
  destinationPortsNot: z.boolean(),
});
type RuleForm = z.infer<typeof ruleSchema>;

const EMPTY: RuleForm = {
  name: '',
  description: '',
  action: 'allow',
  priority: '2',
  direction: 'incoming',
  frameType: 'ip',
  protocol: 'tcp',
  sourceIp: 'any',
  sourceIpNot: false,
  destinationIp: 'any',
  destinationIpNot: false,
  sourceMac: 'any',
  sourceMacNot: false,
  destinationMac: 'any',
  destinationMacNot: false,
  sourcePorts: 'any',
  sourcePortsNot: false,
  destinationPorts: 'any',
  destinationPortsNot: false,
};

/** Deep Security's per-member model ↔ this form: every IP, MAC and port match edited as a list ("multiple"). */
const DS_PREFIX: Record<ListName, string> = {
  sourceIp: 'sourceIP',
  destinationIp: 'destinationIP',
  sourceMac: 'sourceMAC',
  destinationMac: 'destinationMAC',
  sourcePorts: 'sourcePort',
  destinationPorts: 'destinationPort',
};

function matchText(r: FirewallRule, prefix: string): string {
  const g = (k: string) => (r as unknown as Record<string, unknown>)[`${prefix}${k}`];
  switch (g('Type')) {
    case 'single':
      return String(g('Value') ?? '');
    case 'masked-ip':
      return `${g('Value')}/${g('Mask')}`;
    case 'range':
      return `${g('RangeFrom')}-${g('RangeTo')}`;
    case 'multiple':
      return ((g('Multiple') as string[] | undefined) ?? []).join(', ');
    default:
      return 'any';
  }
}

function toForm(r: FirewallRule): RuleForm {
  const f = { ...EMPTY, name: r.name, description: r.description };
  f.action = r.action as RuleForm['action'];
  f.priority = String(r.priority) as RuleForm['priority'];
  f.direction = r.direction as RuleForm['direction'];
  f.frameType = r.frameType;
  f.protocol = r.protocol;
  for (const [field, prefix] of Object.entries(DS_PREFIX) as Array<[ListName, string]>) {
    f[field] = matchText(r, prefix);
    f[`${field}Not`] = Boolean((r as unknown as Record<string, unknown>)[`${prefix}Not`]);
  }
  return f;
}

/** The form as the API takes it (Deep Security's members). */
function toBody(v: RuleForm) {
  const body: Record<string, unknown> = {
    name: v.name,
    description: v.description,
    action: v.action,
    priority: v.priority,
    direction: v.direction,
    frameType: v.frameType,
    protocol: v.protocol,
  };
  for (const [field, prefix] of Object.entries(DS_PREFIX) as Array<[ListName, string]>) {
    const text = v[field].trim();
    const entries = text.split(/[\s,]+/).filter(Boolean);
    const any = text === '' || text.toLowerCase() === 'any';
    body[`${prefix}Type`] = any ? 'any' : 'multiple';
    if (!any) body[`${prefix}Multiple`] = entries;
    body[`${prefix}Not`] = v[`${field}Not`];
  }
  return body;
}

/** An API reason names Deep Security's member ("destinationPortMultiple[1]: …"): the form field it belongs to. */
function fieldOf(member: string): keyof RuleForm | undefined {
  for (const [field, prefix] of Object.entries(DS_PREFIX) as Array<[ListName, string]>)
    if (member.startsWith(prefix)) return member.endsWith('Not') ? `${field}Not` : field;
  return member in EMPTY ? (member as keyof RuleForm) : undefined;
}

export function FirewallRuleEditor() {
  const params = useParams<{ id: string }>();
  const isNew = params.id === 'new';
  const id = isNew ? null : Number(params.id);
  const q = useQuery({
    queryKey: ['firewall-rule', id],
    queryFn: () => get<FirewallRule>(`/api/firewallrules/${id}`),
    enabled: id !== null,
  });
  if (!isNew && !q.data) return <div className="page">{q.error ? <ErrorBox error={q.error} /> : <Loading />}</div>;
  return <RuleEditorForm rule={q.data ?? null} />;
}

function RuleEditorForm({ rule }: { rule: FirewallRule | null }) {
  const session = useSession();
  const qc = useQueryClient();
  const { navigate } = useGuard();
  const initial = useMemo(() => (rule ? toForm(rule) : EMPTY), [rule]);
  const form = useForm<RuleForm>({ resolver: zodResolver(ruleSchema), defaultValues: initial });
  useEffect(() => {
    if (!form.formState.isDirty) form.reset(initial);
  }, [initial, form]);
  useUnsavedChanges(form.formState.isDirty);
  const save = useMutation({
    mutationFn: (v: RuleForm) =>
      rule
        ? put<FirewallRule>(`/api/firewallrules/${rule.ID}`, toBody(v))
        : post<FirewallRule>('/api/firewallrules', toBody(v)),
    onSuccess: async (r, v) => {
      form.reset(v);
      await qc.invalidateQueries();
      if (!rule) navigate(`/firewall-rules/${r.ID}`);
    },
    onError: (e) => {
      // FIREWALL_RULE_INVALID lists "field: reason; field: reason": each goes beside its field.
      const text = e instanceof ApiError ? e.message : String(e);
      let placed = false;
      for (const part of text.split(/;\s*/)) {
        const m = /([A-Za-z]+)(\[\d+\])?:\s/.exec(part);
        const field = m?.[1] ? fieldOf(m[1]) : undefined;
        if (field) {
          form.setError(field, { message: part.slice(part.indexOf(m?.[0] ?? '')) });
          placed = true;
        }
      }
      if (e instanceof ApiError && e.code === 'FIREWALL_RULE_NAME_TAKEN') {
        form.setError('name', { message: text });
        placed = true;
      }
      if (!placed) form.setError('root', { message: text });
    },
  });
  const errors = form.formState.errors;
  const action = form.watch('action');
  const ro = !session.canWrite;
  return (
    <div className="page editor">
      <PageHeader title={rule ? rule.name : 'New firewall rule'} subtitle="Firewall rule" />
      <div className="with-sidenav">
        <SideNav label="Policies" items={POLICIES_NAV} current="/firewall-rules" />
        <form className="editor-content settings-form" onSubmit={form.handleSubmit((v) => save.mutate(v))} noValidate>
          <fieldset className="section">
            <legend>General</legend>
            <Field label="Name" error={errors.name?.message}>
              {(id, d) => (
                <input id={id} className="input" aria-describedby={d} disabled={ro} {...form.register('name')} />
              )}
            </Field>
            <Field label="Description" error={errors.description?.message}>
              {(id, d) => (
                <textarea
                  id={id}
                  className="input"
                  rows={2}
                  aria-describedby={d}
                  disabled={ro}
                  {...form.register('description')}
                />
              )}
            </Field>
            <div className="field-row">
              <Field label="Action" error={errors.action?.message} help={ACTIONS.find(([a]) => a === action)?.[1]}>
                {(id, d) => (
                  <select id={id} className="select" aria-describedby={d} disabled={ro} {...form.register('action')}>
                    {ACTIONS.map(([a]) => (
                      <option key={a} value={a}>
                        {a}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field
                label="Priority"
                error={errors.priority?.message}
                help="Higher priority rules are evaluated first; within a priority: bypass, log only, force allow, deny, allow."
              >
                {(id, d) => (
                  <select id={id} className="select" aria-describedby={d} disabled={ro} {...form.register('priority')}>
                    {PRIORITIES.map(([p, label]) => (
                      <option key={p} value={p}>
                        {label}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Packet's direction" error={errors.direction?.message}>
                {(id, d) => (
                  <select id={id} className="select" aria-describedby={d} disabled={ro} {...form.register('direction')}>
                    <option value="incoming">Incoming</option>
                    <option value="outgoing">Outgoing</option>
                  </select>
                )}
              </Field>
            </div>
            <div className="field-row">
              <Field label="Frame type" error={errors.frameType?.message}>
                {(id, d) => (
                  <select id={id} className="select" aria-describedby={d} disabled={ro} {...form.register('frameType')}>
                    <option value="any">Any</option>
                    <option value="ip">IP</option>
                    <option value="ipv4">IPv4</option>
                    <option value="ipv6">IPv6</option>
                    <option value="arp">ARP</option>
                  </select>
                )}
              </Field>
              <Field label="Protocol" error={errors.protocol?.message}>
                {(id, d) => (
                  <select id={id} className="select" aria-describedby={d} disabled={ro} {...form.register('protocol')}>
                    <option value="any">Any</option>
                    <option value="tcp">TCP</option>
                    <option value="udp">UDP</option>
                    <option value="icmp">ICMP</option>
                    <option value="icmpv6">ICMPv6</option>
                    <option value="tcp-udp">TCP+UDP</option>
                  </select>
                )}
              </Field>
            </div>
          </fieldset>
          <fieldset className="section">
            <legend>Packet source and destination</legend>
            {LISTS.map(([name, label, help]) => (
              <div key={name} className="field-row field-row-list">
                <Field label={label} error={errors[name as ListName]?.message} help={help}>
                  {(id, d) => (
                    <input
                      id={id}
                      className="input"
                      aria-describedby={d}
                      disabled={ro}
                      {...form.register(name as ListName)}
                    />
                  )}
                </Field>
                <label className="checkbox">
                  <input type="checkbox" disabled={ro} {...form.register(`${name}Not` as `${ListName}Not`)} /> Not
                  (match everything else)
                </label>
              </div>
            ))}
          </fieldset>
          {errors.root?.message ? <Notice tone="error">{errors.root.message}</Notice> : null}
          {ro ? (
            <p className="help">You have read-only access.</p>
          ) : (
            <div className="form-actions">
              <button type="submit" className="btn btn-primary" disabled={save.isPending}>
                Save
              </button>
              <button type="button" className="btn" onClick={() => navigate('/firewall-rules')}>
                Close
              </button>
            </div>
          )}
        </form>
      </div>
    </div>
  );
}
