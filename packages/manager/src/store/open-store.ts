import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store.js';

/**
 * Opens the store named by a URL: `sqlite:PATH` (or a bare path) for the embedded store.
 * PostgreSQL (`postgres://…`) arrives with scale-out; until then it is refused with a reason.
 */
export function openStore(url: string): Store {
  if (/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(
      'PostgreSQL stores are not supported yet (they come with multi-node scale-out); use --db sqlite:PATH',
    );
  }
  const path = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (!path) throw new Error(`--db "${url}": give a file path, e.g. sqlite:./data/palisade.db`);
  return openSqliteStore(path);
}
