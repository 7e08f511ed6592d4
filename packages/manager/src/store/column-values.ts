import type { SettingOverrides } from '@palisade/core';

/**
 * BIGINT columns arrive as numbers from better-sqlite3 and as strings from node-postgres; every
 * store reads them through these so both engines give the same records.
 */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));

/** Setting rows (`policy_settings`, `computer_settings`) as overrides keyed by their owner's ID. */
export function overridesByOwner<R extends { name: string; value: string }>(
  rows: readonly R[],
  ownerOf: (r: R) => unknown,
): Map<number, SettingOverrides> {
  const out = new Map<number, Record<string, string>>();
  for (const r of rows) {
    const id = num(ownerOf(r));
    const o = out.get(id) ?? {};
    o[r.name] = r.value;
    out.set(id, o);
  }
  return out as Map<number, SettingOverrides>;
}
