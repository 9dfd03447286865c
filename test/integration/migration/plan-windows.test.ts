/**
 * migrate plan and migrate run --dry-run work in UID windows (issue 3: "100,000
 * messages never need 100,000 objects in memory at once"). The source is reached
 * through a recording TCP relay (imap-relay.ts), so what is asserted is what went over the wire:
 *   - no UID FETCH of plan names more UIDs than the window (100 here, over a folder
 *     of 700+), none asks for a range ending in "*";
 *   - the dry run sends no FETCH at all (it counts from the UID list);
 *   - plan's counts, bytes, \Deleted, over-the-limit and sample refusals (NUL bytes,
 *     long lines) equal what an independent whole-folder read of the source gives,
 *     and are the same with windows of 100 and the default. (The NUL count is 0 on
 *     both sides here: the lab's Dovecot does not send the NUL byte in BODY[].)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chownTree, doveadm, useLab, type DovecotInfo } from '../../harness/index.js';
import { newMigrationUser } from '../../harness/mail.js';
import { migrateUser, planUser, type EngineDeps, type UserPlan } from '../../../src/migration/index.js';
import { hasLongLine, hasNul } from '../../../src/migration/plan.js';
import { engineDeps, migrationConfig, msg, systemOf, tempStore, withSession } from './setup.js';
import { loadInboxMaildir } from './maildir-load.js';
import { imapRelay, setSize } from './imap-relay.js';

const N = 700;
const WINDOW = 100;
const MAX = 2000;

/** Extra files in ADDRESS's INBOX maildir (flags as maildir letters), then a resync: bytes the IMAP APPEND path would refuse. */
async function addMaildirFiles(info: DovecotInfo, domain: string, address: string, files: { body: Buffer; letters: string }[]): Promise<void> {
  const root = join(info.dir, 'mail', domain, address.slice(0, address.indexOf('@')));
  for (const sub of ['cur', 'new', 'tmp']) mkdirSync(join(root, sub), { recursive: true });
  files.forEach((f, n) => {
    const file = join(root, 'cur', `${1_700_000_000 + n}.M${n}P2.planwin:2,${f.letters}`);
    writeFileSync(file, f.body);
    utimesSync(file, new Date('2023-03-04T05:06:07Z'), new Date('2023-03-04T05:06:07Z'));
  });
  chownTree(join(info.dir, 'mail', domain));
  await doveadm(info, ['force-resync', '-u', address, 'INBOX']);
}

interface Expected { messages: number; bytes: number; deleted: number; tooLarge: number; sampleNul: number; sampleLong: number; eligible: number }

/** The plan's numbers from an independent whole-folder read (imapflow, EXAMINE, BODY.PEEK[]), rules as documented in plan.ts. */
async function expectedOf(info: DovecotInfo, address: string, folder: string): Promise<Expected> {
  return withSession(info, address, async (c) => {
    await c.mailboxOpen(folder, { readOnly: true });
    const e: Expected = { messages: 0, bytes: 0, deleted: 0, tooLarge: 0, sampleNul: 0, sampleLong: 0, eligible: 0 };
    const eligible: { uid: number; body: Buffer }[] = [];
    for await (const m of c.fetch('1:*', { uid: true, size: true, flags: true, source: true }, { uid: true })) {
      if (m.flags?.has('\\Deleted')) { e.deleted++; continue; }
      e.messages++;
      e.bytes += m.size!;
      if (m.size! > MAX) e.tooLarge++;
      else eligible.push({ uid: m.uid, body: m.source! });
    }
    eligible.sort((a, b) => a.uid - b.uid);
    e.eligible = eligible.length;
    for (const s of eligible.slice(-50)) {
      if (hasNul(s.body)) e.sampleNul++;
      if (hasLongLine(s.body)) e.sampleLong++;
    }
    return e;
  });
}

