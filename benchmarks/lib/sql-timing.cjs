// Loaded into the manager with `node --require` by `benchmarks/capacity --sql-timing`: times every
// SQLite call the manager makes (better-sqlite3's statements and `exec`), by statement text, and on
// SIGUSR2 writes the totals so far to the file PALISADE_BENCH_SQL_TIMING names, as
// {"seq": N, "statements": {"<text>": [calls, ms]}}. Wall time: on a machine whose cores are all
// busy it includes the time the manager was descheduled inside a call. Benchmarks only.
const { renameSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const file = process.env.PALISADE_BENCH_SQL_TIMING;
if (file) {
  // The manager's own copy: its statements are the ones to wrap.
  const Database = require(require.resolve('better-sqlite3', { paths: [join(__dirname, '../../packages/manager')] }));
  const probe = new Database(':memory:');
  const Statement = Object.getPrototypeOf(probe.prepare('select 1'));
  probe.close();
  const totals = new Map();
  const note = (text, ms) => {
    const t = totals.get(text);
    if (t) {
      t[0] += 1;
      t[1] += ms;
    } else totals.set(text, [1, ms]);
  };
  const short = (sql) => sql.replace(/\s+/g, ' ').trim().slice(0, 90);
  for (const name of ['run', 'get', 'all', 'iterate']) {
    const original = Statement[name];
    Statement[name] = function timed(...args) {
      const t0 = performance.now();
      try {
        return original.apply(this, args);
      } finally {
        note(short(this.source), performance.now() - t0);
      }
    };
  }
  const exec = Database.prototype.exec;
  Database.prototype.exec = function timedExec(sql) {
    const t0 = performance.now();
    try {
      return exec.call(this, sql);
    } finally {
      note(short(sql), performance.now() - t0);
    }
  };
  let seq = 0;
  process.on('SIGUSR2', () => {
    seq += 1;
    // Whole or not at all for the reader: written beside, then renamed over.
    writeFileSync(`${file}.tmp`, JSON.stringify({ seq, statements: Object.fromEntries(totals) }));
    renameSync(`${file}.tmp`, file);
  });
}
