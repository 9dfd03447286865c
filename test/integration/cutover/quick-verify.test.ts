/**
 * The quick verify under the cutover's hold (migration.cutover.verify: hold) on
 * the lab's Dovecots: it reuses the pre-check's hashes (IMAP message bytes never
 * change under a UID) and hashes only what that verify did not see, yet catches
 * what the full verify catches: a message missing on the target, an extra one,
 * changed flags, and a final-pass copy whose bytes differ (altered on the target
 * behind the engine's back, same size, UID map pointed at it).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ImapFlow } from 'imapflow';
import { runSteps } from '../../../src/cutover/index.js';
import { MigrationState, migrateUser, verifyUser, type Difference, type EngineDeps } from '../../../src/migration/index.js';
import { useLab } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { msg, withSession } from '../migration/setup.js';
import { cutoverStore, deps } from './setup.js';

const lab = await useLab(undefined, { only: ['dovecot'] });

async function appendAll(address: string, from: number, n: number): Promise<void> {
  await withSession(lab.dovecot.legacy, address, async (c) => {
    for (let i = from; i < from + n; i++) await c.append('INBOX', msg(`m${i}`), i % 3 === 0 ? ['\\Seen'] : []);
  });
}

/** Replaces the target copy of source UID `sourceUid` with the same bytes but one changed (same size), and points the UID map at it. */
async function alterOnTarget(engine: EngineDeps, address: string, sourceUid: number): Promise<number> {
  const state = new MigrationState(engine.db);
  const row = (await state.messages(address, 'INBOX', 'done')).find((r) => r.source_uid === sourceUid);
  assert.ok(row?.target_uid, `source UID ${sourceUid} is mapped`);
  const newUid = await withSession(lab.dovecot.cloud, address, async (c: ImapFlow) => {
    await c.mailboxOpen('INBOX');
    const [m] = await c.fetchAll(String(row.target_uid), { uid: true, source: true, flags: true, internalDate: true }, { uid: true });
    const altered = Buffer.from(m!.source!.toString('latin1').replace('hello', 'HELLO'), 'latin1');
    assert.equal(altered.length, m!.source!.length);
    assert.notDeepEqual(altered, m!.source);
    const r = await c.append('INBOX', altered, [...(m!.flags ?? [])].filter((f) => f !== '\\Recent'), new Date(m!.internalDate!));
    await c.messageDelete(String(row.target_uid), { uid: true });
    return r && typeof r.uid === 'number' ? r.uid : 0;
  });
  assert.ok(newUid > 0, 'APPENDUID');
  await engine.db.updateTable('migration_messages').set({ target_uid: newUid })
    .where('address', '=', address).where('source_folder', '=', 'INBOX').where('source_uid', '=', sourceUid).execute();
  return newUid;
}

const key = (d: Difference): string => `${d.kind} s${d.sourceUid ?? '-'} t${d.targetUid ?? '-'}`;

