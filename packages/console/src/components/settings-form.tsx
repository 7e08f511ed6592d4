import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Tabs } from 'radix-ui';
import { useEffect, useMemo, useState } from 'react';
import { type Resolver, useForm } from 'react-hook-form';
import { z } from 'zod';
import { ApiError, post, type SettingDefinition, type Settings } from '../api';
import { sourceText } from '../format';
import { usePolicyName } from '../queries';
import { useSession } from '../session';
import { useUnsavedChanges } from './guard';
import { ErrorBox, Field, FixedField, Loading, Notice } from './ui';

/** '' in the form means Inherited. */
const INHERITED = '';
const MINUTE_CHOICES = ['5', '10', '15', '30', '60', '120', '240', '1440'];
const UNLIMITED = 'Unlimited';

function valueLabel(def: SettingDefinition, v: string): string {
  if (def.name === 'platformSettingHeartbeatInactiveVmOfflineAlertEnabled')
    return v === 'true' ? 'Yes' : v === 'false' ? 'No' : v;
  if (def.type === 'minutes-or-unlimited' && v !== 'Unlimited') return `${v} minutes`;
  return v;
}

function schemaFor(defs: SettingDefinition[]) {
  const shape: Record<string, z.ZodType<string>> = {};
  for (const d of defs) {
    if (d.readOnly) continue;
    shape[d.name] =
      d.type === 'choice'
        ? z
            .string()
            .refine((v) => v === INHERITED || d.values.includes(v), { message: `Choose one of ${d.values.join(', ')}` })
        : // Typed freely: the manager checks the value (core's settingValueProblem), and its
          // reason is shown beside the field; a second copy of the rule here could only drift.
          z.string();
  }
  return z.object(shape);
}

export interface SettingsTarget {
  kind: 'policy' | 'computer';
  id: number;
  /** The Base Policy inherits nothing: no Inherited choice. */
  isBase: boolean;
  /** Effective values with their source. */
  effective: Settings;
  /** What the object itself holds (`null`: Inherited). */
  overrides: Settings;
  /** The values it would inherit (the parent policy's, or the computer's policy's, effective ones). */
  inherited: Settings | null;
  /** A computer's platform (macOS supports only Agent Initiated). */
  platform?: string;
}

const GENERAL_SECTIONS = ['Settings > General > Heartbeat', 'Settings > General > Communication Direction'];

/**
 * An editor's Settings page (policy or computer): the General tab, with Heartbeat and
 * Communication Direction, as Deep Security's editors show them. Loading until both are at hand.
 */
export function GeneralSettingsTabs(props: {
  target: SettingsTarget | null;
  catalog: SettingDefinition[] | undefined;
}) {
  return (
    <Tabs.Root defaultValue="general" className="tabs">
      <Tabs.List aria-label="Settings" className="tabs-list">
        <Tabs.Trigger value="general" className="tab">
          General
        </Tabs.Trigger>
      </Tabs.List>
      <Tabs.Content value="general" className="tab-panel">
        {props.target && props.catalog ? (
          <SettingsForm catalog={props.catalog} sections={GENERAL_SECTIONS} target={props.target} />
        ) : (
          <Loading />
        )}
      </Tabs.Content>
    </Tabs.Root>
  );
}

/**
 * The settings of one or more sections (Settings > General > Heartbeat, > Communication
 * Direction) of a policy or computer, saved together with one Save: all or nothing, through
 * `POST /api/policies/{id}` or `/api/computers/{id}`. An error the manager gives is shown next to
 * the setting it names, and nothing is saved.
 */
