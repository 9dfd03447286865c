/** Users from the unified directory (a real SQLite store seeded through store.users.upsert); no mail servers needed. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../../../src/store/index.js';
import type { Config } from '../../../src/config/index.js';
import { loadUsers, statusTable } from '../../../src/cli/commands/migrate.js';
import { directoryUsers } from '../../../src/migration/index.js';

test('users from the directory: the people homed on migration.from, paged; --users FILE and --user still win', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'mb-dirusers-'));
  const store = await openStore({ sqlite: join(dir, 'state.db') });
  t.after(() => store.close());
  for (const [address, homeSystem] of [['Carol@example.com', 'legacy'], ['alice@example.com', 'legacy'], ['bob@example.com', 'cloud'], ['dave@example.com', 'legacy']] as const) {
    await store.users.upsert({ address, homeSystem });
  }
  assert.deepEqual((await directoryUsers(store.users, 'legacy', 2)).map((u) => u.address), ['alice@example.com', 'carol@example.com', 'dave@example.com']);
  assert.deepEqual(await directoryUsers(store.users, 'nowhere'), []);

  const config = { file: 'mailbridge.yaml', migration: { from: 'legacy', to: 'cloud', concurrency: 1, deleteOnTarget: false, skipDeleted: true } } as unknown as Config;
  assert.deepEqual((await loadUsers(config, {}, store)).map((u) => u.address), ['alice@example.com', 'carol@example.com', 'dave@example.com']);
  assert.deepEqual((await loadUsers(config, { user: 'Zed@example.com' }, store)).map((u) => u.address), ['zed@example.com'], '--user alone');
  const csv = join(dir, 'users.csv');
  writeFileSync(csv, 'address\nerin@example.com\n');
  assert.deepEqual((await loadUsers(config, { users: csv }, store)).map((u) => u.address), ['erin@example.com'], '--users FILE wins');
  const withFile = { ...config, migration: { ...config.migration, users: csv } } as unknown as Config;
  assert.deepEqual((await loadUsers(withFile, {}, store)).map((u) => u.address), ['erin@example.com'], 'migration.users wins');
  const empty = { ...config, migration: { ...config.migration, from: 'nowhere' } } as unknown as Config;
  await assert.rejects(loadUsers(empty, {}, store), /no one in the directory has home system "nowhere"/);
});

test('migrate status: an aligned table, error last', () => {
  const text = statusTable([['a@example.com', 'synced', '2', '2024-01-01T00:00:00.000Z', '10', '10', '0', ''],
    ['longer.name@example.com', 'failed', '1', '-', '0', '0', '1', 'login refused']]);
  assert.deepEqual(text.split('\n'), [
    'USER                     STATE   PASSES  LAST PASS                 SEEN  APPENDED  REFUSED  ERROR',
    'a@example.com            synced  2       2024-01-01T00:00:00.000Z  10    10        0',
    'longer.name@example.com  failed  1       -                         0     0         1        login refused',
  ]);
});
