import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MbError } from '../core/index.js';
import { encodeMessageFile } from './format.js';
import { Spool } from './spool.js';
import type { SpoolEnvelope } from './types.js';

function tempDir(t: { after(fn: () => void): unknown }): string {
  const dir = mkdtempSync(join(tmpdir(), 'mb-spool-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const env = (rcpts: string[]): SpoolEnvelope => ({
  from: 'a@example.org',
  recipients: rcpts.map((address) => ({ address })),
  source: { kind: 'smtp', ip: '127.0.0.1' },
});

const body = Buffer.from('Subject: x\r\n\r\nbody\r\nwith bytes \xff\r\n', 'latin1');

test('a message survives a restart byte for byte, with its recipient states', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const m = await spool.enqueue(env(['u1@example.com', 'u2@example.com']), body);
  assert.match(m.id, /^[0-9A-Z]{19}$/);
  await spool.update(m.id, [{ op: 'rcpt', index: 0, state: { status: 'delivered', attempts: 1, lastReply: '250 ok' } }]);
  await spool.update(m.id, [{ op: 'rcpt', index: 1, state: { status: 'deferred', attempts: 1, nextAttempt: 42, lastReply: '451 later' } }, { op: 'hold' }]);

  const { spool: again, quarantined } = await Spool.open(dir);
  assert.deepEqual(quarantined, []);
  const back = again.get(m.id);
  assert.ok(back);
  assert.equal(back.recipients[0]!.status, 'delivered');
  assert.equal(back.recipients[1]!.status, 'deferred');
  assert.equal(back.recipients[1]!.nextAttempt, 42);
  assert.equal(back.held, true);
  assert.deepEqual(await again.readBody(m.id), body);
});

test('a torn journal line is ignored; the changes before it count', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const m = await spool.enqueue(env(['u1@example.com', 'u2@example.com']), body);
  await spool.update(m.id, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }]);
  const journal = readdirSync(join(dir, 'queue')).filter((n) => n.startsWith('journal-'));
  assert.equal(journal.length, 1);
  appendFileSync(join(dir, 'queue', journal[0]!), `00000000 {"id":"${m.id}","at":1,"c":{"op":"rcpt","index":1,"state":{"status":"deliv`);
  const { spool: again } = await Spool.open(dir);
  assert.equal(again.get(m.id)!.recipients[0]!.status, 'delivered');
  assert.equal(again.get(m.id)!.recipients[1]!.status, 'queued');
  // The next changes go to a fresh journal file, never after the torn line.
  await again.update(m.id, [{ op: 'hold' }]);
  const { spool: third } = await Spool.open(dir);
  assert.equal(third.get(m.id)!.held, true);
});

test('a journal line with a wrong checksum is not applied', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const m = await spool.enqueue(env(['u1@example.com']), body);
  const name = readdirSync(join(dir, 'queue')).find((n) => n.startsWith('journal-'))!;
  appendFileSync(join(dir, 'queue', name), `deadbeef {"id":"${m.id}","at":1,"c":{"op":"hold"}}\n`);
  const { spool: again } = await Spool.open(dir);
  assert.equal(again.get(m.id)!.held, false);
});

/** Writes a message file of its own (as an earlier version, or a move out of a segment, leaves it). */
function writeOwnFile(dir: string, id: string, rcpts: string[]): void {
  writeFileSync(join(dir, 'queue', `${id}.msg`), encodeMessageFile({ id, receivedAt: 1_700_000_000_000, envelope: env(rcpts), body }));
}

