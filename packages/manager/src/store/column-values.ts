/**
 * BIGINT columns arrive as numbers from better-sqlite3 and as strings from node-postgres; every
 * store reads them through these so both engines give the same records.
 */
export const num = (v: unknown): number => (typeof v === 'number' ? v : Number(v));
export const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : num(v));
