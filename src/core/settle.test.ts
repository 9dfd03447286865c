import { test } from 'node:test';
import assert from 'node:assert/strict';
import { settleAll } from './settle.js';

test('settleAll: the values in order; on failure the first failure, only after every promise settled', async () => {
  assert.deepEqual(await settleAll([Promise.resolve(1), Promise.resolve('a')] as const), [1, 'a']);
  let lateDone = false;
  const late = new Promise<void>((r) => setTimeout(() => { lateDone = true; r(); }, 20));
  await assert.rejects(settleAll([Promise.reject(new Error('first')), late, Promise.reject(new Error('second'))]), /first/);
  assert.equal(lateDone, true, 'the slow one had settled before the failure was thrown');
});
