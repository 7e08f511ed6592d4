import { AlertDialog, Dialog } from 'radix-ui';
import { type FormEvent, type ReactNode, useId, useState } from 'react';
import type { UseFormRegisterReturn } from 'react-hook-form';
import { ApiError } from '../api';
import { ROLES } from '../roles';

export function PageHeader(props: { title: string; subtitle?: ReactNode; actions?: ReactNode }) {
  return (
    <header className="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle ? <p className="subtitle">{props.subtitle}</p> : null}
      </div>
      {props.actions ? <div className="toolbar">{props.actions}</div> : null}
    </header>
  );
}

const STATUS_TONE: Record<string, string> = {
  'Managed (Online)': 'ok',
  'Update Pending (Heartbeat)': 'info',
  Updating: 'info',
  Offline: 'bad',
  'VM Stopped': 'muted',
  'Activation Required': 'warn',
  Deactivated: 'muted',
  critical: 'bad',
  warning: 'warn',
  error: 'bad',
  info: 'info',
};

export function StatusBadge({ status }: { status: string }) {
  return <span className={`badge badge-${STATUS_TONE[status] ?? 'muted'}`}>{status}</span>;
}

/** A labelled form control with its help text and the error the manager or the schema gave. */
export function Field(props: {
  label: string;
  help?: ReactNode;
  error?: string | undefined;
  children: (id: string, describedBy: string | undefined) => ReactNode;
}) {
  const id = useId();
  const helpId = `${id}-help`;
  const errId = `${id}-error`;
  const describedBy = [props.help ? helpId : null, props.error ? errId : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${props.error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children(id, describedBy)}
      {props.help ? (
        <p id={helpId} className="help">
          {props.help}
        </p>
      ) : null}
      {props.error ? (
        <p id={errId} className="field-error" role="alert">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

/**
 * A text input in a {@link Field}, registered with the form, marked invalid while the form or
 * the manager refuses it.
 */
export function TextField(props: {
  label: string;
  help?: ReactNode;
  error?: string | undefined;
  registration: UseFormRegisterReturn;
  type?: 'text' | 'password' | 'date';
  autoComplete?: string;
  inputMode?: 'numeric';
}) {
  return (
    <Field label={props.label} help={props.help} error={props.error}>
      {(id, d) => (
        <input
          id={id}
          type={props.type ?? 'text'}
          className="input"
          autoComplete={props.autoComplete}
          inputMode={props.inputMode}
          aria-describedby={d}
          aria-invalid={props.error ? 'true' : undefined}
          {...props.registration}
        />
      )}
    </Field>
  );
}

/**
 * A password input in a {@link Field}. `autoComplete` tells password managers whether it asks for the
 * current password or sets a new one (WHATWG HTML, "autofill detail tokens").
 */
export function PasswordField(props: {
  label: string;
  help?: ReactNode;
  error?: string | undefined;
  autoComplete: 'current-password' | 'new-password';
  registration: UseFormRegisterReturn;
}) {
  return <TextField {...props} type="password" />;
}

/** Full Access or Auditor (GET /api/roles), for users and API keys. */
export function RoleField(props: { error?: string | undefined; registration: UseFormRegisterReturn }) {
  return (
    <Field label="Role" error={props.error}>
      {(id, d) => (
        <select
          id={id}
          className="select"
          aria-describedby={d}
          aria-invalid={props.error ? 'true' : undefined}
          {...props.registration}
        >
          {ROLES.map(([r, name, what]) => (
            <option key={r} value={String(r)}>
              {name} — {what}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** A read-only value shown as a form row (the product fixes it). */
export function FixedField(props: { label: string; value: string; help?: ReactNode }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      <input id={id} className="input" value={props.value} readOnly aria-readonly="true" />
      {props.help ? <p className="help">{props.help}</p> : null}
    </div>
  );
}

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError ? `${error.message} (${error.code})` : String((error as Error).message ?? error);
  return (
    <div className="notice notice-error" role="alert">
      {text}
    </div>
  );
}

export function Notice({ tone = 'info', children }: { tone?: 'info' | 'ok' | 'warn' | 'error'; children: ReactNode }) {
  return (
    <div className={`notice notice-${tone}`} role={tone === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

/** A button that asks before doing something that cannot be undone. */
export function ConfirmButton(props: {
  label: string;
  title: string;
  text: ReactNode;
  confirm: string;
  onConfirm: () => void;
  disabled?: boolean;
  danger?: boolean;
}) {
  const [open, setOpen] = useState(false);
  return (
    <AlertDialog.Root open={open} onOpenChange={setOpen}>
      <AlertDialog.Trigger asChild>
        <button type="button" className={`btn${props.danger ? ' btn-danger-outline' : ''}`} disabled={props.disabled}>
          {props.label}
        </button>
      </AlertDialog.Trigger>
      <AlertDialog.Portal>
        <AlertDialog.Overlay className="dialog-overlay" />
        <AlertDialog.Content className="dialog">
          <AlertDialog.Title className="dialog-title">{props.title}</AlertDialog.Title>
          <AlertDialog.Description className="dialog-text">{props.text}</AlertDialog.Description>
          <div className="dialog-actions">
            <AlertDialog.Cancel asChild>
              <button type="button" className="btn">
                Cancel
              </button>
            </AlertDialog.Cancel>
            <AlertDialog.Action asChild>
              <button
                type="button"
                className={props.danger ? 'btn btn-danger' : 'btn btn-primary'}
                onClick={props.onConfirm}
              >
                {props.confirm}
              </button>
            </AlertDialog.Action>
          </div>
        </AlertDialog.Content>
      </AlertDialog.Portal>
    </AlertDialog.Root>
  );
}

/**
 * The toolbar of a list page (policies, firewall rules, IP/MAC/port lists): New, Details of the
 * selected row, and Delete after a confirmation. New and Delete are shown for full access only;
 * Details and Delete stay disabled while no row is selected.
 */
export function ListActions(props: {
  canWrite: boolean;
  /** What New does; a node replaces the button (a dialog's trigger). */
  create: (() => void) | ReactNode;
  /** The selected row's name; undefined: none is selected. */
  selected: string | undefined;
  onDetails: () => void;
  /** What the confirmation says deleting does or refuses. */
  deleteText: ReactNode;
  /** Disables Delete for a selected row that cannot be deleted (the Base Policy); default false. */
  deleteDisabled?: boolean;
  onDelete: () => void;
}) {
  const none = props.selected === undefined;
  return (
    <>
      {props.canWrite ? (
        typeof props.create === 'function' ? (
          <button type="button" className="btn" onClick={props.create}>
            New
          </button>
        ) : (
          props.create
        )
      ) : null}
      <button
        type="button"
        className="btn btn-primary"
        disabled={none}
        onClick={() => {
          if (!none) props.onDetails();
        }}
      >
        Details
      </button>
      {props.canWrite ? (
        <ConfirmButton
          label="Delete"
          danger
          disabled={none || props.deleteDisabled === true}
          title={`Delete “${props.selected ?? ''}”?`}
          text={props.deleteText}
          confirm="Delete"
          onConfirm={() => {
            if (!none) props.onDelete();
          }}
        />
      ) : null}
    </>
  );
}

export function Loading() {
  return (
    <p className="loading" aria-live="polite">
      Loading…
    </p>
  );
}

export function KeyValues({ rows }: { rows: Array<[string, ReactNode]> }) {
  return (
    <dl className="kv">
      {rows.map(([k, v]) => (
        <div key={k} className="kv-row">
          <dt>{k}</dt>
          <dd>{v}</dd>
        </div>
      ))}
    </dl>
  );
}

/**
 * Copies `text` to the clipboard (W3C Clipboard API, which needs a secure context: the console is
 * served over HTTPS) and says so; when the browser refuses, it says that too, and the text stays
 * selectable beside the button.
 */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [said, setSaid] = useState<string | null>(null);
  return (
    <>
      <button
        type="button"
        className="btn btn-small"
        onClick={() =>
          navigator.clipboard.writeText(text).then(
            () => setSaid('Copied.'),
            (e: Error) => setSaid(`Not copied (${e.message}): select the text and copy it.`),
          )
        }
      >
        {label}
      </button>
      <span className="help" aria-live="polite">
        {said}
      </span>
    </>
  );
}

/**
 * The dialog that shows a new secret (an API key's, an activation token's) the only time the
 * manager sends it: it keeps only a hash, so a secret not copied now is lost.
 */
export function SecretDialog(props: { title: string; label: string; secret: string | null; onClose: () => void }) {
  const id = useId();
  return (
    <Dialog.Root open={props.secret !== null} onOpenChange={(o) => (o ? null : props.onClose())}>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title className="dialog-title">{props.title}</Dialog.Title>
          <Dialog.Description className="dialog-text">
            Copy it now: it will not be shown again. The manager keeps only its hash.
          </Dialog.Description>
          <div className="field">
            <label htmlFor={id}>{props.label}</label>
            <input
              id={id}
              className="input input-mono"
              readOnly
              value={props.secret ?? ''}
              onFocus={(e) => e.currentTarget.select()}
            />
          </div>
          <div className="dialog-actions">
            <CopyButton text={props.secret ?? ''} />
            <Dialog.Close asChild>
              <button type="button" className="btn btn-primary">
                Done
              </button>
            </Dialog.Close>
          </div>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/**
 * A button that opens a small form in a dialog (New policy, Change password, Reset password,
 * Rename, Change role): the caller's fields, the refusal that concerns no field, what was done,
 * Cancel and the submit button.
 */
export function FormDialog(props: {
  label: string;
  title: string;
  text: ReactNode;
  submit: string;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onSubmit: (e: FormEvent<HTMLFormElement>) => void;
  pending: boolean;
  rootError?: string | undefined;
  /** Shown under the fields once the form did what it does (`Password changed.`). */
  done?: ReactNode;
  /** The trigger's classes; default a small button. */
  triggerClass?: string;
  /** The button that closes the dialog; default Cancel. */
  close?: string;
  children: ReactNode;
}) {
  return (
    <Dialog.Root open={props.open} onOpenChange={props.onOpenChange}>
      <Dialog.Trigger asChild>
        <button type="button" className={props.triggerClass ?? 'btn btn-small'}>
          {props.label}
        </button>
      </Dialog.Trigger>
      <Dialog.Portal>
        <Dialog.Overlay className="dialog-overlay" />
        <Dialog.Content className="dialog">
          <Dialog.Title className="dialog-title">{props.title}</Dialog.Title>
          <Dialog.Description className="dialog-text">{props.text}</Dialog.Description>
          <form onSubmit={props.onSubmit} noValidate>
            {props.children}
            {props.rootError ? <Notice tone="error">{props.rootError}</Notice> : null}
            {props.done ? <Notice tone="ok">{props.done}</Notice> : null}
            <div className="dialog-actions">
              <Dialog.Close asChild>
                <button type="button" className="btn">
                  {props.close ?? 'Cancel'}
                </button>
              </Dialog.Close>
              <button type="submit" className="btn btn-primary" disabled={props.pending}>
                {props.submit}
              </button>
            </div>
          </form>
        </Dialog.Content>
      </Dialog.Portal>
    </Dialog.Root>
  );
}

/**
 * The General fieldset every editor starts with (firewall rule, IP/MAC/port list, policy): Name,
 * Description, and what else the editor puts under General.
 */
export function NameDescriptionFields(props: {
  name: UseFormRegisterReturn;
  description: UseFormRegisterReturn;
  errors: {
    name?: { message?: string | undefined } | undefined;
    description?: { message?: string | undefined } | undefined;
  };
  readOnly: boolean;
  /** Lines of the Description box; default 2. */
  rows?: number;
  children?: ReactNode;
}) {
  return (
    <fieldset className="section">
      <legend>General</legend>
      <Field label="Name" error={props.errors.name?.message}>
        {(id, d) => <input id={id} className="input" aria-describedby={d} disabled={props.readOnly} {...props.name} />}
      </Field>
      <Field label="Description" error={props.errors.description?.message}>
        {(id, d) => (
          <textarea
            id={id}
            className="input"
            rows={props.rows ?? 2}
            aria-describedby={d}
            disabled={props.readOnly}
            {...props.description}
          />
        )}
      </Field>
      {props.children}
    </fieldset>
  );
}

/**
 * The end of an editor's form: the refusal that concerns no field, "Saved." until the next
 * change, and Save (and Close) for full access, or a line saying the access is read-only.
 */
export function SaveFormFooter(props: {
  rootError: string | undefined;
  /** Shown after a save while nothing has changed since; null: never. */
  saved: string | null;
  readOnly: boolean;
  pending: boolean;
  /** Close button's action; absent: no Close button. */
  onClose?: () => void;
}) {
  return (
    <>
      {props.rootError ? <Notice tone="error">{props.rootError}</Notice> : null}
      {props.saved ? <Notice tone="ok">{props.saved}</Notice> : null}
      {props.readOnly ? (
        <p className="help">You have read-only access.</p>
      ) : (
        <div className="form-actions">
          <button type="submit" className="btn btn-primary" disabled={props.pending}>
            Save
          </button>
          {props.onClose ? (
            <button type="button" className="btn" onClick={props.onClose}>
              Close
            </button>
          ) : null}
        </div>
      )}
    </>
  );
}

/**
 * A table of records with an Actions column for full access (the users, keys, tokens, notifiers
 * and alerts tables): `actions` absent hides the column, as read-only users see none. While
 * `pending` and when empty, one row says so.
 */
export function ActionTable<T>(props: {
  label: string;
  columns: string[];
  rows: T[];
  pending: boolean;
  empty: string;
  rowKey: (r: T) => string | number;
  /** The row's `<td>` cells, one per column. */
  cells: (r: T) => ReactNode;
  actions?: ((r: T) => ReactNode) | undefined;
}) {
  return (
    <div className="table-wrap">
      <table className="data-table" aria-label={props.label}>
        <thead>
          <tr>
            {props.columns.map((c) => (
              <th key={c}>{c}</th>
            ))}
            {props.actions ? (
              <th>
                <span className="visually-hidden">Actions</span>
              </th>
            ) : null}
          </tr>
        </thead>
        <tbody>
          {props.rows.length === 0 ? (
            <tr>
              <td colSpan={props.columns.length + (props.actions ? 1 : 0)} className="empty">
                {props.pending ? 'Loading…' : props.empty}
              </td>
            </tr>
          ) : (
            props.rows.map((r) => (
              <tr key={props.rowKey(r)}>
                {props.cells(r)}
                {props.actions ? <td className="row-actions">{props.actions(r)}</td> : null}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}
