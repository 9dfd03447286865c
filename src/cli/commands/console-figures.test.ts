import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateEta } from './console-figures.js';

test('ETA: users without a first pass, at the mean pass time, over the workers; unknown without data', () => {
  assert.equal(estimateEta({ synced: 2, verified: 1, failed: 1 }, 10, 60_000, 2), 7 * 60_000 / 2);
  assert.equal(estimateEta({ synced: 10 }, 10, 60_000, 4), 0);
  assert.equal(estimateEta({}, 10, null, 4), null);
  assert.equal(estimateEta({ synced: 1 }, null, 1000, 4), null);
});
