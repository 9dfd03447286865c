/**
 * The store suite on PostgreSQL from the lab (a fresh database per test), plus
 * what only PostgreSQL has: connection strings with passwords, unreachable
 * servers, the int8 parser scoped to our pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { MbError } from '../../../src/core/index.js';
import { StoreErrors, openStore } from '../../../src/store/index.js';
import { freshDatabases, labPostgresUrl } from './pg.js';
import { storeSuite } from './store-suite.js';
import { freePort } from '../../harness/index.js';

// Top level: the lab (shared, or private to this file) comes up before any test and stops after all.
const freshDatabase = await freshDatabases();

storeSuite('postgres', async () => ({ postgres: await freshDatabase() }));


test('postgres: an unreachable server is a transient STORE_OPEN_FAILED without the password', async () => {
  const port = await freePort();
  await assert.rejects(openStore({ postgres: `postgres://mailbridge:s3cr%40t-pw@127.0.0.1:${port}/mailbridge` }), (err) => {
    assert.ok(MbError.is(err, StoreErrors.STORE_OPEN_FAILED));
    assert.equal(err.retry, 'transient');
    assert.ok(!err.message.includes('s3cr'), err.message);
    assert.match(err.message, new RegExp(`postgres://mailbridge:\\*\\*\\*@127\\.0\\.0\\.1:${port}/mailbridge`));
    assert.ok(!JSON.stringify(err.details).includes('s3cr'));
    return true;
  });
});

test('postgres: a database that does not exist is a permanent STORE_OPEN_FAILED', async () => {
  const url = new URL(await labPostgresUrl());
  url.pathname = '/mb_does_not_exist';
  await assert.rejects(openStore({ postgres: url.toString() }), (err) => {
    assert.ok(MbError.is(err, StoreErrors.STORE_OPEN_FAILED));
    assert.equal(err.retry, 'permanent');
    assert.equal(err.details.dbCode, '3D000');
    return true;
  });
});

test('postgres: location hides the password; int8 parsing is scoped to the store pool', async (t) => {
  const url = new URL(await freshDatabase());
  url.password = 'hunter2'; // the lab trusts loopback, so any password opens
  const store = await openStore({ postgres: url.toString() });
  t.after(() => store.close());
  assert.ok(!store.location.includes('hunter2'));
  assert.match(store.location, /:\*\*\*@/);
  assert.equal(store.dialect, 'postgres');
  assert.equal(await store.users.count(), 0);
  // Other pg users in the process still get int8 as a string (pg's default).
  const client = new pg.Client({ connectionString: await labPostgresUrl() });
  await client.connect();
  try {
    const r = await client.query<{ n: unknown }>('select 12345::int8 as n');
    assert.equal(r.rows[0]?.n, '12345');
  } finally {
    await client.end();
  }
});
