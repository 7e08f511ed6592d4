import { zodResolver } from '@hookform/resolvers/zod';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useForm } from 'react-hook-form';
import { z } from 'zod';
import { post, type SessionInfo } from '../api';
import { ErrorBox, Field, PasswordField } from '../components/ui';

const schema = z.object({
  userName: z.string().trim().min(1, 'Enter your user name'),
  password: z.string().min(1, 'Enter your password'),
});
type Values = z.infer<typeof schema>;

export function SignIn() {
  const qc = useQueryClient();
  const form = useForm<Values>({ resolver: zodResolver(schema), defaultValues: { userName: '', password: '' } });
  const signIn = useMutation({
    mutationFn: (v: Values) => post<SessionInfo>('/api/session', v),
    onSuccess: (s) => qc.setQueryData(['session'], s),
  });
  const errors = form.formState.errors;
  return (
    <main className="signin-page">
      <form className="signin-card" onSubmit={form.handleSubmit((v) => signIn.mutate(v))} noValidate>
        <div className="brand brand-large">
          <img src="/favicon.svg" alt="" width="32" height="32" />
          <span>Palisade</span>
        </div>
        <h1>Sign in to the manager</h1>
        <Field label="User name" error={errors.userName?.message}>
          {(id, d) => (
            <input
              id={id}
              className="input"
              autoComplete="username"
              aria-describedby={d}
              aria-invalid={errors.userName ? 'true' : undefined}
              {...form.register('userName')}
            />
          )}
        </Field>
        <PasswordField
          label="Password"
          error={errors.password?.message}
          autoComplete="current-password"
          registration={form.register('password')}
        />
        <ErrorBox error={signIn.error} />
        <button type="submit" className="btn btn-primary btn-block" disabled={signIn.isPending}>
          {signIn.isPending ? 'Signing in…' : 'Sign in'}
        </button>
        <p className="help">
          Console users are created on the manager host: <code>palisade-manager user create --name NAME</code>.
        </p>
      </form>
    </main>
  );
}
