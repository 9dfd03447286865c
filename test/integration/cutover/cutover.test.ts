/**
 * The proof of issue 8 on the lab: a steady stream of mail through a real
 * gateway (LMTP into both Dovecots) to a user and to others on both systems
 * while the user is migrated and cut over; the same with the target Dovecot
 * killed during the final delta pass; and a rollback with mail that arrived
 * in the new system in the meantime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cutoverUsers, rollbackUser } from '../../../src/cutover/index.js';
import { searchTracking } from '../../../src/gateway/index.js';
import { migrateUser } from '../../../src/migration/index.js';
import { delay, labDir, startDovecot, stopPid, useLab, type LabInfo } from '../../harness/index.js';
import { newMigrationUsers } from '../../harness/mail.js';
import { sendRaw } from '../gateway/helpers.js';
import { msg, withSession } from '../migration/setup.js';
import { countBy, cutoverStore, deps, inbox, message, startCutoverGateway, stream, until } from './setup.js';

const lab = await useLab(undefined, { only: ['dovecot'] });

async function history(info: LabInfo['dovecot']['legacy'], address: string, n: number): Promise<void> {
  await withSession(info, address, async (c) => {
    for (let i = 0; i < n; i++) await c.append('INBOX', msg(`old${i}`), i % 2 ? ['\\Seen'] : []);
  });
}

/** The target Dovecot at once, master and children (SIGKILL of the master alone leaves its imap processes serving). */
function killTree(pid: number): void {
  let out = '';
  try { out = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' }); } catch { /* no children: ps exits 1 */ }
  const kids = out.split('\n').map((x) => Number(x.trim())).filter((x) => x > 0);
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  for (const k of kids) killTree(k);
}

/** Per recipient of `others`: the longest time from 'received' to 'delivered' (ms). */
async function worstDelay(store: Parameters<typeof searchTracking>[0], others: string[]): Promise<number> {
  let worst = 0;
  for (const o of others) {
    const rows = await searchTracking(store, { to: o, limit: 10_000 });
    const received = new Map(rows.filter((r) => r.event === 'received').map((r) => [r.queue_id, Number(r.at)]));
    for (const r of rows.filter((x) => x.event === 'delivered')) worst = Math.max(worst, Number(r.at) - (received.get(r.queue_id) ?? Number(r.at)));
  }
  return worst;
}

test('a stream of mail keeps flowing while a user is migrated and cut over: every message once in the new mailbox, none in the old after the hold', async (t) => {
  const store = await cutoverStore(t);
  const [m, o1, o2] = await newMigrationUsers(lab, 3, 'cut');
  await store.users.upsert({ address: m!.address, homeSystem: 'legacy', aliases: [`alias-${m!.address}`] });
  await store.users.upsert({ address: o1!.address, homeSystem: 'legacy' });
  await store.users.upsert({ address: o2!.address, homeSystem: 'cloud' });
  await history(lab.dovecot.legacy, m!.address, 20);
  const { cut, engine } = deps(lab, store);
  assert.equal((await migrateUser(engine, { address: m!.address })).ok, true, 'first pass');

  const g = await startCutoverGateway(t, lab, store);
  // (Aliases are held too, see src/gateway/holds.test.ts; the lab's Dovecots know no aliases to deliver to.)
  const recipients = [[m!.address], [o1!.address], [o2!.address], [m!.address, o1!.address, o2!.address]];
  const s = stream(g.port, (n) => recipients[n % recipients.length]!, 80);
  t.after(() => s.stop());
  await delay(1500);
  assert.equal((await migrateUser(engine, { address: m!.address })).ok, true, 'a delta pass while mail flows');
  await delay(1000);
  const [r] = await cutoverUsers(cut, [m!.address]);
  assert.equal(r!.status, 'done', JSON.stringify(r));
  await delay(1500);
  await s.stop();
  await until('the queue to empty', () => g.gw.spool.size === 0).catch((err: unknown) => {
    throw new Error(`${String(err)}: ${JSON.stringify(g.gw.spool.list().map((x) => ({ to: x.envelope.recipients.map((y) => y.address), st: x.recipients })))}`);
  });
  await g.tracker.flush();

  assert.ok(s.sent.every((x) => x.reply.startsWith('250')), 'every message accepted');
  const toM = s.sent.filter((x) => x.to.some((a) => a.endsWith(m!.address))).map((x) => x.id);
  assert.ok(toM.length >= 8, `enough mail to the user (${toM.length})`);
  const fresh = await inbox(lab.dovecot.cloud, m!.address);
  const old = await inbox(lab.dovecot.legacy, m!.address);
  const n = countBy(fresh, (x) => x.messageId);
  for (const id of toM) assert.equal(n.get(id), 1, `${id} exactly once in the new mailbox`);
  assert.equal(fresh.length, toM.length + 20, 'the history and the stream, nothing else');
  const freshSet = new Set(fresh.map((x) => `${x.messageId} ${x.sha}`));
  for (const o of old) assert.ok(freshSet.has(`${o.messageId} ${o.sha}`), `${o.messageId} copied byte for byte (SHA-256)`);

  const rec = (await store.cutover.record(r!.recordId))!;
  const rows = await searchTracking(store, { to: m!.address, limit: 10_000 });
  const delivered = rows.filter((x) => x.event === 'delivered');
  const toOld = delivered.filter((x) => x.destination === 'system:legacy');
  const toNew = delivered.filter((x) => x.destination === 'system:cloud');
  assert.ok(toOld.length > 0 && toNew.length > 0, 'mail went to the old system before and to the new one after');
  assert.ok(toOld.every((x) => Number(x.at) <= rec.ackedAt!), 'nothing reached the old mailbox after the gateway acknowledged the hold');
  assert.ok(toNew.every((x) => Number(x.at) >= rec.releasedAt!), 'the new mailbox got the user\'s mail only after the release');
  assert.equal(old.length, 20 + toOld.length, 'the old mailbox holds exactly what was delivered there before the hold');
  assert.ok(r!.heldMessages > 0, `mail arrived during the hold and was held (${r!.heldMessages})`);
  const worst = await worstDelay(store, [o1!.address, o2!.address]);
  assert.ok(worst < 3000, `mail to the others was not held up (worst ${worst} ms)`);
  assert.equal((await store.users.get(m!.address))?.homeSystem, 'cloud');
  t.diagnostic(`held ${r!.heldMs} ms, ${r!.heldMessages} recipients held; worst delay for others ${worst} ms; ${toM.length} messages to the user`);
});

test('the target Dovecot dies during the final delta pass: rolled back to the old system, nothing lost', async (t) => {
  const store = await cutoverStore(t);
  const priv = await startDovecot(join(labDir(mkdtempSync(join(tmpdir(), 'mb-cut-priv-'))), 'cloud-dovecot'), 'cloud');
  t.after(() => stopPid(priv.server.pid));
  const mixed: LabInfo = { ...lab, dovecot: { ...lab.dovecot, cloud: priv.info } };
  const [m, o1] = await newMigrationUsers(mixed, 2, 'cutfail');
  await store.users.upsert({ address: m!.address, homeSystem: 'legacy' });
  await store.users.upsert({ address: o1!.address, homeSystem: 'legacy' });
  await history(lab.dovecot.legacy, m!.address, 10);
  let armed = false;
  const { cut, engine } = deps(mixed, store, {}, {
    retries: 0,
    onProgress: (e) => { if (armed && e.type === 'folder') { armed = false; killTree(priv.server.pid); } },
  });
  assert.equal((await migrateUser(engine, { address: m!.address })).ok, true);
  const g = await startCutoverGateway(t, mixed, store);
  const s = stream(g.port, (n) => (n % 2 ? [o1!.address] : [m!.address]), 80);
  t.after(() => s.stop());
  await delay(1000);
  armed = true;
  const [r] = await cutoverUsers(cut, [m!.address]);
  assert.equal(r!.status, 'rolled-back', JSON.stringify(r));
  assert.equal(r!.failedStep, 'delta');
  assert.equal(r!.unreachable, true, r!.error);
  await delay(1000);
  await s.stop();
  await until('the queue to empty', () => g.gw.spool.size === 0);
  await g.tracker.flush();

  const toM = s.sent.filter((x) => x.to.includes(m!.address)).map((x) => x.id);
  const old = countBy(await inbox(lab.dovecot.legacy, m!.address), (x) => x.messageId);
  for (const id of toM) assert.equal(old.get(id), 1, `${id} exactly once in the old mailbox`);
  const rows = await searchTracking(store, { to: m!.address, limit: 10_000 });
  assert.equal(rows.filter((x) => x.event === 'delivered' && x.destination === 'system:cloud').length, 0, 'nothing went to the new system');
  assert.ok(rows.some((x) => x.event === 'held'), 'mail was held during the attempt');
  assert.equal((await store.users.get(m!.address))?.homeSystem, 'legacy');
  assert.equal((await store.cutover.holds()).length, 0);
  assert.equal((await store.cutover.record(r!.recordId))?.status, 'rolled-back');
});

test('rollback: mail that arrived in the new system is copied back once, nothing deleted, routing returns', async (t) => {
  const store = await cutoverStore(t);
  const [m] = await newMigrationUsers(lab, 1, 'cutback');
  await store.users.upsert({ address: m!.address, homeSystem: 'legacy' });
  await history(lab.dovecot.legacy, m!.address, 5);
  const { cut, engine } = deps(lab, store);
  assert.equal((await migrateUser(engine, { address: m!.address })).ok, true);
  const g = await startCutoverGateway(t, lab, store);
  const [r] = await cutoverUsers(cut, [m!.address]);
  assert.equal(r!.status, 'done', JSON.stringify(r));
  for (let i = 0; i < 3; i++) assert.match(await sendRaw(g.port, 'x@example.org', [m!.address], message(`new${i}.${m!.address}`, [m!.address], i)), /^250 /);
  await until('delivery to the new system', () => g.gw.spool.size === 0);
  assert.equal((await inbox(lab.dovecot.cloud, m!.address)).length, 8);

  const back = await rollbackUser(cut, m!.address);
  assert.equal(back.status, 'done', JSON.stringify(back));
  assert.equal(back.delta?.appended, 3, 'exactly the three new messages copied back');
  const old = await inbox(lab.dovecot.legacy, m!.address);
  assert.equal(old.length, 8);
  assert.deepEqual([...countBy(old, (x) => x.messageId).values()].filter((c) => c !== 1), [], 'each once');
  assert.equal((await inbox(lab.dovecot.cloud, m!.address)).length, 8, 'nothing deleted in the new system');
  assert.equal((await store.users.get(m!.address))?.homeSystem, 'legacy');

  const again = await migrateUser(engine, { address: m!.address });
  assert.equal(again.totals.appended, 0, 'a forward pass after the rollback copies nothing twice');
  assert.match(await sendRaw(g.port, 'x@example.org', [m!.address], message(`after.${m!.address}`, [m!.address], 9)), /^250 /);
  await until('delivery to the old system', () => g.gw.spool.size === 0);
  assert.equal((await inbox(lab.dovecot.legacy, m!.address)).length, 9, 'routing points to the old system again');
});
