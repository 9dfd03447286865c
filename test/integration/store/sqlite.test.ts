/** The store suite on SQLite (a temp file per test), plus what only SQLite has: WAL, pragmas, files. */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { MbError } from '../../../src/core/index.js';
import { StoreErrors, openStore } from '../../../src/store/index.js';
import { storeSuite } from './store-suite.js';

const dir = mkdtempSync(join(tmpdir(), 'mb-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = (): string => join(dir, `s${++n}`, 'mailbridge.db'); // the folder does not exist yet: openStore makes it

storeSuite('sqlite', () => Promise.resolve({ sqlite: freshFile() }));

test('sqlite: WAL, busy_timeout, synchronous=NORMAL, foreign keys; one file plus -wal', async () => {
  const file = freshFile();
  const store = await openStore({ sqlite: file });
  const pragma = async (name: string): Promise<unknown> => {
    const r = await sql<Record<string, unknown>>`${sql.raw(`pragma ${name}`)}`.execute(store.db);
    return Object.values(r.rows[0] ?? {})[0];
  };
  assert.equal(await pragma('journal_mode'), 'wal');
  assert.equal(await pragma('busy_timeout'), 5000);
  assert.equal(await pragma('synchronous'), 1); // NORMAL
  assert.equal(await pragma('foreign_keys'), 1);
  await store.users.upsert({ address: 'wal@example.com', homeSystem: 'legacy' });
  const folder = join(file, '..');
  const open = readdirSync(folder).sort();
  assert.ok(open.includes('mailbridge.db') && open.includes('mailbridge.db-wal'), open.join(' '));
  // -shm is WAL's shared-memory index, present while any connection is open.
  assert.deepEqual(open.filter((f) => !['mailbridge.db', 'mailbridge.db-wal', 'mailbridge.db-shm'].includes(f)), []);
  await store.close();
  // The last connection to close checkpoints the WAL into the file and removes -wal and -shm.
  assert.deepEqual(readdirSync(folder), ['mailbridge.db']);
  const again = await openStore({ sqlite: file, readonly: true });
  assert.equal((await again.users.get('wal@example.com'))?.address, 'wal@example.com');
  await again.close();
});

test('sqlite: a path that cannot be a database fails with STORE_OPEN_FAILED', async () => {
  const notADir = join(dir, 'plain-file');
  writeFileSync(notADir, 'x');
  await assert.rejects(openStore({ sqlite: join(notADir, 'mailbridge.db') }), (err) => {
    assert.ok(MbError.is(err, StoreErrors.STORE_OPEN_FAILED));
    assert.equal(err.retry, 'permanent');
    return true;
  });
  const garbage = join(dir, 'garbage.db');
  writeFileSync(garbage, 'this is not an SQLite database, just some text that is long enough to have a header');
  await assert.rejects(openStore({ sqlite: garbage }), (err) => MbError.is(err, StoreErrors.STORE_OPEN_FAILED));
  await assert.rejects(openStore({}), (err) => MbError.is(err, StoreErrors.STORE_OPEN_FAILED));
});

test('sqlite: :memory: stores work for unit tests of other subsystems', async () => {
  const store = await openStore({ sqlite: ':memory:' });
  await store.users.upsert({ address: 'mem@example.com', homeSystem: 'cloud', aliases: ['m@example.com'] });
  assert.equal((await store.users.get('m@example.com'))?.homeSystem, 'cloud');
  await store.close();
});
