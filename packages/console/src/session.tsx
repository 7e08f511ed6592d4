import { useQuery, useQueryClient } from '@tanstack/react-query';
import { createContext, type ReactNode, useContext, useEffect } from 'react';
import { ApiError, get, type SessionInfo, setCsrfToken, whenSessionEnds } from './api';

interface Session {
  name: string;
  role: 'full-access' | 'read-only';
  /** Full access: Save, New, Delete and actions are shown. */
  canWrite: boolean;
}

const SessionContext = createContext<Session | null>(null);

/** The signed-in user; only inside <SessionGate>. */
export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside a session');
  return s;
}

/** Shows `signIn` until the manager says a console user is signed in, then `children`. */
export function SessionGate({ signIn, children }: { signIn: ReactNode; children: ReactNode }) {
  const qc = useQueryClient();
  const q = useQuery({
    queryKey: ['session'],
    queryFn: async () => {
      try {
        return await get<SessionInfo>('/api/session');
      } catch (e) {
        if (e instanceof ApiError && e.status === 401) return null;
        throw e;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
  useEffect(() => {
    whenSessionEnds(() => {
      setCsrfToken(null);
      qc.setQueryData(['session'], null);
    });
  }, [qc]);
  const info = q.data;
  setCsrfToken(info?.csrfToken ?? null);
  if (q.isPending) return <div className="boot">Loading…</div>;
  if (!info?.user) return <>{signIn}</>;
  const user = info.user;
  return (
    <SessionContext.Provider value={{ name: user.name, role: user.role, canWrite: user.role === 'full-access' }}>
      {children}
    </SessionContext.Provider>
  );
}
