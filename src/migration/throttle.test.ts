import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { classifyFailure } from './retry.js';
import { ServerLimiter, isThrottle, throttledSide } from './throttle.js';

function clock(): { now: () => number; sleep: (ms: number) => Promise<void>; slept: number[] } {
  let t = 1000;
  const slept: number[] = [];
  return { now: () => t, sleep: async (ms) => { slept.push(ms); t += ms; }, slept };
}

test('isThrottle: server hint, [THROTTLED], [UNAVAILABLE] and BYE slow down; a dropped socket or a refused login does not', () => {
  const answer = (text: string) => classifyFailure(Object.assign(new Error('Command failed'), { responseText: text }));
  assert.equal(isThrottle(answer('NO [THROTTLED] Request is throttled. Suggested Backoff Time: 1200 ms')), true);
  assert.equal(isThrottle(answer('NO [THROTTLED] slow down')), true);
  assert.equal(isThrottle(answer('NO [UNAVAILABLE] Server busy')), true);
  assert.equal(isThrottle(classifyFailure(new Error('* BYE Too many connections'))), true);
  assert.equal(isThrottle(classifyFailure(Object.assign(new Error('Connection not available'), { code: 'NoConnection' }))), false);
  assert.equal(isThrottle(classifyFailure(new MbError('MIGRATION_LOGIN_FAILED', 'refused'))), false);
});

test('ServerLimiter: a throttle halves that server\'s limit (min 1) for the rest of the run, other servers keep theirs', () => {
  const c = clock();
  const l = new ServerLimiter(4, c.now, c.sleep);
  assert.deepEqual(l.throttled('cloud:143', 0), { server: 'cloud:143', from: 4, to: 2, waitMs: 0 });
  assert.equal(l.throttled('cloud:143', 0).to, 1);
  assert.equal(l.throttled('cloud:143', 0).to, 1);
  assert.equal(l.limit('legacy:143'), 4);
});

test('ServerLimiter: acquire waits for a free slot on every server and for the hinted backoff', async () => {
  const c = clock();
  const l = new ServerLimiter(2, c.now, c.sleep);
  const a = await l.acquire(['s', 't']);
  const b = await l.acquire(['t', 's']);
  assert.equal(l.active('t'), 2);
  let third = false;
  const pending = l.acquire(['s', 't']).then((r) => { third = true; return r; });
  await Promise.resolve();
  assert.equal(third, false, 'no slot: waits');
  // The target throttles with a 1500 ms hint: limit 2 -> 1, so releasing one of two slots is not enough.
  l.throttled('t', 1500);
  a();
  await new Promise((r) => setImmediate(r));
  assert.equal(third, false, 'still 1 active of a limit of 1');
  b();
  b(); // idempotent
  const c3 = await pending;
  assert.equal(third, true);
  assert.deepEqual(c.slept, [1500], 'the server\'s hint is honoured before the next session');
  assert.equal(l.active('t'), 1);
  c3();
  assert.equal(l.active('t'), 0);
  assert.equal(l.active('s'), 0);
});

test('throttledSide: opening names its system, APPEND is the target, a BYE on the source session is the source', () => {
  const open = new MbError('MIGRATION_LOGIN_FAILED', 'x', { details: { system: 'legacy' } });
  assert.equal(throttledSide(open, 'legacy', false), 'source');
  assert.equal(throttledSide(new MbError('MIGRATION_IMAP_FAILED', 'APPEND to Sent: NO [THROTTLED]'), 'legacy', true), 'target');
  assert.equal(throttledSide(new Error('* BYE'), 'legacy', true), 'source');
  assert.equal(throttledSide(new Error('NO [UNAVAILABLE]'), 'legacy', false), 'target');
});
