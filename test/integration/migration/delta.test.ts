/**
 * Later passes: only new messages, changed flags, deletions only when
 * configured; lost state and a new UIDVALIDITY reconcile by content with no
 * duplicates and no deletions; a refused message is recorded and reported.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { doveadm, useLab } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser } from '../../../src/migration/index.js';
import { createLogger } from '../../../src/observe/index.js';
import { contentOf, engineDeps, migrationConfig, msg, snapshot, tempStore, withSession } from './setup.js';

const DATE = new Date('2020-01-02T03:04:05Z');

test('delta: a new message and a flag change are copied; nothing else moves', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'delta');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 5; i++) await c.append('INBOX', msg(`m${i}`), [], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  assert.equal((await migrateUser(engineDeps(lab, store), { address: u.address })).totals.appended, 5);
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.append('INBOX', msg('new'), ['$Forwarded'], DATE);
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('2', ['\\Flagged', 'later']);
  });
  const r = await migrateUser(engineDeps(lab, store), { address: u.address });
  const inbox = r.folders.find((f) => f.source === 'INBOX')!;
  assert.equal(inbox.mode, 'delta');
  assert.equal(inbox.appended, 1);
  assert.equal(inbox.flagsUpdated, 1);
  const src = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'));
  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.deepEqual(contentOf(tgt), contentOf(src));
});

test('delta: expunged on the source is deleted on the target only with deleteOnTarget', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'expunge');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 3; i++) await c.append('INBOX', msg(`e${i}`), [], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  await migrateUser(engineDeps(lab, store), { address: u.address });
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxOpen('INBOX');
    await c.messageDelete('1');
  });
  const keep = await migrateUser(engineDeps(lab, store), { address: u.address });
  assert.equal(keep.totals.deletedOnTarget, 0);
  assert.equal((await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'))).length, 3);
  const del = await migrateUser(engineDeps(lab, store, { migration: migrationConfig({ deleteOnTarget: true }) }), { address: u.address });
  assert.equal(del.totals.deletedOnTarget, 1);
  const src = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'));
  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.deepEqual(contentOf(tgt), contentOf(src));
});

test('reconcile: state lost, then a new UIDVALIDITY: found by content, 0 duplicates, nothing deleted', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'reconcile');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 4; i++) await c.append('INBOX', msg(`r${i}`), ['\\Seen'], DATE);
    // Two identical messages without Message-ID: both must stay, each matched once.
    const twin = Buffer.from('From: a@example.com\r\nSubject: twin\r\n\r\nsame\r\n');
    await c.append('INBOX', twin, [], DATE);
    await c.append('INBOX', twin, [], DATE);
  });
  const dir = mkdtempSync(join(tmpdir(), 'mb-mig-'));
  const file = join(dir, 'state.db');
  let store = await tempStore(file);
  assert.equal((await migrateUser(engineDeps(lab, store), { address: u.address })).totals.appended, 6);
  await store.close();
  rmSync(dirname(file), { recursive: true, force: true });
  await withSession(lab.dovecot.legacy, u.address, (c) => c.append('INBOX', msg('after-loss'), [], DATE));

  store = await tempStore(join(mkdtempSync(join(tmpdir(), 'mb-mig-')), 'state.db'));
  t.after(() => store.close());
  const r = await migrateUser(engineDeps(lab, store), { address: u.address });
  const inbox = r.folders.find((f) => f.source === 'INBOX')!;
  assert.equal(inbox.mode, 'reconcile');
  assert.equal(inbox.matched, 6);
  assert.equal(inbox.appended, 1);

  // A new UIDVALIDITY on the source (mailbox rebuilt): doveadm sync-style rename and back.
  await doveadm(lab.dovecot.legacy, ['mailbox', 'update', '-u', u.address, '--uid-validity', '12345', 'INBOX']);
  const r2 = await migrateUser(engineDeps(lab, store), { address: u.address });
  const inbox2 = r2.folders.find((f) => f.source === 'INBOX')!;
  assert.equal(inbox2.mode, 'reconcile');
  assert.equal(inbox2.appended, 0);
  assert.equal(inbox2.matched, 7);
  const src = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'));
  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.deepEqual(contentOf(tgt), contentOf(src), 'exactly the source content, no duplicates');
});

test('refusal: a message over the size limit is recorded with its reason, the pass goes on, ok=false', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'refuse');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.append('INBOX', msg('small'), [], DATE);
    await c.append('INBOX', msg('large', '', `${'y'.repeat(70)}\r\n`.repeat(200)), [], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const r = await migrateUser(engineDeps(lab, store, { migration: migrationConfig({ maxMessageSize: 4096 }) }), { address: u.address });
  assert.equal(r.ok, false);
  assert.equal(r.totals.appended, 1);
  assert.equal(r.refusals.length, 1);
  assert.match(r.refusals[0]!.reason, /larger than the limit/);
});

test('delta: CONDSTORE: an unchanged folder is skipped by HIGHESTMODSEQ; a flag change is found by MODSEQ', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'modseq');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxCreate('Archive');
    for (let i = 0; i < 6; i++) await c.append(i % 2 ? 'INBOX' : 'Archive', msg(`q${i}`), [], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', pretty: false, destination: { write: (l: string) => { lines.push(l); return true; } } as NodeJS.WritableStream });
  const unchanged = () => lines.filter((l) => l.includes('migration.folder.unchanged')).map((l) => (JSON.parse(l) as { folder: string }).folder).sort();
  assert.equal((await migrateUser(engineDeps(lab, store, { log }), { address: u.address })).totals.appended, 6);
  assert.deepEqual(unchanged(), [], 'a first pass skips nothing');
  const r2 = await migrateUser(engineDeps(lab, store, { log }), { address: u.address });
  assert.equal(r2.totals.appended + r2.totals.flagsUpdated, 0);
  assert.ok(unchanged().includes('INBOX') && unchanged().includes('Archive'), `unchanged: ${unchanged().join(',')}`);
  lines.length = 0;
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd('2', ['\\Flagged']);
  });
  const r3 = await migrateUser(engineDeps(lab, store, { log }), { address: u.address });
  assert.equal(r3.folders.find((f) => f.source === 'INBOX')!.flagsUpdated, 1);
  assert.ok(!unchanged().includes('INBOX') && unchanged().includes('Archive'), `unchanged: ${unchanged().join(',')}`);
  const src = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'INBOX'));
  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'INBOX'));
  assert.deepEqual(contentOf(tgt), contentOf(src));
});

test('a target folder rebuilt behind our back (new UIDVALIDITY): reconciled by content; the stored target UIDs never delete or flag', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'tgtuv');
  const ours = [0, 1, 2, 3].map((i) => msg(`w${i}`));
  const others = [msg('other0'), msg('other1')];
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxCreate('Work');
    for (const m of ours) await c.append('Work', m, [], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const deps = () => engineDeps(lab, store, { migration: migrationConfig({ deleteOnTarget: true }) });
  assert.equal((await migrateUser(deps(), { address: u.address })).totals.appended, 4);

  // The target's Work deleted and made again: two messages that are not ours first (they get the UIDs that
  // w0 and w1 had), then a copy of w0.
  await withSession(lab.dovecot.cloud, u.address, async (c) => {
    await c.mailboxDelete('Work');
    await c.mailboxCreate('Work');
    for (const m of [...others, ours[0]!]) await c.append('Work', m, [], DATE);
  });
  // On the source: w1 expunged, w2 flagged.
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxOpen('Work');
    await c.messageDelete('2', { uid: true });
    await c.messageFlagsAdd('3', ['\\Flagged'], { uid: true });
  });
  const r = await migrateUser(deps(), { address: u.address });
  const work = r.folders.find((f) => f.source === 'Work')!;
  assert.equal(work.mode, 'reconcile');
  assert.equal(r.totals.deletedOnTarget, 0, 'nothing deleted by a UID of the old target folder');
  assert.equal(work.matched, 1, 'the copy of w0 is found by content');
  assert.equal(work.appended, 2, 'w2 and w3 copied again');
  const src = await withSession(lab.dovecot.legacy, u.address, (c) => snapshot(c, 'Work'));
  const tgt = await withSession(lab.dovecot.cloud, u.address, (c) => snapshot(c, 'Work'));
  const foreign = tgt.filter((x) => x.uid <= 2);
  assert.deepEqual(foreign.map((x) => x.flags), [[], []], 'the others\' messages keep their flags');
  assert.deepEqual(contentOf(tgt.filter((x) => x.uid > 2)), contentOf(src), 'the source content exactly once, with its flags');
});
