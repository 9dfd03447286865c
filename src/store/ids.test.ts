import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ID_LENGTH, createIdGenerator, idTime } from './ids.js';

const zeros = (n: number): Uint8Array => new Uint8Array(n);

test('ids: fixed width, lower-case base36, time first', () => {
  const id = createIdGenerator(() => 1_750_000_000_123, zeros)();
  assert.equal(id.length, ID_LENGTH);
  assert.match(id, /^[0-9a-z]+$/);
  assert.equal(idTime(id), 1_750_000_000_123);
  assert.equal(id, '0mbxste2j' + '0000' + '00000000');
});

test('ids: text order is time order, and creation order within one millisecond', () => {
  let t = 5;
  // Random bytes that would sort backwards if the counter did not come first.
  let r = 255;
  const next = createIdGenerator(() => t, (n) => new Uint8Array(n).fill(r--));
  const ids = [next(), next(), next()];
  t = 6;
  ids.push(next());
  t = 36 ** 6; // a wider time value still sorts after: fixed-width padding
  ids.push(next());
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
});

test('ids: unique under a frozen clock with real randomness', () => {
  const next = createIdGenerator(() => 1);
  const ids = new Set(Array.from({ length: 5000 }, () => next()));
  assert.equal(ids.size, 5000);
});
