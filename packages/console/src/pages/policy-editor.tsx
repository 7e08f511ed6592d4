import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { useForm } from 'react-hook-form';
import { useParams } from 'wouter';
import type { z } from 'zod';
import { ApiError, get, type Policy, post } from '../api';
import { RuleAssignments } from '../components/firewall-panel';
import { useUnsavedChanges } from '../components/guard';
import { SideNav } from '../components/layout';
import { GeneralSettingsTabs, SettingsForm } from '../components/settings-form';
import { ErrorBox, Loading, NameDescriptionFields, PageHeader, SaveFormFooter } from '../components/ui';
import { useCatalog, usePolicyName } from '../queries';
import { useSession } from '../session';
import { policySchema } from './policies';

const SECTIONS = ['general', 'firewall', 'settings'] as const;
const LABELS = { general: 'General', firewall: 'Firewall', settings: 'Settings' };

/** The Policy editor: General (name, description), Firewall, Settings (General: Heartbeat, Communication Direction). */
export function PolicyEditor() {
  const params = useParams<{ id: string; section?: string }>();
  const id = Number(params.id);
  const section = (SECTIONS as readonly string[]).includes(params.section ?? '')
    ? (params.section as (typeof SECTIONS)[number])
    : 'general';
  const policy = useQuery({ queryKey: ['policy', id], queryFn: () => get<Policy>(`/api/policies/${id}`) });
  const overrides = useQuery({
    queryKey: ['policy', id, 'overrides'],
    queryFn: () => get<Policy>(`/api/policies/${id}?overrides=true`),
  });
  const parentId = policy.data?.parentID ?? null;
  const parent = useQuery({
    queryKey: ['policy', parentId],
    queryFn: () => get<Policy>(`/api/policies/${parentId}`),
    enabled: parentId !== null,
  });
  const catalog = useCatalog();
  const p = policy.data;
  const ready = catalog.data && overrides.data && p && (parentId === null || parent.data);
  const target = ready
    ? {
        kind: 'policy' as const,
        id,
        isBase: p.parentID === null,
        effective: p.policySettings,
        overrides: overrides.data.policySettings,
        inherited: parent.data?.policySettings ?? null,
      }
    : null;
  return (
    <div className="page editor">
      <PageHeader
        title={p ? p.name : 'Policy'}
        subtitle={p ? `Policy editor${p.parentID === null ? ' · the root of every policy' : ''}` : undefined}
      />
      <div className="editor-body">
        <SideNav
          label="Policy editor"
          current={`/policies/${id}/${section}`}
          items={SECTIONS.map((s) => ({ href: `/policies/${id}/${s}`, label: LABELS[s] }))}
        />
        <div className="editor-content">
          <ErrorBox error={policy.error} />
          {!p || !target || !catalog.data ? (
            policy.error ? null : (
              <Loading />
            )
          ) : section === 'general' ? (
            <GeneralForm policy={p} />
          ) : section === 'settings' ? (
            <GeneralSettingsTabs catalog={catalog.data} target={target} />
          ) : (
            <>
              <section className="card">
                <SettingsForm catalog={catalog.data} sections={['Firewall']} target={target} />
              </section>
              <RuleAssignments kind="policies" id={id} />
            </>
          )}
        </div>
      </div>
    </div>
  );
}

function GeneralForm({ policy }: { policy: Policy }) {
  const session = useSession();
  const policyName = usePolicyName();
  const qc = useQueryClient();
  const form = useForm<z.infer<typeof policySchema>>({
    resolver: zodResolver(policySchema),
    defaultValues: { name: policy.name, description: policy.description },
  });
  useEffect(() => {
    if (!form.formState.isDirty) form.reset({ name: policy.name, description: policy.description });
  }, [policy, form]);
  useUnsavedChanges(form.formState.isDirty);
  const save = useMutation({
    mutationFn: (v: z.infer<typeof policySchema>) => post<Policy>(`/api/policies/${policy.ID}`, v),
    onSuccess: async (_r, v) => {
      form.reset(v);
      await qc.invalidateQueries();
    },
    onError: (e) => {
      if (e instanceof ApiError && e.code === 'POLICY_NAME_TAKEN') form.setError('name', { message: e.message });
      else form.setError('root', { message: (e as Error).message });
    },
  });
  const errors = form.formState.errors;
  return (
    <form className="card settings-form" onSubmit={form.handleSubmit((v) => save.mutate(v))} noValidate>
      <NameDescriptionFields
        name={form.register('name')}
        description={form.register('description')}
        errors={errors}
        readOnly={!session.canWrite}
        rows={3}
      >
        <p className="help">
          {policy.parentID === null
            ? 'The Base Policy has no parent.'
            : `Parent policy: ${policyName(policy.parentID)}`}
        </p>
      </NameDescriptionFields>
      <SaveFormFooter
        rootError={errors.root?.message}
        saved={null}
        readOnly={!session.canWrite}
        pending={save.isPending}
      />
    </form>
  );
}
