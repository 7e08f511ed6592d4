import { redact } from '../store/postgres/postgres-store.js';
import { copyDatabase } from '../store/store-copy.js';
import { type Out, parseOptions, UsageError } from './arguments.js';

/**
 * `palisade-manager db copy --from URL --to URL`: moves a whole manager (computers, policies,
 * firewall, alerts, events, audit, keys, tokens, users, the CA) into an empty store, typically
 * from the embedded SQLite file into PostgreSQL (docs/scale-out.md). Agents keep their
 * certificates: they heartbeat to a manager on the new store without reactivating.
 */
export async function dbCopy(args: string[], out: Out): Promise<number> {
  const v = parseOptions('db copy', args, {
    from: { type: 'string' },
    to: { type: 'string' },
    'from-password-file': { type: 'string' },
    'to-password-file': { type: 'string' },
  });
  if (!v.from || !v.to)
    throw new UsageError('db copy: --from sqlite:PATH and --to postgres://USER@HOST:PORT/DB are required');
  const started = Date.now();
  let shown = '';
  const report = await copyDatabase(
    {
      from: v.from,
      to: v.to,
      fromConnect: { passwordFile: v['from-password-file'] },
      toConnect: { passwordFile: v['to-password-file'] },
    },
    (table, rows) => {
      // One line per table, not per page: progress for a long table goes to the same line's end.
      if (table !== shown) {
        if (shown) out.stderr('\n');
        shown = table;
      }
      out.stderr(`\rcopying ${table}: ${rows} rows`);
    },
  );
  if (shown) out.stderr('\n');
  for (const t of report.tables) out.stdout(`${t.name.padEnd(24)} ${String(t.rows).padStart(10)}\n`);
  const total = report.tables.reduce((n, t) => n + t.rows, 0);
  out.stderr(
    `palisade-manager: copied ${total} rows in ${((Date.now() - started) / 1000).toFixed(1)} s; every table's count matches the source. Start the manager with --db ${redact(v.to)}\n`,
  );
  return 0;
}
