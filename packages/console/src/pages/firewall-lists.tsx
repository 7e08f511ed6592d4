import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import type { ColumnDef } from '@tanstack/react-table';
import { useEffect, useMemo, useState } from 'react';
import { useForm } from 'react-hook-form';
import { useParams } from 'wouter';
import { z } from 'zod';
import { ApiError, type FirewallList, type FirewallListKind, get, post } from '../api';
import { DataTable } from '../components/data-table';
import { showApiError } from '../components/form-errors';
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
import { LIST_ROUTES, useFirewallLists, useListSelection } from '../queries';
import { useSession } from '../session';
import { POLICIES_NAV } from './policies';

/** Per kind: the page title, the noun, and what an item is (as the manager's schema says). */
const KINDS: Record<FirewallListKind, { title: string; noun: string; items: string; example: string }> = {
  ip: {
    title: 'IP Lists',
    noun: 'IP list',
    items:
      'One per line: an address, a masked IP (192.168.2.0/24) or a range (192.168.0.2 - 192.168.0.125), IPv4 or IPv6.',
    example: '10.0.0.0/8 # the office',
  },
  mac: {
    title: 'MAC Lists',
    noun: 'MAC list',
    items: 'One per line: a MAC address, 00:11:22:33:44:55 or 00-11-22-33-44-55.',
    example: '00:11:22:33:44:55',
  },
  port: {
    title: 'Port Lists',
    noun: 'port list',
    items: 'One per line: a port (80) or a range (8000-8080).',
    example: '8000-8080',
  },
};

function kindOf(s: string | undefined): FirewallListKind {
  return s === 'mac' || s === 'port' ? s : 'ip';
}

/** Policies > IP / MAC / Port Lists (Deep Security's Common Objects): the lists firewall rules name. */
export function FirewallLists() {
  const params = useParams<{ kind: string }>();
  const kind = kindOf(params.kind);
  const k = KINDS[kind];
  const session = useSession();
  const { navigate } = useGuard();
  const q = useFirewallLists(kind);
  const { selected, setSelected, chosen, remove } = useListSelection(q.data, LIST_ROUTES[kind][0], [
    'firewall-lists',
    kind,
  ]);
  // A list page per kind: the selection and a refusal belong to the kind shown.
  // biome-ignore lint/correctness/useExhaustiveDependencies: reset when the kind changes
  useEffect(() => {
    setSelected(null);
    remove.reset();
  }, [kind]);
  const columns = useMemo<ColumnDef<FirewallList, unknown>[]>(
    () => [
      { id: 'name', header: 'Name', accessorKey: 'name', cell: (c) => <strong>{c.row.original.name}</strong> },
      { id: 'description', header: 'Description', accessorKey: 'description' },
      {
        id: 'items',
        header: 'Items',
        enableSorting: false,
        cell: (c) => {
          const items = c.row.original.items;
          return items.length > 3 ? `${items.slice(0, 3).join(', ')} … (${items.length})` : items.join(', ');
        },
      },
    ],
    [],
  );
  const open = (id: number) => navigate(`/lists/${kind}/${id}`);
  return (
    <div className="page">
      <PageHeader
        title={k.title}
        subtitle={`Firewall rules name a ${k.noun} as their source or destination. Select a row, then click Details.`}
        actions={
          <ListActions
            canWrite={session.canWrite}
            create={() => navigate(`/lists/${kind}/new`)}
            selected={chosen?.name}
            onDetails={() => chosen && open(chosen.ID)}
            deleteText={`A ${k.noun} that firewall rules name cannot be deleted; the manager says which rules.`}
            onDelete={() => chosen && remove.mutate(chosen.ID)}
          />
        }
      />
      <div className="with-sidenav">
        <SideNav label="Policies" items={POLICIES_NAV} current={`/lists/${kind}`} />
        <div className="editor-content">
          <ErrorBox error={q.error} />
          {remove.error ? <Notice tone="error">Not deleted: {(remove.error as Error).message}</Notice> : null}
          <DataTable
            label={k.title}
            data={q.data ?? []}
            columns={columns}
            rowId={(l) => l.ID}
            rowLabel={(l) => l.name}
            selected={selected}
            onSelect={setSelected}
            onOpen={open}
            loading={q.isPending}
            empty={`No ${k.noun}s.`}
          />
        </div>
      </div>
    </div>
  );
}

const schema = z.object({
  name: z.string().trim().min(1, 'A name is required.').max(255, 'At most 255 characters.'),
  description: z.string().max(2000, 'At most 2000 characters.'),
  items: z.string(),
});
type ListForm = z.infer<typeof schema>;

