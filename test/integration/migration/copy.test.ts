/**
 * First pass and re-run against the lab's two Dovecots: bytes, flags, keywords,
 * INTERNALDATE, \Deleted skipped, source untouched, folder mapping ('.' -> '/',
 * modified UTF-7, Sent Items merged into Sent), subscriptions, odd messages.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useLab } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser } from '../../../src/migration/index.js';
import { contentOf, engineDeps, msg, snapshot, systemOf, tempStore, withSession } from './setup.js';

const DATE = new Date('2019-03-04T05:06:07Z');

test('session: the master user and the SASL PLAIN authzid login both open the user', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'session');
  const store = await tempStore();
  t.after(() => store.close());
  for (const mode of ['master', 'authzid'] as const) {
    const r = await migrateUser(engineDeps(lab, store, { source: systemOf(lab.dovecot.legacy, mode), target: systemOf(lab.dovecot.cloud, mode) }), { address: u.address });
    assert.equal(r.ok, true, JSON.stringify(r.error));
  }
  const bad = systemOf(lab.dovecot.legacy);
  const r = await migrateUser(engineDeps(lab, store, { source: { ...bad, imap: { ...bad.imap!, port: 1 } } }), { address: u.address });
  assert.equal(r.ok, false);
  assert.equal(r.error?.unreachable, true);
});

test('copy: exact bytes, flags and keywords, INTERNALDATE, \\Deleted skipped, source unchanged, re-run copies nothing', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'copy');
  const big = Buffer.concat([msg('big', 'Content-Type: text/plain\r\n', ''), Buffer.from(`${'x'.repeat(998)}\r\n`.repeat(5 * 1024))]);
  const odd = [
    { body: msg('flags'), flags: ['\\Seen', '\\Answered', '\\Flagged', '$Forwarded', 'custom_kw'] },
    { body: msg('draft'), flags: ['\\Draft'] },
    { body: Buffer.from('From: a@example.com\r\nSubject: Gr\xfc\xdfe 8-bit \xe4\xf6\xfc\r\n\r\n8-bit header, no Message-ID\r\n', 'latin1'), flags: [] },
    { body: Buffer.from('From: a@example.com\nSubject: bare LF\n\nline one\nline two\n'), flags: ['\\Seen'] },
    { body: big, flags: [] },
    { body: msg('deleted'), flags: ['\\Deleted', '\\Seen'] },
    { body: Buffer.alloc(0), flags: [] },
  ];
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (const m of odd) {
      try { await c.append('INBOX', m.body, m.flags, DATE); } catch { /* the empty message: Dovecot refuses to store it */ }
    }
  });
  const before = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'));
  assert.equal(before.length, 6, 'Dovecot stores 6 of the 7 (no zero-byte message)');

  const store = await tempStore();
  t.after(() => store.close());
  const r1 = await migrateUser(engineDeps(lab, store), { address: u.address });
  assert.equal(r1.error, undefined);
  const inbox = r1.folders.find((f) => f.source === 'INBOX')!;
  assert.equal(inbox.appended, 5);
  assert.equal(inbox.skippedDeleted, 1);

  const after = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'));
  assert.deepEqual(after, before, 'source flags unchanged, no \\Seen set');
  const target = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  const expected = before.filter((s) => !s.flags.includes('\\Deleted'));
  assert.deepEqual(contentOf(target), contentOf(expected), 'bytes (SHA-256), flags, keywords, INTERNALDATE');
  assert.ok(target.some((s) => s.size > 5_000_000), 'the 5 MB message arrived');

  const r2 = await migrateUser(engineDeps(lab, store), { address: u.address });
  assert.equal(r2.totals.appended, 0, 'a re-run appends nothing');
  const again = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.equal(again.length, target.length, 'no duplicates');
});

test('folders: "." to "/", modified UTF-7 names, Sent Items merged into Sent, subscriptions', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'folders');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (const p of ['Projekte', 'Projekte.Entwürfe', 'Sent Items', 'Отчёты & Co']) {
      await c.mailboxCreate(p);
      await c.mailboxSubscribe(p);
    }
    await c.append('Projekte.Entwürfe', msg('nested'), [], DATE);
    await c.append('Отчёты & Co', msg('cyrillic'), [], DATE);
    await c.append('Sent Items', msg('sent-items'), ['\\Seen'], DATE);
    await c.append('Sent', msg('sent'), ['\\Seen'], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const r = await migrateUser(engineDeps(lab, store), { address: u.address });
  assert.equal(r.error, undefined);
  assert.deepEqual(r.merges.map((m) => m.target), ['Sent']);
  const targets = await withSession(lab.dovecot.cloud, u.address, async (c) => {
    const list = await c.list();
    return {
      names: list.map((f) => f.path).sort(),
      raw: list.map((f) => f.pathAsListed),
      subscribed: list.filter((f) => f.subscribed).map((f) => f.path),
      nested: (await snapshot(c, 'Projekte/Entwürfe')).length,
      cyr: (await snapshot(c, 'Отчёты & Co')).length,
      sent: (await snapshot(c, 'Sent')).length,
    };
  });
  assert.ok(targets.names.includes('Projekte/Entwürfe'), targets.names.join(' | '));
  assert.ok(targets.raw.includes('Projekte/Entw&APw-rfe'));
  assert.ok(!targets.names.includes('Sent Items'));
  assert.equal(targets.nested, 1);
  assert.equal(targets.cyr, 1);
  assert.equal(targets.sent, 2, 'Sent and Sent Items merged');
  assert.ok(targets.subscribed.includes('Projekte/Entwürfe'));
});
