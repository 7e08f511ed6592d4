import { AlertDialog } from 'radix-ui';
import {
  createContext,
  type MouseEvent,
  type ReactNode,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
} from 'react';
import { Link, useLocation } from 'wouter';

interface Guard {
  /** Editors report unsaved changes here. */
  setDirty(dirty: boolean): void;
  /** Navigates, asking first when an editor has unsaved changes. */
  navigate(to: string): void;
}

const GuardContext = createContext<Guard>({ setDirty: () => {}, navigate: () => {} });

/** Leaving an editor with unsaved changes asks first: console links, and the browser's own unload. */
export function NavigationGuard({ children }: { children: ReactNode }) {
  const [, setLocation] = useLocation();
  const dirty = useRef(false);
  const [pending, setPending] = useState<string | null>(null);
  const navigate = useCallback(
    (to: string) => {
      if (dirty.current) setPending(to);
      else setLocation(to);
    },
    [setLocation],
  );
  useEffect(() => {
    const onUnload = (e: BeforeUnloadEvent) => {
      if (dirty.current) e.preventDefault();
    };
    window.addEventListener('beforeunload', onUnload);
    return () => window.removeEventListener('beforeunload', onUnload);
  }, []);
  return (
    <GuardContext.Provider
      value={{
        setDirty: (d) => {
          dirty.current = d;
        },
        navigate,
      }}
    >
      {children}
      <AlertDialog.Root open={pending !== null} onOpenChange={(o) => !o && setPending(null)}>
        <AlertDialog.Portal>
          <AlertDialog.Overlay className="dialog-overlay" />
          <AlertDialog.Content className="dialog">
            <AlertDialog.Title className="dialog-title">Leave without saving?</AlertDialog.Title>
            <AlertDialog.Description className="dialog-text">
              You have changes that are not saved. If you leave now they are lost.
            </AlertDialog.Description>
            <div className="dialog-actions">
              <AlertDialog.Cancel asChild>
                <button type="button" className="btn">
                  Stay
                </button>
              </AlertDialog.Cancel>
              <AlertDialog.Action asChild>
                <button
                  type="button"
                  className="btn btn-danger"
                  onClick={() => {
                    dirty.current = false;
                    const to = pending;
                    setPending(null);
                    if (to) setLocation(to);
                  }}
                >
                  Leave and discard changes
                </button>
              </AlertDialog.Action>
            </div>
          </AlertDialog.Content>
        </AlertDialog.Portal>
      </AlertDialog.Root>
    </GuardContext.Provider>
  );
}

export function useGuard(): Guard {
  return useContext(GuardContext);
}

/** Marks the current editor dirty while `dirty` holds, and clean when it unmounts. */
export function useUnsavedChanges(dirty: boolean): void {
  const g = useGuard();
  useEffect(() => {
    g.setDirty(dirty);
    return () => g.setDirty(false);
  }, [dirty, g]);
}

/** A link that goes through the guard. */
export function GuardedLink(props: { href: string; className?: string; children: ReactNode; 'aria-current'?: 'page' }) {
  const { navigate } = useGuard();
  return (
    <Link
      href={props.href}
      {...(props.className ? { className: props.className } : {})}
      {...(props['aria-current'] ? { 'aria-current': props['aria-current'] } : {})}
      onClick={(e: MouseEvent) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </Link>
  );
}
