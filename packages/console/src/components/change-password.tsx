import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { post } from '../api';
import { showApiError } from './form-errors';
import { FormDialog, PasswordField } from './ui';

export const MIN_PASSWORD = 12;

const schema = z
  .object({
    currentPassword: z.string().min(1, 'Type your current password.'),
    newPassword: z.string().min(MIN_PASSWORD, `At least ${MIN_PASSWORD} characters.`),
    confirm: z.string(),
  })
  .refine((v) => v.confirm === v.newPassword, { path: ['confirm'], message: 'The two new passwords differ.' });
type Form = z.infer<typeof schema>;
const EMPTY: Form = { currentPassword: '', newPassword: '', confirm: '' };

/**
 * The signed-in user's own password, from the user menu (`POST /api/session/password`). A wrong
 * current password is the manager's 403 CURRENT_PASSWORD_WRONG, shown beside that field; the
 * session stays (the manager ends the user's other sessions).
 */
export function ChangePasswordDialog() {
  const [open, setOpen] = useState(false);
  const [done, setDone] = useState(false);
  const form = useForm<Form>({ resolver: zodResolver(schema), defaultValues: EMPTY });
  const change = useMutation({
    mutationFn: (v: Form) =>
      post('/api/session/password', { currentPassword: v.currentPassword, newPassword: v.newPassword }),
    onSuccess: () => {
      form.reset(EMPTY);
      setDone(true);
    },
    onError: (e) =>
      showApiError(form, e, (code) =>
        code === 'CURRENT_PASSWORD_WRONG'
          ? 'currentPassword'
          : code === 'PASSWORD_TOO_WEAK'
            ? 'newPassword'
            : undefined,
      ),
  });
  const errors = form.formState.errors;
  return (
    <FormDialog
      label="Change password"
      triggerClass="btn btn-ghost"
      title="Change your password"
      text={`At least ${MIN_PASSWORD} characters. Your other sessions are signed out; this one stays.`}
      submit="Change password"
      close="Close"
      open={open}
      onOpenChange={(o) => {
        setOpen(o);
        if (o) {
          form.reset(EMPTY);
          setDone(false);
        }
      }}
      onSubmit={form.handleSubmit((v) => change.mutate(v))}
      pending={change.isPending}
      rootError={errors.root?.message}
      done={done ? 'Password changed.' : null}
    >
      <PasswordField
        label="Current password"
        error={errors.currentPassword?.message}
        autoComplete="current-password"
        registration={form.register('currentPassword')}
      />
      <PasswordField
        label="New password"
        error={errors.newPassword?.message}
        autoComplete="new-password"
        registration={form.register('newPassword')}
      />
      <PasswordField
        label="New password again"
        error={errors.confirm?.message}
        autoComplete="new-password"
        registration={form.register('confirm')}
      />
    </FormDialog>
  );
}
