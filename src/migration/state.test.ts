import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../store/index.js';
import { MigrationState, type MessageWrite } from './state.js';

test('writeMessages (SQLite, chunks of 128, 64, ... rows): intents then results upsert every row, values intact', async () => {
  const store = await openStore({ sqlite: ':memory:' });
  try {
    const state = new MigrationState(store.db, () => 1_700_000_000_000);
    // 301 rows: chunks of 128, 128, 32, 8, 4, 1; a second folder must stay apart.
    const intents: MessageWrite[] = Array.from({ length: 301 }, (_, i) => ({
      uid: i + 1, state: 'intent', size: 1000 + i, sha256: `h${i}`, key: `<m${i}@x>|${1000 + i}|k`, flags: i % 2 ? ['\\Seen'] : [],
    }));
    await state.writeMessages('a@example.com', 'INBOX', intents);
    await state.writeMessages('a@example.com', 'Sent', [{ uid: 1, state: 'intent', size: 5, flags: ['$Forwarded', 'x'] }]);
    assert.equal((await state.messages('a@example.com', 'INBOX', 'intent')).length, 301);
    await state.writeMessages('a@example.com', 'INBOX', intents.map((w) => ({ ...w, state: 'done', targetUid: 5000 + w.uid })));
    const rows = await state.messages('a@example.com', 'INBOX');
    assert.equal(rows.length, 301);
    assert.equal((await state.messages('a@example.com', 'INBOX', 'intent')).length, 0);
    const r = rows[200]!;
    assert.deepEqual({ uid: r.source_uid, state: r.state, size: r.size, target: r.target_uid, sha: r.sha256, key: r.content_key, flags: JSON.parse(r.flags) as string[], detail: r.detail },
      { uid: 201, state: 'done', size: 1200, target: 5201, sha: 'h200', key: '<m200@x>|1200|k', flags: [], detail: null });
    assert.deepEqual(JSON.parse(rows[1]!.flags), ['\\Seen']);
    const sent = await state.messages('a@example.com', 'Sent');
    assert.deepEqual(sent.map((x) => [x.source_uid, x.state, x.target_uid, JSON.parse(x.flags) as string[]]), [[1, 'intent', null, ['$Forwarded', 'x']]]);
    // A refusal keeps its reason; a later write of the same UID replaces the row, never adds one.
    await state.writeMessages('a@example.com', 'Sent', [{ uid: 1, state: 'refused', size: 5, detail: 'NO too big' }]);
    const again = await state.messages('a@example.com', 'Sent');
    assert.equal(again.length, 1);
    assert.equal(again[0]!.detail, 'NO too big');
    assert.equal(await state.countMessages('a@example.com', 'INBOX'), 301);
  } finally {
    await store.close();
  }
});

test('the copy back\'s state (a Kysely renaming the tables) lands in cutover_back_*, never in the forward map', async () => {
  const { backStateDb } = await import('../cutover/index.js');
  const store = await openStore({ sqlite: ':memory:' });
  try {
    const count = async (table: 'migration_messages' | 'cutover_back_messages' | 'migration_folders' | 'cutover_back_folders') =>
      Number((await store.db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
    const back = new MigrationState(backStateDb(store.db));
    await back.writeMessages('a@example.com', 'INBOX', [{ uid: 1, state: 'done', size: 5, targetUid: 7, flags: [] }, { uid: 2, state: 'intent', size: 6 }]);
    await back.saveFolder({ address: 'a@example.com', source_folder: 'INBOX', target_folder: 'INBOX', uid_validity: 1, target_uid_validity: 2, highest_uid: 2, highest_modseq: null });
    assert.deepEqual([await count('migration_messages'), await count('migration_folders')], [0, 0]);
    assert.deepEqual([await count('cutover_back_messages'), await count('cutover_back_folders')], [2, 1]);
    assert.deepEqual((await back.messages('a@example.com', 'INBOX')).map((r) => [r.source_uid, r.state, r.target_uid]), [[1, 'done', 7], [2, 'intent', null]]);
    // The forward state (the direct path) stays apart.
    const fwd = new MigrationState(store.db);
    await fwd.writeMessages('a@example.com', 'INBOX', [{ uid: 1, state: 'done', size: 9, targetUid: 70, flags: [] }]);
    assert.deepEqual([await count('migration_messages'), await count('cutover_back_messages')], [1, 2]);
    assert.equal((await back.messages('a@example.com', 'INBOX'))[0]!.target_uid, 7);
  } finally {
    await store.close();
  }
});

test('batch intents: one record per batch, replaced by its results in one write; entries with a row are resolved; old intent rows still read', async () => {
  const store = await openStore({ sqlite: ':memory:' });
  try {
    const state = new MigrationState(store.db, () => 1_700_000_000_000);
    const batch: MessageWrite[] = [5, 6, 7].map((uid) => ({ uid, state: 'intent', size: 100 + uid, sha256: `h${uid}`, key: `<${uid}@x>|${100 + uid}|k`, flags: ['\\Seen'] }));
    await state.writeMessages('a@example.com', 'INBOX', [], { put: batch });
    assert.equal((await state.messages('a@example.com', 'INBOX')).length, 0, 'no per-message rows for the intents');
    const read = await state.intents('a@example.com', 'INBOX');
    assert.deepEqual(read.map((r) => [r.source_uid, r.state, r.size, r.sha256, r.content_key, JSON.parse(r.flags) as string[]]),
      batch.map((b) => [b.uid, 'intent', b.size, b.sha256, b.key, ['\\Seen']]));
    // A recovery that wrote UID 6's row and stopped before clearing: 6 is resolved, 5 and 7 are not.
    await state.writeMessages('a@example.com', 'INBOX', [{ uid: 6, state: 'done', size: 106, targetUid: 60, flags: [] }]);
    assert.deepEqual((await state.intents('a@example.com', 'INBOX')).map((r) => r.source_uid), [5, 7]);
    // An intent row of the old format is read with them.
    await state.writeMessages('a@example.com', 'INBOX', [{ uid: 2, state: 'intent', size: 9, key: 'k2' }]);
    assert.deepEqual((await state.intents('a@example.com', 'INBOX')).map((r) => r.source_uid), [2, 5, 7]);
    // The results replace the record (cleared by the batch's first UID), atomically with the rows.
    await state.writeMessages('a@example.com', 'INBOX', [5, 7].map((uid) => ({ uid, state: 'done' as const, size: 100 + uid, targetUid: uid * 10 })), { clear: 5 });
    assert.deepEqual((await state.intents('a@example.com', 'INBOX')).map((r) => r.source_uid), [2]);
    await state.writeMessages('a@example.com', 'Sent', [], { put: batch });
    await state.forgetMessages('a@example.com', 'Sent');
    assert.deepEqual(await state.intents('a@example.com', 'Sent'), []);
    // A record whose entries all have rows is spent: reading it drops it.
    await state.writeMessages('a@example.com', 'Drafts', [{ uid: 5, state: 'done', size: 105, targetUid: 50 }], { put: batch.slice(0, 1) });
    assert.deepEqual(await state.intents('a@example.com', 'Drafts'), []);
    const left = await store.db.selectFrom('migration_intents').select('source_folder').execute();
    assert.deepEqual(left.map((r) => r.source_folder), []);
  } finally {
    await store.close();
  }
});