test('partial and corrupt message files are quarantined and reported, never loaded; tmp files are dropped', async (t) => {
  const dir = tempDir(t);
  await Spool.open(dir);
  const [good, cut, flipped] = ['0000000000000000001', '0000000000000000002', '0000000000000000003'];
  for (const id of [good, cut, flipped]) writeOwnFile(dir, id!, ['u@example.com']);
  const q = join(dir, 'queue');
  const cutBytes = readFileSync(join(q, `${cut}.msg`));
  writeFileSync(join(q, `${cut}.msg`), cutBytes.subarray(0, cutBytes.length - 3));
  const fb = readFileSync(join(q, `${flipped}.msg`));
  fb[fb.length - 2] = fb[fb.length - 2]! ^ 0x20;
  writeFileSync(join(q, `${flipped}.msg`), fb);
  writeFileSync(join(q, 'ZZZZZZZZZZZZZZZZZZZ.msg'), 'garbage');
  writeFileSync(join(dir, 'tmp', 'half.msg'), 'MBQ1 1');

  const { spool: again, quarantined } = await Spool.open(dir);
  assert.deepEqual(again.list().map((m) => m.id), [good]);
  assert.deepEqual(await again.readBody(good!), body);
  const reasons = Object.fromEntries(quarantined.map((x) => [x.file, x.reason]));
  assert.match(reasons[`${cut}.msg`]!, /length/);
  assert.match(reasons[`${flipped}.msg`]!, /checksum/);
  assert.match(reasons['ZZZZZZZZZZZZZZZZZZZ.msg']!, /framing/);
  assert.ok(existsSync(join(dir, 'quarantine', `${cut}.msg`)));
  assert.ok(existsSync(join(dir, 'quarantine', `${cut}.reason`)));
  assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
});

const segments = (dir: string): string[] => readdirSync(join(dir, 'queue')).filter((n) => n.startsWith('seg-')).sort();

test('a damaged record inside a segment is quarantined; the records around it load', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const a = await spool.enqueue(env(['u@example.com']), body);
  const b = await spool.enqueue(env(['u@example.com']), Buffer.from('Subject: b\r\n\r\nBBBBBBBBBBBBBBBB\r\n'));
  const c = await spool.enqueue(env(['u@example.com']), body);
  const [seg] = segments(dir);
  const path = join(dir, 'queue', seg!);
  const buf = readFileSync(path);
  const at = buf.indexOf('BBBBBBBB');
  buf[at] = 0x43;
  writeFileSync(path, buf);
  const { spool: again, quarantined } = await Spool.open(dir);
  assert.deepEqual(again.list().map((m) => m.id).sort(), [a.id, c.id].sort());
  assert.equal(again.get(b.id), undefined);
  assert.equal(quarantined.length, 1);
  assert.match(quarantined[0]!.reason, /checksum/);
  assert.match(readFileSync(join(dir, 'quarantine', `${quarantined[0]!.file}.msg`), 'latin1'), /CBBBBBBB/);
  assert.deepEqual(await again.readBody(c.id), body);
});

test('a torn record at the end of a segment (kill -9 during the write) is ignored, not delivered', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const a = await spool.enqueue(env(['u@example.com']), body);
  const path = join(dir, 'queue', segments(dir)[0]!);
  const next = encodeMessageFile({ id: '0000000000000000009', receivedAt: 1, envelope: env(['u@example.com']), body });
  appendFileSync(path, next.subarray(0, next.length - 10));
  const { spool: again, quarantined } = await Spool.open(dir);
  assert.deepEqual(again.list().map((m) => m.id), [a.id]);
  assert.deepEqual(quarantined, []);
  // New messages go to a new segment, never after the torn record.
  const d = await again.enqueue(env(['u@example.com']), body);
  const { spool: third } = await Spool.open(dir);
  assert.deepEqual(third.list().map((m) => m.id).sort(), [a.id, d.id].sort());
});

test('a write failure is a transient SPOOL_WRITE_FAILED and leaves nothing queued', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir, { writeHook: () => Promise.reject(Object.assign(new Error('no space'), { code: 'ENOSPC' })) });
  await assert.rejects(spool.enqueue(env(['u@example.com']), body), (err: unknown) => MbError.is(err, 'SPOOL_WRITE_FAILED') && err.retry === 'transient');
  assert.equal(spool.size, 0);
  assert.deepEqual(segments(dir), []);
  const { spool: again } = await Spool.open(dir);
  assert.equal(again.size, 0);
});

test('removed messages stay removed across restarts and compactions, while their segment is still on disk', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir, { journalBytes: 2000 });
  const ms = [];
  for (let i = 0; i < 6; i++) ms.push(await spool.enqueue(env(['u@example.com']), body));
  for (const m of ms.slice(0, 5)) {
    await spool.update(m.id, [{ op: 'rcpt', index: 0, state: { status: 'delivered', attempts: 1, lastReply: '250 2.0.0 ok '.padEnd(300, 'x') } }]);
    await spool.remove(m.id);
  }
  assert.ok(spool.journalStats.compactions > 0, 'the journal was compacted');
  assert.ok(spool.journalStats.syncs <= spool.journalStats.callers);
  assert.equal(segments(dir).length, 1, 'the segment stays: one message in it is still queued');
  const { spool: again } = await Spool.open(dir);
  assert.deepEqual(again.list().map((m) => m.id), [ms[5]!.id]);
  assert.equal(readdirSync(join(dir, 'queue')).filter((n) => n.startsWith('journal-')).length, 1);
  await again.remove(ms[5]!.id);
  const { spool: third } = await Spool.open(dir);
  assert.equal(third.size, 0);
  assert.deepEqual(segments(dir), [], 'a segment with nothing queued is unlinked');
});

