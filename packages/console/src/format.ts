/** Display helpers shared by the pages. */

export function dateTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  return new Date(ms).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

export function ago(ms: number | null | undefined, now = Date.now()): string {
  if (ms === null || ms === undefined) return 'never';
  const s = Math.round((now - ms) / 1000);
  if (s < 5) return 'just now';
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function clockOffset(ms: number | null): string {
  if (ms === null) return '—';
  const abs = Math.abs(ms);
  const sign = ms < 0 ? '−' : '+';
  return abs < 1000 ? `${sign}${abs} ms` : `${sign}${(abs / 1000).toFixed(1)} s`;
}

export function platformName(p: string): string {
  return p === 'linux' ? 'Linux' : p === 'win32' ? 'Windows' : p === 'darwin' ? 'macOS' : p;
}

/** `policy:3` → the policy's name; `base`, `computer`, `fixed`, `platform` in words. */
export function sourceText(source: string | undefined, policyName: (id: number) => string): string {
  if (!source) return '';
  const m = /^policy:(\d+)$/.exec(source);
  if (m) return policyName(Number(m[1]));
  switch (source) {
    case 'base':
      return 'Base Policy';
    case 'computer':
      return 'this computer';
    case 'fixed':
      return 'fixed by the product';
    case 'platform':
      return 'the platform (macOS supports only Agent Initiated)';
    default:
      return source;
  }
}