export function SettingsForm(props: { target: SettingsTarget; catalog: SettingDefinition[]; sections: string[] }) {
  const { target, catalog } = props;
  const session = useSession();
  const policyName = usePolicyName();
  const qc = useQueryClient();
  const defs = useMemo(() => catalog.filter((d) => props.sections.includes(d.section)), [catalog, props.sections]);
  const initial = useMemo(() => {
    const v: Record<string, string> = {};
    for (const d of defs) if (!d.readOnly) v[d.name] = target.overrides[d.name]?.value ?? INHERITED;
    return v;
  }, [defs, target.overrides]);
  // The schema is built from the catalog at run time, so its type is only known as a record of strings.
  const resolver = zodResolver(schemaFor(defs)) as unknown as Resolver<Record<string, string>>;
  const form = useForm<Record<string, string>>({ resolver, defaultValues: initial });
  // A refetch (another tab saved) replaces what is shown, but never edits in progress.
  useEffect(() => {
    if (!form.formState.isDirty) form.reset(initial);
  }, [initial, form]);
  const dirty = form.formState.isDirty;
  useUnsavedChanges(dirty);
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: (values: Record<string, string>) => {
      const changed: Record<string, { value: string | null }> = {};
      for (const d of defs) {
        if (d.readOnly) continue;
        const v = (values[d.name] ?? INHERITED).trim();
        if (v !== initial[d.name]) changed[d.name] = { value: v === INHERITED ? null : v };
      }
      const path = target.kind === 'policy' ? `/api/policies/${target.id}` : `/api/computers/${target.id}`;
      return post(path, target.kind === 'policy' ? { policySettings: changed } : { computerSettings: changed });
    },
    onSuccess: async (_r, values) => {
      form.reset(values);
      setSaved(true);
      await qc.invalidateQueries();
    },
    onError: (e) => {
      const text = e instanceof ApiError ? e.message : String(e);
      // The manager names the setting it refused (`setting "platformSetting…" takes …`).
      const about = defs.find((d) => text.includes(`"${d.name}"`)) ?? defs.find((d) => text.includes(d.name));
      if (about) form.setError(about.name, { type: 'server', message: text }, { shouldFocus: true });
      else form.setError('root', { type: 'server', message: text });
    },
  });
  const mac = target.platform === 'darwin';
  const errors = form.formState.errors;
  const bySection = props.sections.map((s) => ({ section: s, defs: defs.filter((d) => d.section === s) }));
  return (
    <form
      className="settings-form"
      onSubmit={form.handleSubmit((v) => {
        setSaved(false);
        save.mutate(v);
      })}
      noValidate
    >
      {bySection.map(({ section, defs: sectionDefs }) => (
        <fieldset key={section} className="section">
          <legend>{section.split(' > ').pop()}</legend>
          {section.endsWith('Heartbeat') ? (
            <p className="section-intro">
              The heartbeat interval and the number of heartbeats that can be missed are fixed by the product. A
              computer is Offline when no heartbeat arrived for three intervals.
            </p>
          ) : null}
          {section.endsWith('Communication Direction') ? (
            <p className="section-intro">
              Agent Initiated: the agent contacts the manager on every heartbeat and does not listen. Manager Initiated:
              the manager contacts the agent on its listening port. Bidirectional: both, so changes are sent at once.
            </p>
          ) : null}
          {sectionDefs.map((d) => {
            if (d.readOnly)
              return (
                <FixedField
                  key={d.name}
                  label={d.label}
                  value={target.effective[d.name]?.value ?? d.default}
                  help="Fixed by the product; not configurable."
                />
              );
            const inherited = target.inherited?.[d.name];
            const inheritedText = inherited?.value ? valueLabel(d, inherited.value) : '';
            const current = form.watch(d.name);
            const choices = d.type === 'choice' ? d.values : [];
            const isDirection = d.name === 'platformSettingAgentCommunicationsDirection';
            const minutes =
              d.type === 'minutes-or-unlimited'
                ? ` ${UNLIMITED}, or a whole number of minutes${target.isBase ? '' : '; empty for Inherited'}.`
                : d.type === 'port'
                  ? ` A TCP port number from 1 to 65535${target.isBase ? '' : '; empty for Inherited'}.`
                  : '';
            const help =
              (current === INHERITED && inherited?.value
                ? `Inherited from ${sourceText(inherited.source === 'computer' ? undefined : inherited.source, policyName) || 'the parent policy'}: ${inheritedText}.`
                : target.isBase
                  ? 'The Base Policy holds a value for every setting; sub-policies and computers inherit it.'
                  : 'Overrides the inherited value.') + minutes;
            return (
              <Field
                key={d.name}
                label={d.label}
                error={errors[d.name]?.message}
                help={
                  isDirection && mac
                    ? `${help} macOS agents support only Agent Initiated communication, so the other directions are not offered.`
                    : help
                }
              >
                {(id, describedBy) =>
                  d.type !== 'choice' ? (
                    <>
                      <input
                        id={id}
                        className="input input-short"
                        list={d.type === 'minutes-or-unlimited' ? `${id}-choices` : undefined}
                        inputMode="numeric"
                        autoComplete="off"
                        placeholder={target.isBase ? '' : inheritedText ? `Inherited (${inheritedText})` : 'Inherited'}
                        aria-describedby={describedBy}
                        aria-invalid={errors[d.name] ? 'true' : undefined}
                        disabled={!session.canWrite}
                        {...form.register(d.name)}
                      />
                      {d.type === 'minutes-or-unlimited' ? (
                        <datalist id={`${id}-choices`}>
                          {[UNLIMITED, ...MINUTE_CHOICES].map((v) => (
                            <option key={v} value={v} />
                          ))}
                        </datalist>
                      ) : null}
                    </>
                  ) : (
                    <select
                      id={id}
                      className="select"
                      aria-describedby={describedBy}
                      aria-invalid={errors[d.name] ? 'true' : undefined}
                      disabled={!session.canWrite}
                      {...form.register(d.name)}
                    >
                      {target.isBase ? null : (
                        <option value={INHERITED}>
                          {inheritedText ? `Inherited (${inheritedText})` : 'Inherited'}
                        </option>
                      )}
                      {choices.map((v) => (
                        <option key={v} value={v} disabled={isDirection && mac && v !== 'Agent/Appliance Initiated'}>
                          {valueLabel(d, v)}
                        </option>
                      ))}
                    </select>
                  )
                }
              </Field>
            );
          })}
        </fieldset>
      ))}
      {errors.root?.message ? <ErrorBox error={new Error(errors.root.message)} /> : null}
      {saved && !dirty ? (
        <Notice tone="ok">Saved. Computers pick the change up as their communication direction allows.</Notice>
      ) : null}
      {session.canWrite ? (
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={save.isPending}>
            {save.isPending ? 'Saving…' : 'Save'}
          </button>
          <button type="button" className="btn" disabled={!dirty || save.isPending} onClick={() => form.reset(initial)}>
            Undo changes
          </button>
        </div>
      ) : (
        <p className="help">You have read-only access: settings are shown, not changed.</p>
      )}
    </form>
  );
}
