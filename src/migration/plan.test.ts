import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batches } from './copier.js';
import { estimateSeconds, hasLongLine, hasNul } from './plan.js';

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
