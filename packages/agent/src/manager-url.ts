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

export function formatManagerUrl(a: ManagerAddress): string {
  return `dsm://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/`;
}
