import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { MbError } from '../core/index.js';
import { directSqlite, openStore, type Store } from './index.js';

const INSERT = 'INSERT INTO t (n, s) VALUES (?, ?)';

const count = async (store: Store): Promise<number> => (await sql<{ c: number }>`SELECT count(*) AS c FROM t`.execute(store.db)).rows[0]!.c;

async function fresh() {
  const store = await openStore({ sqlite: ':memory:' });
  await sql`CREATE TABLE t (n INTEGER PRIMARY KEY, s TEXT NOT NULL)`.execute(store.db);
  return store;
}

test('a SQLite store has a direct handle; its rows are seen through Kysely', async () => {
  const store = await fresh();
  try {
    const d = directSqlite(store.db);
    assert.ok(d);
    assert.equal(d.available, true);
    d.runMany(INSERT, [[1, 'a'], [2, 'b'], [3, 'c']]);
    const rows = await sql<{ n: number; s: string }>`SELECT n, s FROM t ORDER BY n`.execute(store.db);
    assert.deepEqual(rows.rows, [{ n: 1, s: 'a' }, { n: 2, s: 'b' }, { n: 3, s: 'c' }]);
  } finally {
    await store.close();
  }
});

test('all or nothing: a bad row rolls the whole batch back and throws a store error naming the statement', async () => {
  const store = await fresh();
  try {
    const d = directSqlite(store.db)!;
    assert.throws(() => d.runMany(INSERT, [[1, 'a'], [2, null], [3, 'c']]), (err: unknown) => {
      assert.ok(err instanceof MbError);
      assert.equal(err.code, 'STORE_QUERY_FAILED');
      assert.match(err.message, /NOT NULL/);
      assert.match(String(err.details?.sql), /INSERT INTO t/);
      return true;
    });
    assert.equal(await count(store), 0);
    d.runMany(INSERT, [[1, 'a']]);
    assert.equal(await count(store), 1);
  } finally {
    await store.close();
  }
});

test('not available while a Kysely transaction is open (its rollback would take the direct rows with it)', async () => {
  const store = await fresh();
  try {
    const d = directSqlite(store.db)!;
    await assert.rejects(store.db.transaction().execute(async (tx) => {
      await sql`INSERT INTO t (n, s) VALUES (10, 'tx')`.execute(tx);
      assert.equal(d.available, false);
      throw new Error('roll back');
    }), /roll back/);
    assert.equal(d.available, true);
    assert.equal(await count(store), 0);
  } finally {
    await store.close();
  }
});

test('a closed store is not available; a transaction, a Kysely with a plugin or any other object has no direct handle', async () => {
  const store = await fresh();
  await store.db.transaction().execute(async (tx) => {
    assert.equal(directSqlite(tx), undefined);
  });
  // A Kysely with a plugin (the cutover's copy back renames the migration tables that way) is another instance:
  // the direct SQL, written for the plain tables, must never run for it.
  assert.equal(directSqlite(store.db.withPlugin({ transformQuery: (a) => a.node, transformResult: async (a) => a.result })), undefined);
  const d = directSqlite(store.db)!;
  await store.close();
  assert.equal(d.available, false);
  assert.equal(directSqlite({}), undefined);
});