const toForm = (l: FirewallList | null): ListForm => ({
  name: l?.name ?? '',
  description: l?.description ?? '',
  items: l?.items.join('\n') ?? '',
});

export function FirewallListEditor() {
  const params = useParams<{ kind: string; id: string }>();
  const kind = kindOf(params.kind);
  const id = params.id === 'new' ? null : Number(params.id);
  const q = useQuery({
    queryKey: ['firewall-list', kind, id],
    queryFn: () => get<FirewallList>(`${LIST_ROUTES[kind][0]}/${id}`),
    enabled: id !== null,
  });
  if (id !== null && !q.data) return <div className="page">{q.error ? <ErrorBox error={q.error} /> : <Loading />}</div>;
  // Kept mounted from New to the saved list (its "Saved." stays); a new kind is a new form.
  return <ListEditorForm key={kind} kind={kind} list={q.data ?? null} />;
}

function ListEditorForm({ kind, list }: { kind: FirewallListKind; list: FirewallList | null }) {
  const k = KINDS[kind];
  const session = useSession();
  const qc = useQueryClient();
  const { navigate, setDirty } = useGuard();
  const initial = useMemo(() => toForm(list), [list]);
  const form = useForm<ListForm>({ resolver: zodResolver(schema), defaultValues: initial });
  // A refetch (another tab saved) replaces what is shown, but never edits in progress.
  useEffect(() => {
    if (!form.formState.isDirty) form.reset(initial);
  }, [initial, form]);
  useUnsavedChanges(form.formState.isDirty);
  const [saved, setSaved] = useState(false);
  const path = LIST_ROUTES[kind][0];
  const save = useMutation({
    mutationFn: (v: ListForm) => {
      const body = {
        name: v.name.trim(),
        description: v.description,
        items: v.items
          .split('\n')
          .map((i) => i.trim())
          .filter((i) => i !== ''),
      };
      return list ? post<FirewallList>(`${path}/${list.ID}`, body) : post<FirewallList>(path, body);
    },
    onSuccess: async (l) => {
      form.reset(toForm(l));
      setSaved(true);
      await qc.invalidateQueries({ queryKey: ['firewall-lists', kind] });
      qc.setQueryData(['firewall-list', kind, l.ID], l);
      // Saved: nothing is left to lose, whether or not React has rendered the reset form yet.
      setDirty(false);
      if (!list) navigate(`/lists/${kind}/${l.ID}`);
    },
    onError: (e) => {
      // FIREWALL_LIST_INVALID says "…: name: …; items[2]: …": each part goes beside its field.
      if (e instanceof ApiError && e.code === 'FIREWALL_LIST_INVALID') {
        const parts = e.message.replace(/^[^:]*:\s*/, '').split(/;\s*/);
        const byField = new Map<keyof ListForm, string[]>();
        for (const part of parts) {
          const f = /^(name|description|items)\b/.exec(part)?.[1] as keyof ListForm | undefined;
          if (f) byField.set(f, [...(byField.get(f) ?? []), part]);
        }
        if (byField.size > 0) {
          for (const [f, texts] of byField) form.setError(f, { type: 'server', message: texts.join('; ') });
          return;
        }
      }
      showApiError(form, e, (code) => (code === 'FIREWALL_LIST_NAME_TAKEN' ? 'name' : undefined));
    },
  });
  const errors = form.formState.errors;
  const ro = !session.canWrite;
  return (
    <div className="page editor">
      <PageHeader title={list ? list.name : `New ${k.noun}`} subtitle={k.noun[0]?.toUpperCase() + k.noun.slice(1)} />
      <div className="with-sidenav">
        <SideNav label="Policies" items={POLICIES_NAV} current={`/lists/${kind}`} />
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
            <Field label="Items" error={errors.items?.message} help={`${k.items} Text after # is a comment.`}>
              {(fid, d) => (
                <textarea
                  id={fid}
                  className="input input-mono"
                  rows={10}
                  placeholder={k.example}
                  aria-describedby={d}
                  disabled={ro}
                  {...form.register('items')}
                />
              )}
            </Field>
          </NameDescriptionFields>
          <SaveFormFooter
            rootError={errors.root?.message}
            saved={
              saved && !form.formState.isDirty ? 'Saved. Computers whose rules name the list pick the change up.' : null
            }
            readOnly={ro}
            pending={save.isPending}
            onClose={() => navigate(`/lists/${kind}`)}
          />
        </form>
      </div>
    </div>
  );
}
