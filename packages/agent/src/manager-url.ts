import { AgentError } from './agent-error.js';

export interface ManagerAddress {
  host: string;
  port: number;
}

/** `dsm://HOST:PORT/` (Deep Security's form); `https://HOST:PORT/` is accepted too. Port defaults to 4120. */
export function parseManagerUrl(text: string): ManagerAddress {
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new AgentError('MANAGER_URL_INVALID', `"${text}"`);
  }
  if ((u.protocol !== 'dsm:' && u.protocol !== 'https:') || !u.hostname || (u.pathname !== '/' && u.pathname !== '')) {
    throw new AgentError('MANAGER_URL_INVALID', `"${text}"`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  return { host, port: u.port ? Number(u.port) : 4120 };
}

/**
 * Where the agent sends its reports, in order: the manager addresses its applied configuration
 * lists (`managers`, dsm:// URLs; docs/scale-out.md), then the address it activated with, each
 * once. An entry that is not a manager URL is skipped (the manager checked them; an old or
 * damaged configuration must not stop the agent reaching the one it activated with).
 */
export function managerCandidates(activated: ManagerAddress, configuration: unknown): ManagerAddress[] {
  const listed =
    configuration &&
    typeof configuration === 'object' &&
    Array.isArray((configuration as { managers?: unknown }).managers)
      ? ((configuration as { managers: unknown[] }).managers.filter((m) => typeof m === 'string') as string[])
      : [];
  const out: ManagerAddress[] = [];
  for (const text of listed) {
    try {
      out.push(parseManagerUrl(text));
    } catch {
      /* skipped */
    }
  }
  out.push(activated);
  const seen = new Set<string>();
  return out.filter((m) => {
    const key = formatManagerUrl(m).toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

export function formatManagerUrl(a: ManagerAddress): string {
  return `dsm://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/`;
}
