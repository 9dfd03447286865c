/**
 * Memory stays flat (issue 3, "Speed"): a 30 MB message is copied byte-identical
 * with the engine's resident memory growing by a few times its size at most, and
 * a folder is worked through in windows (metadata and state rows a window at a
 * time), here with windows of 7 over 40 messages, a crash-free re-run included.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { useLab } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser } from '../../../src/migration/index.js';
import { contentOf, engineDeps, msg, snapshot, tempStore, withSession } from './setup.js';

const DATE = new Date('2021-05-06T07:08:09Z');
const MB = 1024 * 1024;

test('memory: a 30 MB message is copied byte-identical with RSS growth under 4x its size', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'bigmsg');
  let sourceSha: string;
  {
    // 30 MB of base64-like lines, made here and dropped before the measurement starts.
    const line = `${'QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwYWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo='.slice(0, 76)}\r\n`;
    const body = Buffer.from(line.repeat(Math.ceil((30 * MB) / line.length)));
    const big = Buffer.concat([msg('thirty', 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n', ''), body]);
    assert.ok(big.length >= 30 * MB);
    sourceSha = createHash('sha256').update(big).digest('hex');
    await withSession(lab.dovecot.legacy, u.address, (c) => c.append('INBOX', big, ['\\Seen'], DATE));
  }
  const store = await tempStore();
  t.after(() => store.close());
  // A full GC first, so the test's own 30 MB buffers are gone from the baseline and cannot hide the engine's growth.
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
  const before = process.memoryUsage().rss;
  let peak = before;
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  const r = await migrateUser(engineDeps(lab, store), { address: u.address });
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  assert.equal(r.totals.appended, 1);
  const growth = peak - before;
  assert.ok(growth < 4 * 30 * MB, `RSS grew by ${(growth / MB).toFixed(1)} MB while copying a 30 MB message (limit 120 MB)`);
  t.diagnostic(`RSS growth during the copy: ${(growth / MB).toFixed(1)} MB`);

  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.equal(tgt.length, 1);
  assert.equal(tgt[0]!.sha, sourceSha, 'the target holds the exact bytes');
  assert.ok(tgt[0]!.size >= 30 * MB);
  assert.deepEqual(tgt[0]!.flags, ['\\Seen']);
  assert.equal(tgt[0]!.date, DATE.toISOString());
});

test('memory: a folder is copied window by window (7 at a time), \\Deleted skipped, re-run copies nothing', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'windows');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 40; i++) await c.append('INBOX', msg(`w${i}`), i % 9 === 4 ? ['\\Deleted'] : i % 3 === 0 ? ['\\Seen', 'kw'] : [], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const r = await migrateUser(engineDeps(lab, store, { windowMessages: 7, batchMessages: 3 }), { address: u.address });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  const inbox = r.folders.find((f) => f.source === 'INBOX')!;
  assert.equal(inbox.skippedDeleted, 4);
  assert.equal(inbox.appended, 36);
  const src = (await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'))).filter((s) => !s.flags.includes('\\Deleted'));
  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.deepEqual(contentOf(tgt), contentOf(src));
  const again = await migrateUser(engineDeps(lab, store, { windowMessages: 7 }), { address: u.address });
  assert.equal(again.totals.appended, 0);
  assert.equal((await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'))).length, 36);
});
