import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useMemo, useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { ApiError, type Policy, post } from '../api';
import { DataTable } from '../components/data-table';
import { useGuard } from '../components/guard';
import { SideNav } from '../components/layout';
import { ErrorBox, Field, FormDialog, ListActions, Notice, PageHeader, TextField } from '../components/ui';
import { useListSelection, usePolicies } from '../queries';
import { useSession } from '../session';

export const POLICIES_NAV = [
  { href: '/policies', label: 'Policies' },
  { href: '/firewall-rules', label: 'Firewall Rules' },
  // Deep Security's Policies > Common Objects > Lists.
  { href: '/lists/ip', label: 'IP Lists' },
  { href: '/lists/mac', label: 'MAC Lists' },
  { href: '/lists/port', label: 'Port Lists' },
];

/** Policies in tree order (each after its parent), with their depth. */
function treeOrder(policies: Policy[]): Array<Policy & { depth: number }> {
  const children = new Map<number | null, Policy[]>();
  for (const p of policies) children.set(p.parentID, [...(children.get(p.parentID) ?? []), p]);
  const out: Array<Policy & { depth: number }> = [];
  const visit = (parent: number | null, depth: number) => {
    for (const p of (children.get(parent) ?? []).sort((a, b) => a.name.localeCompare(b.name))) {
      out.push({ ...p, depth });
      visit(p.ID, depth + 1);
    }
  };
  visit(null, 0);
  return out;
}

/** A policy's name and description, as New policy and the Policy editor's General page take them. */
export const policySchema = z.object({
  name: z
    .string()
    .min(1, 'Give the policy a name')
    .max(255)
    .refine((s) => s.trim() === s, 'No spaces at the start or the end'),
  description: z.string().max(4000),
});

function NewPolicyDialog({ parent, onCreated }: { parent: Policy; onCreated: (id: number) => void }) {
  const [open, setOpen] = useState(false);
  const qc = useQueryClient();
  const form = useForm<z.infer<typeof policySchema>>({
    resolver: zodResolver(policySchema),
    defaultValues: { name: '', description: '' },
  });
  const create = useMutation({
    mutationFn: (v: z.infer<typeof policySchema>) => post<Policy>('/api/policies', { ...v, parentID: parent.ID }),
    onSuccess: async (p) => {
      await qc.invalidateQueries({ queryKey: ['policies'] });
      setOpen(false);
      form.reset();
      onCreated(p.ID);
    },
    onError: (e) => {
      if (e instanceof ApiError && e.code === 'POLICY_NAME_TAKEN') form.setError('name', { message: e.message });
    },
  });
  const errors = form.formState.errors;
  return (
    <FormDialog
      label="New"
      triggerClass="btn"
      title="New policy"
      text={`A sub-policy of “${parent.name}”: it inherits every setting and firewall rule of it until you override them.`}
      submit="Create"
      open={open}
      onOpenChange={setOpen}
      onSubmit={form.handleSubmit((v) => create.mutate(v))}
      pending={create.isPending}
    >
      <TextField label="Name" error={errors.name?.message} registration={form.register('name')} />
      <Field label="Description" error={errors.description?.message}>
        {(id, d) => (
          <textarea id={id} className="input" rows={3} aria-describedby={d} {...form.register('description')} />
        )}
      </Field>
      {create.error && !(create.error instanceof ApiError && create.error.code === 'POLICY_NAME_TAKEN') ? (
        <ErrorBox error={create.error} />
      ) : null}
    </FormDialog>
  );
}

export function Policies() {
  const q = usePolicies();
  const session = useSession();
  const { navigate } = useGuard();
  const rows = useMemo(() => treeOrder(q.data ?? []), [q.data]);
  const { selected, setSelected, chosen, remove } = useListSelection(rows, '/api/policies', ['policies']);
  const columns = useMemo<ColumnDef<Policy & { depth: number }, unknown>[]>(
    () => [
      {
        id: 'name',
        header: 'Name',
        enableSorting: false,
        accessorKey: 'name',
        cell: (c) => (
          <span className="tree-name" style={{ paddingLeft: `${c.row.original.depth * 1.5}rem` }}>
            {c.row.original.depth > 0 ? (
              <span aria-hidden="true" className="tree-branch">
                └
              </span>
            ) : null}
            <strong>{c.row.original.name}</strong>
          </span>
        ),
      },
      { id: 'description', header: 'Description', enableSorting: false, accessorKey: 'description' },
      {
        id: 'direction',
        header: 'Communication direction',
        enableSorting: false,
        accessorFn: (p) => p.policySettings.platformSettingAgentCommunicationsDirection?.value ?? '',
      },
      {
        id: 'firewall',
        header: 'Firewall',
        enableSorting: false,
        accessorFn: (p) => p.policySettings.firewallSettingState?.value ?? '',
      },
    ],
    [],
  );
  const open = (id: number) => navigate(`/policies/${id}/general`);
  return (
    <div className="page">
      <PageHeader
        title="Policies"
        subtitle="The Base Policy and its sub-policies. Select a row, then click Details to open the Policy editor."
        actions={
          <ListActions
            canWrite={session.canWrite}
            create={
              chosen ? (
                <NewPolicyDialog parent={chosen} onCreated={setSelected} />
              ) : (
                <button type="button" className="btn" disabled title="Select the parent policy first">
                  New
                </button>
              )
            }
            selected={chosen?.name}
            onDetails={() => chosen && open(chosen.ID)}
            deleteText="The policy and its activation tokens are deleted. A policy with sub-policies or computers cannot be deleted."
            deleteDisabled={chosen?.parentID === null}
            onDelete={() => chosen && remove.mutate(chosen.ID)}
          />
        }
      />
      <div className="with-sidenav">
        <SideNav label="Policies" items={POLICIES_NAV} current="/policies" />
        <div className="editor-content">
          <ErrorBox error={q.error} />
          {remove.error ? <Notice tone="error">Not deleted: {(remove.error as Error).message}</Notice> : null}
          <DataTable
            label="Policies"
            data={rows}
            columns={columns}
            rowId={(p) => p.ID}
            rowLabel={(p) => p.name}
            selected={selected}
            onSelect={setSelected}
            onOpen={open}
            loading={q.isPending}
          />
        </div>
      </div>
    </div>
  );
}
