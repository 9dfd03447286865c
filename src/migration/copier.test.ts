/**
 * Unit test of the copy loop with a fake source and a fake appender (the store is
 * a real SQLite file): keywords that are not IMAP atoms are left out of the
 * APPEND and reported per message, never silently; the intent of every message
 * is in the store before its APPEND is sent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../store/index.js';
import { copyMessages, startCopy, type Appender } from './copier.js';
import { MigrationState } from './state.js';
import { emptyCounts, type DroppedKeywords, type Refusal } from './types.js';

test('copyMessages: non-atom keywords are left out of the APPEND and reported per message; intents precede APPENDs', async (t) => {
  const store = await openStore({ sqlite: join(mkdtempSync(join(tmpdir(), 'mb-copier-')), 'state.db') });
  t.after(() => store.close());
  const state = new MigrationState(store.db);
  await state.saveFolder({ address: 'a@x', source_folder: 'INBOX', target_folder: 'INBOX', uid_validity: 1, target_uid_validity: 1, highest_uid: 0, highest_modseq: null });
  const bodies = new Map([1, 2, 3].map((u) => [u, Buffer.from(`Subject: m${u}\r\nMessage-ID: <m${u}@x>\r\n\r\nbody ${u}\r\n`)]));
  const sent: { flags: string[]; intentBefore: boolean }[] = [];
  const appender: Appender = {
    append: async (_f, body, flags) => {
      const uid = [...bodies].find(([, b]) => b.equals(body))![0];
      // The batch's intent record holds this message (with its content key) before its APPEND goes out.
      const intent = (await state.intents('a@x', 'INBOX')).find((r) => r.source_uid === uid);
      sent.push({ flags, intentBefore: intent !== undefined && intent.content_key === `<m${uid}@x>|${body.length}|${intent.content_key!.split('|')[2]}` });
      return { ok: true, uid: 100 + uid };
    },
  };
  const counts = emptyCounts();
  const refusals: Refusal[] = [];
  const dropped: DroppedKeywords[] = [];
  await copyMessages({
    address: 'a@x', sourceWire: 'INBOX', target: { wire: 'INBOX', path: 'INBOX' }, appenders: [appender], state, counts, refusals, dropped,
    source: { fetchBodies: async (uids) => new Map(uids.map((u) => [u, bodies.get(u)!])) }, batchMessages: 2,
  }, [
    { uid: 1, size: 40, flags: ['\\Seen', 'ok_kw'] },
    { uid: 2, size: 40, flags: ['\\Flagged', 'Entwürfe', 'bad(kw'] },
    { uid: 3, size: 40, flags: [] },
  ]);
  assert.equal(counts.appended, 3);
  assert.deepEqual(sent.map((s) => s.intentBefore), [true, true, true]);
  assert.deepEqual(sent.map((s) => s.flags), [['\\Seen', 'ok_kw'], ['\\Flagged'], []]);
  assert.deepEqual(dropped, [{ folder: 'INBOX', uid: 2, keywords: ['Entwürfe', 'bad(kw'] }]);
  const rows = await state.messagesByUids('a@x', 'INBOX', [1, 2, 3]);
  assert.deepEqual(rows.map((r) => [r.state, r.target_uid]), [['done', 101], ['done', 102], ['done', 103]]);
  assert.match(rows[1]!.detail ?? '', /keywords not copied \(not IMAP atoms\): Entwürfe bad\(kw/);
  // Each batch's results replaced its intent record: none is left.
  assert.deepEqual(await state.intents('a@x', 'INBOX'), []);
});

test('startCopy: resolves once the last APPEND is sent; the results are in the store only when `answered` resolves', async (t) => {
  const store = await openStore({ sqlite: join(mkdtempSync(join(tmpdir(), 'mb-copier-')), 'state.db') });
  t.after(() => store.close());
  const state = new MigrationState(store.db);
  await state.saveFolder({ address: 'a@x', source_folder: 'INBOX', target_folder: 'INBOX', uid_validity: 1, target_uid_validity: 1, highest_uid: 0, highest_modseq: null });
  const bodies = new Map([1, 2].map((u) => [u, Buffer.from(`Message-ID: <m${u}@x>\r\n\r\nbody ${u}\r\n`)]));
  // The target answers only when told: the copy must not wait for it to hand the lane back.
  let answer: (() => void) | undefined;
  const appender: Appender = {
    append: async () => ({ ok: false, reason: 'not used' }),
    appendMany: (_f, items) => new Promise((resolve) => { answer = () => resolve(items.map((_, i) => ({ ok: true, uid: 201 + i }))); }),
  };
  const counts = emptyCounts();
  const { answered } = await startCopy({
    address: 'a@x', sourceWire: 'INBOX', target: { wire: 'INBOX', path: 'INBOX' }, appenders: [appender], state, counts, refusals: [],
    source: { fetchBodies: async (uids) => new Map(uids.map((u) => [u, bodies.get(u)!])) },
  }, [{ uid: 1, size: 30, flags: [] }, { uid: 2, size: 30, flags: ['\\Seen'] }]);
  assert.ok(answer, 'the MULTIAPPEND is sent');
  assert.equal(counts.appended, 0);
  assert.deepEqual((await state.intents('a@x', 'INBOX')).map((r) => r.source_uid), [1, 2], 'the batch is an intent until answered');
  answer();
  await answered;
  assert.equal(counts.appended, 2);
  assert.deepEqual((await state.messagesByUids('a@x', 'INBOX', [1, 2])).map((r) => [r.state, r.target_uid]), [['done', 201], ['done', 202]]);
  assert.deepEqual(await state.intents('a@x', 'INBOX'), []);
});
