/** Unit test of the target STATUS asked at a pass's start (a fake STATUS function; no server). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefetchStatus } from './connections.js';

test('prefetchStatus: every target folder asked once, at once; each answer given once; refused ones left to the lane', async () => {
  const asked: string[] = [];
  let inFlight = 0;
  let most = 0;
  const take = await prefetchStatus(async (wire) => {
    asked.push(wire);
    most = Math.max(most, ++inFlight);
    await new Promise((r) => setTimeout(r, 2));
    inFlight--;
    return wire === 'Gone' ? undefined : { exists: wire.length, uidValidity: 7 };
  }, ['INBOX', 'Sent', 'Sent', 'Gone']);
  assert.deepEqual(asked, ['INBOX', 'Sent', 'Gone'], 'a target folder two sources merge into is asked once');
  assert.equal(most, 3, 'pipelined: all in flight together');
  assert.deepEqual(take('Sent'), { exists: 4, uidValidity: 7 });
  // The second source folder merged into Sent asks again on its lane: the first one's messages are there by then.
  assert.equal(take('Sent'), undefined);
  assert.equal(take('Gone'), undefined);
  assert.equal(take('Never asked'), undefined);
  assert.deepEqual(take('INBOX'), { exists: 5, uidValidity: 7 });
});

test('prefetchStatus: a lost connection fails the pass', async () => {
  await assert.rejects(prefetchStatus(async () => { throw new Error('STATUS: connection lost'); }, ['INBOX']), /connection lost/);
});