test('a message whose recipients are all final at start (crash before its removal) is not loaded', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const m = await spool.enqueue(env(['u1@example.com', 'u2@example.com']), body);
  await spool.update(m.id, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }, { op: 'rcpt', index: 1, state: { status: 'bounced', failNotified: true } }]);
  const owes = await spool.enqueue(env(['u1@example.com']), body);
  await spool.update(owes.id, [{ op: 'rcpt', index: 0, state: { status: 'bounced' } }]);
  const { spool: again } = await Spool.open(dir);
  assert.deepEqual(again.list().map((x) => x.id), [owes.id], 'a bounce whose DSN is still owed stays');
});

test('segments rotate; maintain() moves long-queued messages to files of their own and drops the old segment', async (t) => {
  const dir = tempDir(t);
  let now = 1_700_000_000_000;
  const { spool } = await Spool.open(dir, { segmentBytes: 1, evacuateAfterMs: 1000, now: () => now });
  const a = await spool.enqueue(env(['u@example.com']), body);
  const b = await spool.enqueue(env(['u@example.com']), body);
  assert.equal(segments(dir).length, 2, 'one segment per message at this size');
  await spool.update(a.id, [{ op: 'rcpt', index: 0, state: { status: 'deferred', attempts: 1 } }]);
  now += 5000;
  assert.deepEqual(await spool.maintain(), { moved: 2 });
  assert.deepEqual(segments(dir), []);
  assert.ok(existsSync(join(dir, 'queue', `${a.id}.msg`)));
  assert.deepEqual(await spool.readBody(a.id), body);
  await spool.remove(b.id);
  assert.ok(!existsSync(join(dir, 'queue', `${b.id}.msg`)));
  const { spool: again } = await Spool.open(dir);
  assert.deepEqual(again.list().map((m) => m.id), [a.id]);
  assert.equal(again.get(a.id)!.recipients[0]!.status, 'deferred');
});

test('per-message state logs of the earlier layout are still replayed', async (t) => {
  const dir = tempDir(t);
  await Spool.open(dir);
  const id = '0000000000000000004';
  writeOwnFile(dir, id, ['u1@example.com', 'u2@example.com']);
  writeFileSync(join(dir, 'queue', `${id}.state`), `${JSON.stringify({ op: 'rcpt', index: 0, state: { status: 'delivered' }, at: 1 })}\n`);
  const { spool } = await Spool.open(dir);
  assert.equal(spool.get(id)!.recipients[0]!.status, 'delivered');
  assert.equal(spool.get(id)!.recipients[1]!.status, 'queued');
  await spool.remove(id);
  assert.deepEqual(readdirSync(join(dir, 'queue')).filter((n) => n.startsWith(id)), []);
});

test('remove drops the message; control requests round-trip', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const m = await spool.enqueue(env(['u@example.com']), body);
  await spool.update(m.id, [{ op: 'hold' }]);
  await spool.remove(m.id);
  assert.equal(spool.get(m.id), undefined);
  const { spool: again } = await Spool.open(dir);
  assert.equal(again.size, 0);
  await spool.writeControl({ op: 'hold', id: 'X' });
  await spool.writeControl({ op: 'release', id: 'X' });
  assert.deepEqual(await spool.takeControl(), [{ op: 'hold', id: 'X' }, { op: 'release', id: 'X' }]);
  assert.deepEqual(await spool.takeControl(), []);
});

test('concurrent enqueues share directory syncs (group commit)', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  await Promise.all(Array.from({ length: 40 }, () => spool.enqueue(env(['u@example.com']), body)));
  const s = spool.commitStats;
  assert.equal(s.callers, 40);
  assert.ok(s.syncs < 40, `expected batching, got ${s.syncs} syncs for 40 messages`);
  assert.equal(spool.size, 40);
  const { spool: again } = await Spool.open(dir);
  assert.equal(again.size, 40);
});
