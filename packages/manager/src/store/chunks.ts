/**
 * Splits long lists for IN lists and multi-row statements: engines cap bound parameters per
 * statement (SQLite 32766, PostgreSQL 65535), and a fleet-wide change can name more rows.
 */
export function chunks<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