test('quick verify: hashes only what the full verify did not, and catches missing, extra, flags and altered final-pass bytes', async (t) => {
  const store = await cutoverStore(t);
  const [u] = await newMigrationUsers(lab, 1, 'qv');
  const address = u!.address;
  const { engine } = deps(lab, store);
  await appendAll(address, 0, 30);
  assert.equal((await migrateUser(engine, { address })).ok, true, 'first pass');

  const full = await verifyUser(engine, { address }, { keep: true });
  assert.equal(full.ok, true, JSON.stringify(full.differences.slice(0, 3)));
  assert.equal(full.hashed, 60, 'the full verify hashes every message on both sides');
  assert.ok(full.cache);

  const again = await verifyUser(engine, { address }, { known: full.cache });
  assert.equal(again.ok, true);
  assert.equal(again.hashed, 0, 'nothing new: no body fetched');
  assert.equal(again.folders.find((f) => f.target === 'INBOX')?.sourceCount, 30);

  // Mail after the pre-check, copied by the "final" pass.
  await appendAll(address, 100, 3);
  const pass = await migrateUser(engine, { address });
  assert.equal(pass.totals.appended, 3);
  const clean = await verifyUser(engine, { address }, { known: full.cache });
  assert.equal(clean.ok, true, JSON.stringify(clean.differences.slice(0, 3)));
  assert.equal(clean.hashed, 6, 'only the 3 new messages, on both sides');

  // Now break it behind the engine's back, one way per message.
  const rows = (await new MigrationState(engine.db).messages(address, 'INBOX', 'done')).sort((a, b) => a.source_uid - b.source_uid);
  const [missingRow, flagsRow] = [rows[2]!, rows[5]!];
  const finalPass = rows[rows.length - 1]!;
  let extraUid = 0;
  await withSession(lab.dovecot.cloud, address, async (c) => {
    await c.mailboxOpen('INBOX');
    await c.messageDelete(String(missingRow.target_uid), { uid: true });
    const r = await c.append('INBOX', msg('extra'), []);
    extraUid = r && typeof r.uid === 'number' ? r.uid : 0;
  });
  await withSession(lab.dovecot.legacy, address, async (c) => {
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd(String(flagsRow.source_uid), ['\\Flagged'], { uid: true });
  });
  const alteredUid = await alterOnTarget(engine, address, finalPass.source_uid);

  const quick = await verifyUser(engine, { address }, { known: full.cache });
  assert.equal(quick.ok, false);
  const got = quick.differences.map(key).sort();
  assert.deepEqual(got, [
    `content s${finalPass.source_uid} t${alteredUid}`,
    `extra s- t${extraUid}`,
    `flags s${flagsRow.source_uid} t${flagsRow.target_uid}`,
    `missing s${missingRow.source_uid} t-`,
  ].sort());
  assert.equal(quick.hashed, 7, 'the 3 final-pass sources, their 2 unaltered copies, the altered copy and the extra; nothing of the 30 verified');
  // Just as strict as the full verify.
  const fullAfter = await verifyUser(engine, { address });
  assert.deepEqual(fullAfter.differences.map(key).sort(), got);
});

test('cutover (default verify: hold): the final-pass copy altered on the target rolls the cutover back at verify', async (t) => {
  const store = await cutoverStore(t);
  const [u] = await newMigrationUsers(lab, 1, 'qvc');
  const address = u!.address;
  await store.users.upsert({ address, homeSystem: 'legacy' });
  const { cut, engine } = deps(lab, store);
  await appendAll(address, 0, 20);
  assert.equal((await migrateUser(engine, { address })).ok, true, 'first pass');
  await appendAll(address, 100, 2);
  const ops = { ...cut.ops, delta: async (a: string) => {
    const r = await cut.ops.delta(a);
    const rows = (await new MigrationState(engine.db).messages(address, 'INBOX', 'done')).sort((x, y) => x.source_uid - y.source_uid);
    await alterOnTarget(engine, address, rows[rows.length - 1]!.source_uid);
    return r;
  } };
  const r = await runSteps({ ...cut, ops }, 'cutover', address);
  assert.equal(r.status, 'rolled-back', JSON.stringify(r.steps));
  assert.equal(r.failedStep, 'verify');
  assert.match(r.error ?? '', /content/);
  assert.equal((await store.users.get(address))?.homeSystem, 'legacy');

  // The same user on an untouched mailbox pair cuts over, and the verify under the hold was the quick one.
  const [v] = await newMigrationUsers(lab, 1, 'qvd');
  await store.users.upsert({ address: v!.address, homeSystem: 'legacy' });
  await appendAll(v!.address, 0, 20);
  assert.equal((await migrateUser(engine, { address: v!.address })).ok, true);
  await appendAll(v!.address, 100, 2);
  const ok = await runSteps(cut, 'cutover', v!.address);
  assert.equal(ok.status, 'done', JSON.stringify(ok.steps));
  // The 2 new source messages were hashed by the pre-check already: only their 2 copies on the target now.
  assert.match(ok.steps.find((s) => s.step === 'verify')?.detail ?? '', /quick.*, 2 message\(s\) hashed/);
});
