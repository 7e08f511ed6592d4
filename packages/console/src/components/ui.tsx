import { AlertDialog, Dialog } from 'radix-ui';
import { type ReactNode, useId, useState } from 'react';
import type { UseFormRegisterReturn } from 'react-hook-form';
import { ApiError } from '../api';

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
  return (
    <Field label={props.label} help={props.help} error={props.error}>
      {(id, d) => (
        <input
          id={id}
          type="password"
          className="input"
          autoComplete={props.autoComplete}
          aria-describedby={d}
          aria-invalid={props.error ? 'true' : undefined}
          {...props.registration}
        />
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