test('plan and dry run: FETCHes never name more than the window; counts, bytes and refusals as a whole-folder read', async (t) => {
  const lab = await useLab(t, { only: ['dovecot'] });
  const u = await newMigrationUser(lab, 'planwin');
  await loadInboxMaildir(lab.dovecot.legacy, lab.domain, u.address, N, 'p');
  // The newest messages (the sample): a NUL byte, a 1,200-octet line, two \Deleted ones (one of them too large).
  const head = (s: string) => `From: a@example.com\r\nSubject: ${s}\r\nMessage-ID: <${s}@example.org>\r\n\r\n`;
  await addMaildirFiles(lab.dovecot.legacy, lab.domain, u.address, [
    { body: Buffer.from(`${head('nul')}a\0b\r\n`, 'latin1'), letters: 'S' },
    { body: Buffer.from(`${head('long')}${'x'.repeat(1200)}\r\n`), letters: '' },
    { body: Buffer.from(`${head('gone')}bye\r\n`), letters: 'T' },
    { body: Buffer.from(`${head('gonebig')}${'y'.repeat(70)}\r\n`.repeat(60)), letters: 'ST' },
  ]);
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxCreate('Archive');
    for (let i = 0; i < 6; i++) await c.append('Archive', msg(`arch${i}`, '', 'z\r\n'.repeat(i * 400)), i === 2 ? ['\\Deleted'] : [], new Date('2022-01-01T00:00:00Z'));
  });
  const inbox = await expectedOf(lab.dovecot.legacy, u.address, 'INBOX');
  const archive = await expectedOf(lab.dovecot.legacy, u.address, 'Archive');
  assert.equal(inbox.deleted, 2);
  assert.ok(inbox.tooLarge > 0 && inbox.eligible > 0, JSON.stringify(inbox));
  assert.ok(inbox.sampleLong >= 1, 'the long-line message is in the sample');
  t.diagnostic(`source: ${JSON.stringify({ inbox, archive })}`);
  const nulSent = await withSession(lab.dovecot.legacy, u.address, async (c) => {
    await c.mailboxOpen('INBOX', { readOnly: true });
    const [uid] = (await c.search({ header: { 'message-id': '<nul@example.org>' } }, { uid: true })) || [];
    const m = uid ? await c.fetchOne(String(uid), { source: true }, { uid: true }) : false;
    return m && m.source ? [...m.source.subarray(-5)].map((b) => b.toString(16)).join(' ') : 'not found';
  });
  t.diagnostic(`the NUL message's last bytes as BODY[] sends them: ${nulSent}`);

  const relay = await imapRelay(lab.dovecot.legacy.imapPort);
  t.after(() => relay.close());
  const legacy = systemOf(lab.dovecot.legacy);
  const store = await tempStore();
  t.after(() => store.close());
  const deps = (over: Partial<EngineDeps> = {}): EngineDeps => engineDeps(lab, store, {
    source: { ...legacy, imap: { ...legacy.imap!, port: relay.port } }, migration: migrationConfig({ maxMessageSize: MAX }), ...over });

  const windowed = await planUser(deps({ windowMessages: WINDOW }), { address: u.address });
  assert.equal(windowed.error, undefined, JSON.stringify(windowed.error));
  const planFetches = relay.fetches.splice(0);
  const sizes = planFetches.map(setSize);
  t.diagnostic(`plan: ${planFetches.length} FETCHes, largest ${Math.max(...sizes)} UIDs`);
  assert.ok(sizes.every((n) => n <= WINDOW), `a FETCH of plan named more than ${WINDOW} UIDs: ${planFetches.filter((s) => setSize(s) > WINDOW).join(' ')}`);
  assert.ok(planFetches.length >= Math.ceil((N + 4) / WINDOW), `${planFetches.length} FETCHes for ${N + 4} messages in windows of ${WINDOW}`);

  const byFolder = (p: UserPlan, name: string) => p.folders.find((f) => f.source === name)!;
  for (const [name, e] of [['INBOX', inbox], ['Archive', archive]] as const) {
    const f = byFolder(windowed, name);
    assert.deepEqual({ messages: f.messages, bytes: f.bytes, deleted: f.deleted, tooLarge: f.tooLarge },
      { messages: e.messages, bytes: e.bytes, deleted: e.deleted, tooLarge: e.tooLarge }, name);
  }
  // The sample: the newest 50 copyable messages of the largest folder (INBOX).
  assert.equal(windowed.sample.messages, 50);
  assert.deepEqual(windowed.refusals, { tooLarge: inbox.tooLarge + archive.tooLarge, nulBytesInSample: inbox.sampleNul, longLinesInSample: inbox.sampleLong });
  assert.equal(windowed.totals.messages, inbox.messages + archive.messages + windowed.folders.filter((f) => !['INBOX', 'Archive'].includes(f.source)).reduce((n, f) => n + f.messages, 0));

  // The default window gives the same plan (the sample's timing aside).
  const whole = await planUser(deps(), { address: u.address });
  relay.fetches.splice(0);
  const strip = (p: UserPlan) => ({ folders: p.folders, totals: p.totals, refusals: p.refusals, sample: { ...p.sample, ms: 0 } });
  assert.deepEqual(strip(whole), strip(windowed));

  // Dry run before any pass: every message is new; counted without a single FETCH.
  const dry = await migrateUser(deps({ windowMessages: WINDOW }), { address: u.address }, { dryRun: true });
  assert.equal(dry.error, undefined, JSON.stringify(dry.error));
  assert.deepEqual(relay.fetches, [], 'the dry run fetches nothing');
  // Counted as a pass counts them: the \Deleted ones skipped, not copied.
  assert.equal(dry.folders.find((f) => f.source === 'INBOX')!.seen, N + 2);
  assert.equal(dry.folders.find((f) => f.source === 'INBOX')!.skippedDeleted, 2);
  assert.equal(dry.folders.find((f) => f.source === 'Archive')!.seen, 5);
  assert.equal(dry.folders.find((f) => f.source === 'Archive')!.skippedDeleted, 1);

  // After a real pass and three new messages: the dry run counts exactly those.
  const run = await migrateUser(engineDeps(lab, store, { migration: migrationConfig({ maxMessageSize: MAX }) }), { address: u.address });
  assert.ok(run.totals.appended > 0);
  await withSession(lab.dovecot.legacy, u.address, async (c) => {
    for (let i = 0; i < 3; i++) await c.append('INBOX', msg(`late${i}`), [], new Date('2024-01-01T00:00:00Z'));
  });
  const dry2 = await migrateUser(deps({ windowMessages: WINDOW }), { address: u.address }, { dryRun: true });
  assert.equal(dry2.error, undefined, JSON.stringify(dry2.error));
  assert.deepEqual(relay.fetches, []);
  assert.equal(dry2.folders.find((f) => f.source === 'INBOX')!.seen, 3);
  assert.equal(dry2.folders.find((f) => f.source === 'Archive')!.seen, 0);
});
