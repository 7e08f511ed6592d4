import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useMemo, useState } from 'react';
import { type UseFormReturn, useForm } from 'react-hook-form';
import { useParams } from 'wouter';
import { z } from 'zod';
import { ApiError, type FirewallListKind, type FirewallRule, get, post } from '../api';
import { DataTable } from '../components/data-table';
import { ipText, portText } from '../components/firewall-panel';
import { useGuard, useUnsavedChanges } from '../components/guard';
import { SideNav } from '../components/layout';
import {
  ErrorBox,
  Field,
  ListActions,
  Loading,
  NameDescriptionFields,
  Notice,
  PageHeader,
  SaveFormFooter,
} from '../components/ui';
import { useFirewallLists, useListName, useListSelection } from '../queries';
import { useSession } from '../session';
import { POLICIES_NAV } from './policies';

function useRules() {
  return useQuery({
    queryKey: ['firewall-rules'],
    queryFn: async () => (await get<{ firewallRules: FirewallRule[] }>('/api/firewallrules')).firewallRules,
    // A list page, not an editor: opening it shows rules made a moment ago elsewhere (API, scripts).
    staleTime: 0,
  });
}

export function FirewallRules() {
  const q = useRules();
  const session = useSession();
  const { navigate } = useGuard();
  const { selected, setSelected, chosen, remove } = useListSelection(q.data, '/api/firewallrules', ['firewall-rules']);
  const listName = useListName();
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
        // Rendered, not an accessor: the table caches accessor values, and list names arrive later.
        cell: (c) => ipText(c.row.original, 'source', listName),
      },
      {
        id: 'ports',
        header: 'Destination ports',
        enableSorting: false,
        cell: (c) => portText(c.row.original, 'destination', listName),
      },
    ],
    [listName],
  );
  const open = (id: number) => navigate(`/firewall-rules/${id}`);
  return (
    <div className="page">
      <PageHeader
        title="Firewall Rules"
        subtitle="Reusable rules. Assign them to policies or computers (their Firewall page) to enforce them."
        actions={
          <ListActions
            canWrite={session.canWrite}
            create={() => navigate('/firewall-rules/new')}
            selected={chosen?.name}
            onDetails={() => chosen && open(chosen.ID)}
            deleteText="A rule still assigned to a policy or computer cannot be deleted."
            onDelete={() => chosen && remove.mutate(chosen.ID)}
          />
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
/** The six address and port matches; each is any, entries typed here, or a named list. */
const MATCHES = [
  [
    'sourceIp',
    'Source IP',
    'ip',
    'addresses, CIDR blocks (10.0.0.0/8) and ranges (a-b), one per line or comma-separated',
  ],
  ['destinationIp', 'Destination IP', 'ip', 'addresses, CIDR blocks and ranges'],
  ['sourceMac', 'Source MAC', 'mac', 'MAC addresses (incoming rules only)'],
  ['destinationMac', 'Destination MAC', 'mac', 'MAC addresses (incoming rules only)'],
  ['sourcePorts', 'Source ports', 'port', 'ports and ranges (1024-65535); TCP and UDP only'],
  ['destinationPorts', 'Destination ports', 'port', 'ports and ranges; TCP and UDP only'],
] as const;
type MatchName = (typeof MATCHES)[number][0];
const KIND_LABEL: Record<FirewallListKind, string> = { ip: 'IP list', mac: 'MAC list', port: 'Port list' };

const match = z.object({
  mode: z.enum(['any', 'entries', 'list']),
  text: z.string(),
  listID: z.string(),
  not: z.boolean(),
});
type Match = z.infer<typeof match>;

const ruleSchema = z
  .object({
    name: z.string().trim().min(1, 'Give the rule a name').max(255),
    description: z.string().max(2000),
    action: z.enum(['allow', 'deny', 'force-allow', 'bypass', 'log-only']),
    priority: z.enum(['0', '1', '2', '3', '4']),
    direction: z.enum(['incoming', 'outgoing']),
    frameType: z.string(),
    protocol: z.string(),
    sourceIp: match,
    destinationIp: match,
    sourceMac: match,
    destinationMac: match,
    sourcePorts: match,
    destinationPorts: match,
  })
  .superRefine((v, ctx) => {
    for (const [name, label, kind] of MATCHES) {
      const m = v[name];
      if (m.mode === 'list' && m.listID === '')
        ctx.addIssue({ code: 'custom', path: [name, 'listID'], message: `Choose the ${KIND_LABEL[kind]}` });
      if (m.mode === 'entries' && m.text.trim() === '')
        ctx.addIssue({ code: 'custom', path: [name, 'text'], message: `Enter the ${label} entries, or choose Any` });
    }
  });
type RuleForm = z.infer<typeof ruleSchema>;

const ANY: Match = { mode: 'any', text: '', listID: '', not: false };
const EMPTY: RuleForm = {
  name: '',
  description: '',
  action: 'allow',
  priority: '2',
  direction: 'incoming',
  frameType: 'ip',
  protocol: 'tcp',
  sourceIp: ANY,
  destinationIp: ANY,
  sourceMac: ANY,
  destinationMac: ANY,
  sourcePorts: ANY,
  destinationPorts: ANY,
};

/** Deep Security's per-member model ↔ this form: `sourceIPType` and its value members, per match. */
const DS_PREFIX: Record<MatchName, string> = {
  sourceIp: 'sourceIP',
  destinationIp: 'destinationIP',
  sourceMac: 'sourceMAC',
  destinationMac: 'destinationMAC',
  sourcePorts: 'sourcePort',
  destinationPorts: 'destinationPort',
};
const LIST_TYPE: Record<FirewallListKind, string> = { ip: 'ip-list', mac: 'mac-list', port: 'port-list' };

function matchOf(r: FirewallRule, prefix: string): Match {
  const g = (k: string) => (r as unknown as Record<string, unknown>)[`${prefix}${k}`];
  const not = Boolean(g('Not'));
  const entries = (text: string): Match => ({ mode: 'entries', text, listID: '', not });
  switch (g('Type')) {
    case 'single':
      return entries(String(g('Value') ?? ''));
    case 'masked-ip':
      return entries(`${g('Value')}/${g('Mask')}`);
    case 'range':
      return entries(`${g('RangeFrom')}-${g('RangeTo')}`);
    case 'multiple':
      return entries(((g('Multiple') as string[] | undefined) ?? []).join(', '));
    case 'ip-list':
    case 'mac-list':
    case 'port-list':
      return { mode: 'list', text: '', listID: String(g('ListID') ?? ''), not };
    default:
      return { ...ANY, not };
  }
}

function toForm(r: FirewallRule): RuleForm {
  const f: RuleForm = { ...EMPTY, name: r.name, description: r.description };
  f.action = r.action as RuleForm['action'];
  f.priority = String(r.priority) as RuleForm['priority'];
  f.direction = r.direction as RuleForm['direction'];
  f.frameType = r.frameType;
  f.protocol = r.protocol;
  for (const [name, prefix] of Object.entries(DS_PREFIX) as Array<[MatchName, string]>) f[name] = matchOf(r, prefix);
  return f;
}

const sameMatch = (a: Match, b: Match) =>
  a.mode === b.mode &&
  a.not === b.not &&
  (a.mode !== 'entries' || a.text.trim() === b.text.trim()) &&
  (a.mode !== 'list' || a.listID === b.listID);

/**
 * The form as the API takes it (Deep Security's members). An edit of a stored rule is sent as a
 * modify (POST merges), with only the matches the user changed: a match left alone keeps its stored
 * form (a single address, a range, a list), and members this form does not show (TCP flags, ICMP
 * type, frame and protocol Not) are never reset.
 */
function toBody(v: RuleForm, initial: RuleForm | null) {
  const body: Record<string, unknown> = {
    name: v.name,
    description: v.description,
    action: v.action,
    priority: v.priority,
    direction: v.direction,
    frameType: v.frameType,
    protocol: v.protocol,
  };
  for (const [name, , kind] of MATCHES) {
    const m = v[name];
    if (initial && sameMatch(m, initial[name])) continue;
    const prefix = DS_PREFIX[name];
    if (m.mode === 'list') {
      body[`${prefix}Type`] = LIST_TYPE[kind];
      body[`${prefix}ListID`] = Number(m.listID);
    } else if (m.mode === 'entries') {
      body[`${prefix}Type`] = 'multiple';
      body[`${prefix}Multiple`] = m.text.split(/[\s,]+/).filter(Boolean);
    } else body[`${prefix}Type`] = 'any';
    body[`${prefix}Not`] = m.not;
  }
  return body;
}

/** An API reason names Deep Security's member ("destinationPortMultiple[1]: …"): the form field it belongs to. */
function fieldOf(member: string): Exclude<keyof RuleForm, MatchName> | `${MatchName}.${keyof Match}` | undefined {
  for (const [name, prefix] of Object.entries(DS_PREFIX) as Array<[MatchName, string]>)
    if (member.startsWith(prefix))
      return member.endsWith('Not') ? `${name}.not` : member.endsWith('ListID') ? `${name}.listID` : `${name}.text`;
  return member in EMPTY && !(member in DS_PREFIX) ? (member as Exclude<keyof RuleForm, MatchName>) : undefined;
}

/** One match: Any, entries typed here, or a list chosen by name (its items shown beneath). */
function MatchField(props: {
  name: MatchName;
  label: string;
  kind: FirewallListKind;
  help: string;
  form: UseFormReturn<RuleForm>;
  ro: boolean;
}) {
  const { name, label, kind, form, ro } = props;
  const lists = useFirewallLists(kind);
  const mode = form.watch(`${name}.mode`);
  const listID = form.watch(`${name}.listID`);
  // Whatever the schema or the manager says about this match goes beside the control shown for it.
  const e = form.formState.errors[name];
  const message = (e?.text ?? e?.listID ?? e?.not ?? e?.mode)?.message;
  const chosen = lists.data?.find((l) => String(l.ID) === listID);
  const known = listID === '' || chosen !== undefined || lists.isPending;
  return (
    <div className="field-row field-row-list field-row-match">
      <Field label={label} error={mode === 'any' ? message : undefined}>
        {(id, d) => (
          <select id={id} className="select" aria-describedby={d} disabled={ro} {...form.register(`${name}.mode`)}>
            <option value="any">Any</option>
            <option value="entries">Entries</option>
            <option value="list">{KIND_LABEL[kind]}</option>
          </select>
        )}
      </Field>
      {mode === 'entries' ? (
        <Field label={`${label} entries`} error={message} help={props.help}>
          {(id, d) => (
            <input id={id} className="input" aria-describedby={d} disabled={ro} {...form.register(`${name}.text`)} />
          )}
        </Field>
      ) : null}
      {mode === 'list' ? (
        <Field
          label={`${label.replace(/s$/, '')} list`}
          error={message ?? (lists.error ? `Lists not loaded: ${lists.error.message}` : undefined)}
          help={
            chosen
              ? `${chosen.items.length} item${chosen.items.length === 1 ? '' : 's'}: ${chosen.items.join(', ') || 'none'}`
              : lists.data?.length === 0
                ? `No ${KIND_LABEL[kind]}s yet: the API makes them (/api/iplists, /maclists, /portlists).`
                : undefined
          }
        >
          {(id, d) => (
            <select id={id} className="select" aria-describedby={d} disabled={ro} {...form.register(`${name}.listID`)}>
              <option value="">Choose…</option>
              {lists.data?.map((l) => (
                <option key={l.ID} value={String(l.ID)}>
                  {l.name}
                </option>
              ))}
              {known ? null : <option value={listID}>{`${KIND_LABEL[kind]} #${listID}`}</option>}
            </select>
          )}
        </Field>
      ) : null}
      {mode === 'any' ? null : (
        <label className="checkbox">
          <input type="checkbox" disabled={ro} {...form.register(`${name}.not`)} /> Not (match everything else)
        </label>
      )}
    </div>
  );
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
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (v: RuleForm) =>
      rule
        ? post<FirewallRule>(`/api/firewallrules/${rule.ID}`, toBody(v, initial))
        : post<FirewallRule>('/api/firewallrules', toBody(v, null)),
    onSuccess: async (r, v) => {
      form.reset(v);
      setSaved(true);
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
        <form
          className="editor-content settings-form"
          onSubmit={form.handleSubmit((v) => {
            setSaved(false);
            save.mutate(v);
          })}
          noValidate
        >
          <NameDescriptionFields
            name={form.register('name')}
            description={form.register('description')}
            errors={errors}
            readOnly={ro}
          >
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
          </NameDescriptionFields>
          <fieldset className="section">
            <legend>Packet source and destination</legend>
            {MATCHES.map(([name, label, kind, help]) => (
              <MatchField key={name} name={name} label={label} kind={kind} help={help} form={form} ro={ro} />
            ))}
          </fieldset>
          <SaveFormFooter
            rootError={errors.root?.message}
            saved={saved && !form.formState.isDirty ? 'Saved. Computers enforcing the rule pick the change up.' : null}
            readOnly={ro}
            pending={save.isPending}
            onClose={() => navigate('/firewall-rules')}
          />
        </form>
      </div>
    </div>
  );
}
