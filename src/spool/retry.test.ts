import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nextAttemptAt } from './retry.js';

test('the schedule is walked, then its last delay repeats', () => {
  const s = [60_000, 300_000, 900_000];
  assert.equal(nextAttemptAt(s, 1, 0), 60_000);
  assert.equal(nextAttemptAt(s, 2, 0), 300_000);
  assert.equal(nextAttemptAt(s, 3, 10), 900_010);
  assert.equal(nextAttemptAt(s, 9, 0), 900_000);
  assert.equal(nextAttemptAt([], 1, 5), 5);
});
