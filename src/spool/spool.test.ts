import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MbError } from '../core/index.js';
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

test('a torn state line is ignored; the changes before it count', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const m = await spool.enqueue(env(['u1@example.com', 'u2@example.com']), body);
  await spool.update(m.id, [{ op: 'rcpt', index: 0, state: { status: 'delivered' } }]);
  appendFileSync(join(dir, 'queue', `${m.id}.state`), '{"op":"rcpt","index":1,"state":{"status":"deliv');
  const { spool: again } = await Spool.open(dir);
  assert.equal(again.get(m.id)!.recipients[0]!.status, 'delivered');
  assert.equal(again.get(m.id)!.recipients[1]!.status, 'queued');
});

test('partial and corrupt files are quarantined and reported, never loaded; tmp files are dropped', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const good = await spool.enqueue(env(['u@example.com']), body);
  const cut = await spool.enqueue(env(['u@example.com']), body);
  const flipped = await spool.enqueue(env(['u@example.com']), body);
  const q = join(dir, 'queue');
  const cutBytes = readFileSync(join(q, `${cut.id}.msg`));
  writeFileSync(join(q, `${cut.id}.msg`), cutBytes.subarray(0, cutBytes.length - 3));
  const fb = readFileSync(join(q, `${flipped.id}.msg`));
  fb[fb.length - 2] = fb[fb.length - 2]! ^ 0x20;
  writeFileSync(join(q, `${flipped.id}.msg`), fb);
  writeFileSync(join(q, 'ZZZZZZZZZZZZZZZZZZZ.msg'), 'garbage');
  writeFileSync(join(dir, 'tmp', 'half.msg'), 'MBQ1 1');

  const { spool: again, quarantined } = await Spool.open(dir);
  assert.deepEqual(again.list().map((m) => m.id), [good.id]);
  const reasons = Object.fromEntries(quarantined.map((x) => [x.file, x.reason]));
  assert.match(reasons[`${cut.id}.msg`]!, /length/);
  assert.match(reasons[`${flipped.id}.msg`]!, /checksum/);
  assert.match(reasons['ZZZZZZZZZZZZZZZZZZZ.msg']!, /framing/);
  assert.ok(existsSync(join(dir, 'quarantine', `${cut.id}.msg`)));
  assert.ok(existsSync(join(dir, 'quarantine', `${cut.id}.reason`)));
  assert.deepEqual(readdirSync(join(dir, 'tmp')), []);
});

test('a write failure is a transient SPOOL_WRITE_FAILED and leaves nothing queued', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir, { writeHook: () => Promise.reject(Object.assign(new Error('no space'), { code: 'ENOSPC' })) });
  await assert.rejects(spool.enqueue(env(['u@example.com']), body), (err: unknown) => MbError.is(err, 'SPOOL_WRITE_FAILED') && err.retry === 'transient');
  assert.equal(spool.size, 0);
  assert.deepEqual(readdirSync(join(dir, 'queue')), []);
});

test('remove drops message and state; control requests round-trip', async (t) => {
  const dir = tempDir(t);
  const { spool } = await Spool.open(dir);
  const m = await spool.enqueue(env(['u@example.com']), body);
  await spool.update(m.id, [{ op: 'hold' }]);
  await spool.remove(m.id);
  assert.deepEqual(readdirSync(join(dir, 'queue')), []);
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
});
