/**
 * The cutover's copy back runs the migration engine on its own state tables
 * (cutover_back_*), through a Kysely plugin that renames the migration tables.
 * Every way MigrationState writes (the direct SQLite path, SQL built for SQLite
 * through Kysely, the JSON bulk insert on PostgreSQL) must honour that: a row of
 * the copy back written into the forward map would give a forward pass wrong
 * target UIDs (flags set, with deleteOnTarget deletes done, on other messages).
 * On SQLite and on the lab's PostgreSQL.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backStateDb } from '../../../src/cutover/index.js';
import { MigrationState } from '../../../src/migration/index.js';
import { openStore, type Store } from '../../../src/store/index.js';
import { freshDatabases } from '../store/pg.js';

const freshDatabase = await freshDatabases();

type Table = 'migration_messages' | 'cutover_back_messages' | 'migration_folders' | 'cutover_back_folders';
const count = async (store: Store, table: Table): Promise<number> =>
  Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

for (const dialect of ['sqlite', 'postgres'] as const) {
  test(`copy-back state stays in cutover_back_* (${dialect})`, async () => {
    const store = await openStore(dialect === 'sqlite' ? { sqlite: join(mkdtempSync(join(tmpdir(), 'mb-back-')), 'state.db') } : { postgres: await freshDatabase() });
    try {
      const back = new MigrationState(backStateDb(store.db));
      const rows = Array.from({ length: 300 }, (_, i) => ({ uid: i + 1, state: 'done' as const, size: 10 + i, targetUid: 1000 + i, flags: ['\\Seen'] }));
      await back.writeMessages('a@example.com', 'INBOX', rows);
      await back.saveFolder({ address: 'a@example.com', source_folder: 'INBOX', target_folder: 'INBOX', uid_validity: 1, target_uid_validity: 2,
        highest_uid: 300, highest_modseq: null });
      assert.deepEqual([await count(store, 'migration_messages'), await count(store, 'migration_folders')], [0, 0]);
      assert.deepEqual([await count(store, 'cutover_back_messages'), await count(store, 'cutover_back_folders')], [300, 1]);
      assert.equal((await back.messagesByUids('a@example.com', 'INBOX', [299]))[0]!.target_uid, 1298);

      const fwd = new MigrationState(store.db);
      await fwd.writeMessages('a@example.com', 'INBOX', rows.slice(0, 5).map((r) => ({ ...r, targetUid: 7 })));
      assert.deepEqual([await count(store, 'migration_messages'), await count(store, 'cutover_back_messages')], [5, 300]);
      assert.equal((await back.messagesByUids('a@example.com', 'INBOX', [1]))[0]!.target_uid, 1000);
    } finally {
      await store.close();
    }
  });
}
