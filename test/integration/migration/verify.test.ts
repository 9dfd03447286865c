/**
 * migrate verify after a run: clean (a CR-run message counts as "normalized by
 * the target"); then a message altered on the target's disk and one expunged on
 * the target behind the engine's back are both found.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { useLab } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser, verifyUser } from '../../../src/migration/index.js';
import { engineDeps, msg, tempStore, withSession } from './setup.js';

const DATE = new Date('2021-05-06T07:08:09Z');

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? filesUnder(p) : [p];
  });
}

test('verify: clean after a run; finds an altered and a deleted message', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'verify');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.append('INBOX', msg('keep'), ['\\Seen'], DATE);
    await c.append('INBOX', msg('alter', '', 'marker ALTERME in the body\r\n'), [], DATE);
    await c.append('INBOX', msg('gone'), ['\\Flagged'], DATE);
    await c.append('Sent', msg('sent'), ['\\Seen'], DATE);
  });
  const store = await tempStore();
  t.after(() => store.close());
  const deps = engineDeps(lab, store);
  assert.equal((await migrateUser(deps, { address: u.address })).error, undefined);
  const clean = await verifyUser(deps, { address: u.address });
  assert.equal(clean.ok, true, JSON.stringify(clean.differences));
  assert.equal(clean.folders.find((f) => f.target === 'INBOX')?.equal, 3);

  // Behind its back: one body byte changed on the cloud's disk, one message expunged over IMAP.
  const [local] = u.address.split('@');
  const file = filesUnder(join(lab.dovecot.cloud.dir, 'mail')).filter((p) => p.includes(local!))
    .find((p) => readFileSync(p).includes('ALTERME'));
  assert.ok(file, 'the copied message on the cloud disk');
  const bytes = readFileSync(file);
  writeFileSync(file, Buffer.from(bytes.toString('latin1').replace('ALTERME', 'ALTERED'), 'latin1'));
  await withSession(lab.dovecot.cloud, u.address, async (c) => {
    await c.mailboxOpen('INBOX');
    const found = await c.search({ header: { subject: 'gone' } }, { uid: true });
    await c.messageDelete((found || []).join(','), { uid: true });
  });
  const dirty = await verifyUser(deps, { address: u.address });
  assert.equal(dirty.ok, false);
  const kinds = dirty.differences.map((d) => d.kind).sort();
  assert.deepEqual(kinds, ['content', 'missing'], JSON.stringify(dirty.differences));
});

test('verify: a message whose CR runs the target collapsed is reported as normalized, not as a difference', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'crrun');
  // Dovecot shortens a run of CR before LF when it saves ("\r\r\r\n" is stored as "\r\r\n"), so the source
  // keeps a run of two, and the target, saving again, keeps one: the copy is shorter than the source.
  await withSession(lab.dovecot.legacy, u.address, (c) => c.append('INBOX', msg('cr', '', 'a\r\r\r\nb\r\n'), [], DATE));
  const store = await tempStore();
  t.after(() => store.close());
  const deps = engineDeps(lab, store);
  await migrateUser(deps, { address: u.address });
  const again = await migrateUser(deps, { address: u.address });
  assert.equal(again.totals.appended, 0);
  const r = await verifyUser(deps, { address: u.address });
  assert.equal(r.ok, true, JSON.stringify(r.differences));
  assert.equal(r.normalized.length, 1);
});
