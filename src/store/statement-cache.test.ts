import { test } from 'node:test';
import assert from 'node:assert/strict';
import BetterSqlite3 from 'better-sqlite3';
import { cachingDatabase } from './statement-cache.js';

function fresh(limit?: number) {
  const raw = new BetterSqlite3(':memory:');
  raw.exec('CREATE TABLE t (n INTEGER)');
  for (let i = 0; i < 5; i++) raw.prepare('INSERT INTO t VALUES (?)').run(i);
  return { raw, db: cachingDatabase(raw, limit) };
}

test('the same SQL gets the same compiled statement, and it still runs with new parameters', () => {
  const { db } = fresh();
  const a = db.prepare('SELECT n FROM t WHERE n = ?');
  const b = db.prepare('SELECT n FROM t WHERE n = ?');
  assert.equal(a, b);
  assert.deepEqual(a.all([1]), [{ n: 1 }]);
  assert.deepEqual(b.all([3]), [{ n: 3 }]);
});

test('a statement still iterating is not handed out again: the second user gets its own', () => {
  const { db } = fresh();
  const sql = 'SELECT n FROM t ORDER BY n';
  const outer = db.prepare(sql).iterate([]);
  const first = outer.next();
  assert.equal((first.value as { n: number }).n, 0);
  // Without the busy check this would throw "This statement is busy executing a query".
  const inner = db.prepare(sql).all([]);
  assert.equal(inner.length, 5);
  assert.equal([...outer].length, 4);
});

test('at most `limit` statements are kept, the least recently used leaves first', () => {
  const { db } = fresh(2);
  const q1 = db.prepare('SELECT 1');
  const q2 = db.prepare('SELECT 2');
  assert.equal(db.prepare('SELECT 1'), q1); // 1 is now the most recent
  db.prepare('SELECT 3'); // evicts 2
  assert.equal(db.prepare('SELECT 1'), q1);
  assert.notEqual(db.prepare('SELECT 2'), q2);
});

test('writes through a cached statement land', () => {
  const { db, raw } = fresh();
  const ins = 'INSERT INTO t VALUES (?)';
  for (let i = 10; i < 20; i++) db.prepare(ins).run([i]);
  assert.equal((raw.prepare('SELECT count(*) AS c FROM t').get() as { c: number }).c, 15);
});
