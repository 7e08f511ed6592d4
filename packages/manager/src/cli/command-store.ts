import { openInitializedStore } from '../manager.js';

/** `--data-dir`, `--db`, `--db-password-file` and `--master-key-file`: where every command finds the store. */
export const STORE_OPTIONS = {
  'data-dir': { type: 'string' },
  db: { type: 'string' },
  'db-password-file': { type: 'string' },
  'master-key-file': { type: 'string' },
} as const;

/** The store options as parseArgs hands them back. */
export interface StoreOptionValues {
  'data-dir'?: string | undefined;
  db?: string | undefined;
  'db-password-file'?: string | undefined;
  'master-key-file'?: string | undefined;
}

/**
 * Opens the store of a command other than `start`: it must exist (a mistyped `--data-dir`
 * is an error, never a new store), and what opening repaired is said on standard error.
 */
export function openCommandStore(v: StoreOptionValues, stderr: (s: string) => void) {
  return openInitializedStore(v['data-dir'] ?? 'data', v.db, {
    passwordFile: v['db-password-file'],
    masterKeyFile: v['master-key-file'],
    create: false,
    log: (m) => stderr(`palisade-manager: ${m}\n`),
  });
}
