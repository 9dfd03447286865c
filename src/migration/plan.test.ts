import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batches } from './copier.js';
import { estimateSeconds, hasLongLine, hasNul, pickSample } from './plan.js';

test('hasLongLine: over 998 octets without CRLF (RFC 5322 2.1.1), LF or CRLF ends', () => {
  assert.equal(hasLongLine(Buffer.from(`${'a'.repeat(998)}\r\nb\r\n`)), false);
  assert.equal(hasLongLine(Buffer.from(`x\n${'a'.repeat(999)}\n`)), true);
  assert.equal(hasLongLine(Buffer.from('a'.repeat(999))), true);
  assert.equal(hasNul(Buffer.from('a\0b')), true);
});

test('estimateSeconds: scales the slower of per-message and per-byte time, doubled', () => {
  assert.equal(estimateSeconds({ messages: 10, bytes: 10_000, ms: 100, nulBytes: 0, longLines: 0 }, 100, 10_000), 2);
  assert.equal(estimateSeconds({ messages: 10, bytes: 10_000, ms: 100, nulBytes: 0, longLines: 0 }, 10, 1_000_000), 20);
  assert.equal(estimateSeconds({ messages: 0, bytes: 0, ms: 0, nulBytes: 0, longLines: 0 }, 0, 0), 0);
  assert.equal(estimateSeconds({ messages: 0, bytes: 0, ms: 0, nulBytes: 0, longLines: 0 }, 5, 5), null);
});

test('batches: bounded in count and bytes; a large message is a batch of its own', () => {
  const m = (uid: number, size: number) => ({ uid, size, flags: [] });
  const b = batches([m(1, 10), m(2, 10), m(3, 100), m(4, 10), m(5, 10), m(6, 10)], 2, 50);
  assert.deepEqual(b.map((x) => x.map((y) => y.uid)), [[1, 2], [3], [4, 5], [6]]);
});

test('pickSample: the newest messages that fit the byte budget, in UID order; the smallest alone when none fits', () => {
  const MB = 1024 * 1024;
  const sizes = new Map([[1, 1 * MB], [2, 30 * MB], [3, 5 * MB], [4, 10 * MB], [5, 8 * MB]]);
  assert.deepEqual(pickSample([1, 2, 3, 4, 5], sizes, 20 * MB), [1, 4, 5], '8 + 10 fit, 5 would not, the 30 MB one never, 1 still does');
  assert.deepEqual(pickSample([2, 4], sizes, 5 * MB), [4], 'nothing fits: the smallest one, so the estimate has a measurement');
  assert.deepEqual(pickSample([7, 3], sizes, 20 * MB), [3], 'a UID gone since the inventory is left out');
  assert.deepEqual(pickSample([], sizes), []);
});
