/**
 * deleteOnTarget with QRESYNC (RFC 7162): a delta pass learns what the source
 * expunged from EXAMINE ... (QRESYNC (uidvalidity modseq)), i.e. VANISHED
 * (EARLIER), instead of listing every source UID, and deletes on the target
 * exactly the copies the state maps from those UIDs (a message the engine did not
 * create stays). The source is reached through a relay (imap-relay.ts) that
 * records the commands sent and, for the fallback, hides QRESYNC from the
 * CAPABILITY lists: the same real server then "does not offer QRESYNC".
 *   - with QRESYNC: ENABLE QRESYNC, EXAMINE with the QRESYNC parameter, no UID
 *     SEARCH ALL; the log says via "qresync" and how many UIDs vanished;
 *   - expunges an earlier pass without deleteOnTarget left behind are not in
 *     VANISHED: the state's row count gives it away and the pass falls back to the
 *     full UID list (and deletes them);
 *   - without QRESYNC: the full UID list, as before.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useLab, type LabInfo } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser, type EngineDeps, type UserPassReport } from '../../../src/migration/index.js';
import { createLogger } from '../../../src/observe/index.js';
import type { Store } from '../../../src/store/index.js';
import { contentOf, engineDeps, migrationConfig, msg, snapshot, systemOf, tempStore, withSession } from './setup.js';
import { imapRelay, type ImapRelay } from './imap-relay.js';

const DATE = new Date('2021-02-03T04:05:06Z');

interface ExpungeEvent { folder: string; via: string; vanished?: number; deleted: number; fallback?: string }

/** One pass through the relay; the commands it sent the source and its expunge events. */
async function pass(lab: LabInfo, store: Store, relay: ImapRelay, address: string, deleteOnTarget: boolean):
  Promise<{ r: UserPassReport; commands: string[]; events: ExpungeEvent[] }> {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', pretty: false, destination: { write: (l: string) => { lines.push(l); return true; } } as NodeJS.WritableStream });
  const legacy = systemOf(lab.dovecot.legacy);
  const deps: EngineDeps = engineDeps(lab, store, { log, migration: migrationConfig({ deleteOnTarget }),
    source: { ...legacy, imap: { ...legacy.imap!, port: relay.port } } });
  const from = relay.commands.length;
  const r = await migrateUser(deps, { address });
  assert.equal(r.error, undefined, JSON.stringify(r.error));
  const events = lines.map((l) => JSON.parse(l) as { event: string } & ExpungeEvent).filter((e) => e.event === 'migration.folder.expunges');
  return { r, commands: relay.commands.slice(from), events };
}

async function expunge(lab: LabInfo, address: string, folder: string, subjects: string[]): Promise<void> {
  await withSession(lab.dovecot.legacy, address, async (c) => {
    await c.mailboxOpen(folder);
    for (const s of subjects) {
      const uids = await c.search({ subject: s }, { uid: true });
      assert.equal((uids || []).length, 1, s);
      await c.messageDelete((uids || []).join(','), { uid: true });
    }
  });
}

/** The target holds exactly the source's messages plus the ones the engine never created (`extra`). */
async function assertMirrors(lab: LabInfo, address: string, folder: string, extra: number): Promise<void> {
  const src = await withSession(lab.dovecot.legacy, address, (c) => snapshot(c, folder));
  const tgt = await withSession(lab.dovecot.cloud, address, (c) => snapshot(c, folder));
  assert.equal(tgt.length, src.length + extra, `${folder}: ${tgt.length} on the target, ${src.length} on the source + ${extra}`);
  const have = contentOf(tgt);
  for (const s of contentOf(src)) {
    const i = have.indexOf(s);
    assert.ok(i >= 0, `${folder}: a source message is missing on the target`);
    have.splice(i, 1);
  }
}

const searchAll = (commands: string[]) => commands.filter((c) => /^\S+ UID SEARCH ALL$/i.test(c));

