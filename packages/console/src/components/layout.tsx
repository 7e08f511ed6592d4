import { useMutation, useQueryClient } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { useLocation } from 'wouter';
import { del, setCsrfToken } from '../api';
import { useSession } from '../session';
import { ChangePasswordDialog } from './change-password';
import { GuardedLink } from './guard';

const MENU: Array<{ href: string; label: string }> = [
  { href: '/dashboard', label: 'Dashboard' },
  { href: '/alerts', label: 'Alerts' },
  { href: '/events', label: 'Events' },
  { href: '/computers', label: 'Computers' },
  { href: '/policies', label: 'Policies' },
  { href: '/administration', label: 'Administration' },
];

/** The console frame: the product's top menu (as Deep Security's), the user, and the page. */
export function Layout({ children }: { children: ReactNode }) {
  const [location] = useLocation();
  const session = useSession();
  const qc = useQueryClient();
  const signOut = useMutation({
    mutationFn: () => del('/api/session'),
    onSettled: () => {
      setCsrfToken(null);
      // The session query's observer stays subscribed: set it, then drop everything else cached.
      qc.setQueryData(['session'], null);
      qc.removeQueries({ predicate: (q) => q.queryKey[0] !== 'session' });
    },
  });
  const current = (href: string) =>
    location === href ||
    location.startsWith(`${href}/`) ||
    (href === '/policies' && (location.startsWith('/firewall-rules') || location.startsWith('/lists/')));
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <img src="/favicon.svg" alt="" width="22" height="22" />
          <span>Palisade</span>
        </div>
        <nav aria-label="Main menu" className="menu">
          <ul>
            {MENU.map((m) => (
              <li key={m.href}>
                <GuardedLink
                  href={m.href}
                  className={current(m.href) ? 'menu-item active' : 'menu-item'}
                  {...(current(m.href) ? { 'aria-current': 'page' as const } : {})}
                >
                  {m.label}
                </GuardedLink>
              </li>
            ))}
          </ul>
        </nav>
        <div className="user">
          <span className="user-name">{session.name}</span>
          <span className={`role role-${session.role}`}>
            {session.role === 'read-only' ? 'Read only' : 'Full access'}
          </span>
          <ChangePasswordDialog />
          <button type="button" className="btn btn-ghost" onClick={() => signOut.mutate()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="main" tabIndex={-1}>
        {children}
      </main>
    </div>
  );
}

/** The left-hand navigation of an editor or a section (Overview, Firewall, Settings …). */
export function SideNav(props: { label: string; items: Array<{ href: string; label: string }>; current: string }) {
  return (
    <nav aria-label={props.label} className="sidenav">
      <ul>
        {props.items.map((i) => (
          <li key={i.href}>
            <GuardedLink
              href={i.href}
              className={props.current === i.href ? 'sidenav-item active' : 'sidenav-item'}
              {...(props.current === i.href ? { 'aria-current': 'page' as const } : {})}
            >
              {i.label}
            </GuardedLink>
          </li>
        ))}
      </ul>
    </nav>
  );
}
