import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { rowMaker, rowsOf } from './row-maker.js';

describe('rows made from raw values', () => {
  test('the same objects as better-sqlite3 makes, for every kind of value and for no row', () => {
    const db = new Database(':memory:');
    db.exec(`create table t (id integer primary key, name text, n real, b blob, empty text, "odd ""name""" text)`);
    db.prepare('insert into t values (?, ?, ?, ?, ?, ?)').run(1, 'one', 1.5, Buffer.from([1, 2]), null, 'x');
    db.prepare('insert into t values (?, ?, ?, ?, ?, ?)').run(2, 'two', -2, null, null, '__proto__');
    const st = db.prepare('select *, id as "__proto__", name as "constructor" from t where id >= ? order by id');
    const expected = st.all(0);
    assert.deepEqual(rowsOf(st, [0]), expected);
    assert.deepEqual(rowsOf(st, [3]), []);
    assert.deepEqual(st.all(1), expected, 'the statement is left in object mode');
    db.close();
  });

  test('a statement whose columns changed under it gets a new maker', () => {
    const db = new Database(':memory:');
    db.exec('create table t (a integer)');
    db.exec('insert into t values (1)');
    const st = db.prepare('select * from t');
    assert.deepEqual(rowsOf(st, []), [{ a: 1 }]);
    db.exec("alter table t add column b text default 'x'");
    assert.deepEqual(rowsOf(st, []), [{ a: 1, b: 'x' }]);
    db.close();
  });

  test('a name is only ever a property name; the later of two equal names wins', () => {
    const make = rowMaker(['a', 'a', '"}); throw new Error("injected"); ({"', 'b\n']);
    assert.deepEqual(make([1, 2, 3, 4]), { a: 2, '"}); throw new Error("injected"); ({"': 3, 'b\n': 4 });
    const shaped = rowMaker(['x', '__proto__', 'y', 'x'])([1, { polluted: true }, 2, 3]);
    assert.deepEqual(Object.keys(shaped), ['x', 'y'], 'first place kept; no __proto__ property');
    assert.equal(Object.getPrototypeOf(shaped), Object.prototype);
    assert.equal(shaped.x, 3);
  });
});
