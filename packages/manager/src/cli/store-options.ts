import { openInitializedStore } from '../manager.js';

/** Options every command takes to find the store (`--help`, "Store options"). */
export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  db: { type: 'string' },
  'db-password-file': { type: 'string' },
} as const;

/** What parseOptions gives for {@link STORE_OPTIONS}. */
export interface StoreOptionValues {
  'data-dir'?: string | undefined;
  db?: string | undefined;
  'db-password-file'?: string | undefined;
}

/** The store and CA the options name, initialized (openInitializedStore). */
export function openCliStore(v: StoreOptionValues): ReturnType<typeof openInitializedStore> {
  return openInitializedStore(v['data-dir'] ?? 'data', v.db, { passwordFile: v['db-password-file'] });
}
