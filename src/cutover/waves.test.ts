/** Unit tests of the wave scheduler (in-memory SQLite, fake clock, the passes faked) and of wave user selection. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../observe/index.js';
import { openStore } from '../store/index.js';
import type { CutoverResult } from './steps.js';
import { WaveScheduler, waveUsers } from './waves.js';

const result = (address: string, status: CutoverResult['status'], heldMs: number | null): CutoverResult => ({
  address, kind: 'cutover', status, recordId: 'r', unreachable: false, heldMs, heldMessages: 2, steps: [], gateway: { live: 1, acked: ['gw'], noneLive: false },
  ...(status === 'done' ? {} : { failedStep: 'delta', error: 'boom' }),
});

test('WaveScheduler: pre-delta pass preDelta before `at`, the cutover at `at`, each once, report stored', async () => {
  let t = 1_000_000;
  const store = await openStore({ sqlite: ':memory:', now: () => t });
  const at = t + 3_600_000;
  const calls: string[] = [];
  const s = new WaveScheduler({
    store, log: silentLogger(), now: () => t,
    waves: [{ name: 'w1', at, preDelta: 600_000, users: ['a@x.com', 'b@x.com'] }, { name: 'unscheduled', preDelta: 0, users: ['c@x.com'] }],
    resolveUsers: async (w) => [...(w.users ?? [])],
    preDelta: async (u) => { calls.push(`pre ${u.join(',')}`); return { ok: u.length, failed: 0 }; },
    cutover: async (u, wave) => { calls.push(`cut ${wave} ${u.join(',')}`); return [result('a@x.com', 'done', 1500), result('b@x.com', 'rolled-back', 800)]; },
  });
  await s.runDue();
  assert.deepEqual(calls, [], 'too early for anything');
  t = at - 600_000;
  await s.runDue();
  await s.runDue();
  assert.deepEqual(calls, ['pre a@x.com,b@x.com'], 'the pre-cutover delta pass, once');
  t = at;
  const [report] = await s.runDue();
  assert.deepEqual(await s.runDue(), [], 'a wave is cut over once');
  assert.deepEqual(calls, ['pre a@x.com,b@x.com', 'cut w1 a@x.com,b@x.com']);
  assert.deepEqual(report?.done, ['a@x.com']);
  assert.equal(report?.failed[0]?.address, 'b@x.com');
  assert.equal(report?.heldMessages, 4);
  assert.deepEqual(report?.heldMs, { max: 1500, avg: 1150, total: 2300 });
  const [stored] = await store.cutover.waves();
  assert.equal(stored?.status, 'failed');
  assert.equal((stored?.report as { done: string[] }).done.length, 1);
  await store.close();
});

test('waveUsers: a list, a CSV column, a directory attribute', async () => {
  const store = await openStore({ sqlite: ':memory:' });
  await store.users.upsert({ address: 'a@x.com', homeSystem: 'legacy', attributes: { department: 'Finance' } });
  await store.users.upsert({ address: 'b@x.com', homeSystem: 'legacy', attributes: { department: ['it', 'finance'] } });
  await store.users.upsert({ address: 'c@x.com', homeSystem: 'legacy', attributes: { department: 'sales' } });
  assert.deepEqual(await waveUsers({ name: 'w', preDelta: 0, users: ['A@x.com', 'a@x.com'] }, store), ['a@x.com']);
  assert.deepEqual(await waveUsers({ name: 'finance', preDelta: 0, attribute: { name: 'department' } }, store), ['a@x.com', 'b@x.com']);
  const file = join(mkdtempSync(join(tmpdir(), 'mb-wave-')), 'w.csv');
  writeFileSync(file, 'address,wave\na@x.com,1\nb@x.com,2\nc@x.com,1\n');
  assert.deepEqual(await waveUsers({ name: 'x', preDelta: 0, csvColumn: { file, column: 'wave', value: '1' } }, store), ['a@x.com', 'c@x.com']);
  await assert.rejects(waveUsers({ name: 'x', preDelta: 0, csvColumn: { file, column: 'nope' } }, store), /no column "nope"/);
  await store.close();
});