test('qresync: deleteOnTarget learns expunges from VANISHED (EARLIER), deletes exactly those; fallbacks list every UID', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'qresync');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxCreate('Other');
    for (let i = 0; i < 30; i++) await c.append('INBOX', msg(`in${i}z`), i % 4 === 0 ? ['\\Seen'] : [], DATE);
    for (let i = 0; i < 5; i++) await c.append('Other', msg(`ot${i}z`), [], DATE);
  });
  const relay = await imapRelay(lab.dovecot.legacy.imapPort);
  t.after(() => relay.close());
  const store = await tempStore();
  t.after(() => store.close());

  const first = await pass(lab, store, relay, u.address, true);
  assert.equal(first.r.totals.appended, 35);
  // A message on the target the engine did not create: never deleted.
  await withSession(lab.dovecot.cloud, u.address, (c) => c.append('INBOX', msg('theirs'), [], DATE));

  await expunge(lab, u.address, 'INBOX', ['in3z', 'in7z', 'in8z', 'in20z']);
  await expunge(lab, u.address, 'Other', ['ot0z']);
  // A new message in the same pass: copied, not confused with the expunges.
  await withSession(lab.dovecot.legacy, u.address, (c) => c.append('INBOX', msg('in30z'), [], DATE));
  const second = await pass(lab, store, relay, u.address, true);
  assert.ok(second.commands.some((c) => /^\S+ ENABLE QRESYNC$/i.test(c)), 'the lab Dovecot offers QRESYNC and the reader enables it');
  assert.ok(second.commands.some((c) => /^\S+ EXAMINE "INBOX" \(QRESYNC \(\d+ \d+\)\)$/i.test(c)), second.commands.filter((c) => /EXAMINE/.test(c)).join('\n'));
  assert.deepEqual(searchAll(second.commands), [], 'no listing of every source UID');
  const inbox = second.events.find((e) => e.folder === 'INBOX')!;
  const other = second.events.find((e) => e.folder === 'Other')!;
  assert.deepEqual([inbox.via, inbox.deleted, inbox.fallback], ['qresync', 4, undefined], JSON.stringify(second.events));
  assert.ok(inbox.vanished! >= 4, `VANISHED named ${inbox.vanished} UIDs`);
  assert.deepEqual([other.via, other.deleted, other.fallback], ['qresync', 1, undefined], JSON.stringify(second.events));
  assert.equal(second.r.totals.deletedOnTarget, 5);
  assert.equal(second.r.totals.appended, 1);
  await assertMirrors(lab, u.address, 'INBOX', 1);
  await assertMirrors(lab, u.address, 'Other', 0);

  // Nothing expunged since: VANISHED is empty, nothing deleted, still no listing.
  await withSession(lab.dovecot.legacy, u.address, (c) => c.append('INBOX', msg('in31z'), [], DATE));
  const quiet = await pass(lab, store, relay, u.address, true);
  assert.equal(quiet.r.totals.deletedOnTarget, 0);
  assert.deepEqual(searchAll(quiet.commands), []);
  assert.deepEqual(quiet.events.map((e) => [e.folder, e.via, e.deleted]), [['INBOX', 'qresync', 0]]);

  // An expunge a pass without deleteOnTarget went past: its MODSEQ is older than the stored one, so VANISHED does
  // not name it; the row count differs, the pass lists every UID and deletes it.
  await expunge(lab, u.address, 'INBOX', ['in0z']);
  const keep = await pass(lab, store, relay, u.address, false);
  assert.equal(keep.r.totals.deletedOnTarget, 0);
  assert.deepEqual(keep.events, []);
  const late = await pass(lab, store, relay, u.address, true);
  const lateInbox = late.events.filter((e) => e.folder === 'INBOX');
  assert.deepEqual(lateInbox.map((e) => e.via), ['qresync', 'list'], JSON.stringify(late.events));
  assert.match(lateInbox[0]!.fallback ?? '', /full UID list/);
  assert.equal(late.r.totals.deletedOnTarget, 1);
  assert.equal(searchAll(late.commands).length, 1);
  await assertMirrors(lab, u.address, 'INBOX', 1);
});

test('qresync: a source without QRESYNC (hidden by the relay): deleteOnTarget lists every UID and deletes exactly the expunged', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'noqresync');
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 12; i++) await c.append('INBOX', msg(`nq${i}z`), [], DATE);
  });
  const relay = await imapRelay(lab.dovecot.legacy.imapPort, { hideCaps: ['QRESYNC'] });
  t.after(() => relay.close());
  const store = await tempStore();
  t.after(() => store.close());
  assert.equal((await pass(lab, store, relay, u.address, true)).r.totals.appended, 12);
  await withSession(lab.dovecot.cloud, u.address, (c) => c.append('INBOX', msg('theirs'), [], DATE));
  await expunge(lab, u.address, 'INBOX', ['nq1z', 'nq11z']);
  const r = await pass(lab, store, relay, u.address, true);
  assert.deepEqual(r.commands.filter((c) => /ENABLE QRESYNC|\(QRESYNC /i.test(c)), [], 'QRESYNC is never used when not offered');
  assert.equal(searchAll(r.commands).length, 1);
  assert.deepEqual(r.events.map((e) => [e.folder, e.via, e.deleted]), [['INBOX', 'list', 2]]);
  assert.equal(r.r.totals.deletedOnTarget, 2);
  await assertMirrors(lab, u.address, 'INBOX', 1);
});
