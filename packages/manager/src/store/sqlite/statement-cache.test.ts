import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import Database from 'better-sqlite3';
import { StatementCache } from './statement-cache.js';

const dir = mkdtempSync(join(tmpdir(), 'palisade-statement-cache-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('the same SQL is prepared once; bound afresh on every run', () => {
  const cache = new StatementCache(new Database(join(dir, 'a.db')));
  cache.prepare('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)').run();
  const insert = cache.prepare('INSERT INTO t (v) VALUES (?)');
  assert.equal(cache.prepare('INSERT INTO t (v) VALUES (?)'), insert, 'the same statement object');
  insert.run('a');
  cache.prepare('INSERT INTO t (v) VALUES (?)').run('b');
  assert.deepEqual(
    cache
      .prepare('SELECT v FROM t ORDER BY id')
      .all()
      .map((r) => (r as { v: string }).v),
    ['a', 'b'],
  );
  cache.close();
});

test('a cached statement still works after the schema changed under it (SQLite re-prepares it)', () => {
  const cache = new StatementCache(new Database(join(dir, 'b.db')));
  cache.prepare('CREATE TABLE t (id INTEGER PRIMARY KEY)').run();
  const select = cache.prepare('SELECT * FROM t');
  cache.prepare('INSERT INTO t (id) VALUES (1)').run();
  assert.deepEqual(select.all(), [{ id: 1 }]);
  cache.prepare("ALTER TABLE t ADD COLUMN extra TEXT DEFAULT 'x'").run();
  assert.deepEqual(cache.prepare('SELECT * FROM t').all(), [{ id: 1, extra: 'x' }]);
  cache.close();
});

test('beyond its bound the least recently used statement is dropped, not the busy one', () => {
  const cache = new StatementCache(new Database(join(dir, 'c.db')), 2);
  const one = cache.prepare('SELECT 1');
  const two = cache.prepare('SELECT 2');
  assert.equal(cache.prepare('SELECT 1'), one, 'used again: now the most recent');
  cache.prepare('SELECT 3');
  assert.equal(cache.prepare('SELECT 1'), one, 'kept');
  assert.notEqual(cache.prepare('SELECT 2'), two, 'dropped, prepared anew');
  cache.close();
});
