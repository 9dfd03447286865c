import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scheduleDirectorySync, type Timers } from './schedule.js';

function fakeTimers() {
  const pending: { fn: () => void; ms: number; id: number }[] = [];
  let id = 0;
  const timers: Timers = {
    setTimeout: (fn, ms) => { pending.push({ fn, ms, id: ++id }); return id; },
    clearTimeout: (h) => { const i = pending.findIndex((p) => p.id === h); if (i >= 0) pending.splice(i, 1); },
  };
  return { timers, pending, fire: () => pending.shift()!.fn() };
}

const flush = () => new Promise((r) => setImmediate(r));

test('runs first at once, then every interval after the previous run ended; failures do not stop it', async () => {
  const t = fakeTimers();
  let runs = 0;
  let release: () => void = () => undefined;
  const s = scheduleDirectorySync(() => { runs++; return runs === 2 ? Promise.reject(new Error('ldap down')) : new Promise<void>((r) => { release = r; }); }, 900_000, { timers: t.timers });
  assert.deepEqual(t.pending.map((p) => p.ms), [0]);
  t.fire();
  assert.equal(runs, 1);
  assert.equal(t.pending.length, 0, 'no second run is scheduled while one is going');
  release();
  await flush();
  assert.deepEqual(t.pending.map((p) => p.ms), [900_000]);
  t.fire();
  await flush();
  assert.equal(runs, 2);
  assert.deepEqual(t.pending.map((p) => p.ms), [900_000], 'a failed run is followed by the next');
  await s.stop();
  assert.equal(t.pending.length, 0);
});
