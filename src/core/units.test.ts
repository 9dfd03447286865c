import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSize, parseDuration, formatDuration } from './units.js';

test('sizes: decimal and binary units', () => {
  assert.deepEqual(parseSize('25MB'), { ok: true, value: 25_000_000 });
  assert.deepEqual(parseSize('512KiB'), { ok: true, value: 524_288 });
  assert.deepEqual(parseSize('1000'), { ok: true, value: 1000 });
  assert.deepEqual(parseSize(2048), { ok: true, value: 2048 });
  assert.deepEqual(parseSize('1.5GB'), { ok: true, value: 1_500_000_000 });
  assert.equal(parseSize('25 parsecs').ok, false);
  assert.equal(parseSize('-1MB').ok, false);
  assert.equal(parseSize(1.5).ok, false);
});

test('durations: single and compound units', () => {
  assert.deepEqual(parseDuration('5d'), { ok: true, value: 432_000_000 });
  assert.deepEqual(parseDuration('30s'), { ok: true, value: 30_000 });
  assert.deepEqual(parseDuration('1h30m'), { ok: true, value: 5_400_000 });
  assert.deepEqual(parseDuration('250ms'), { ok: true, value: 250 });
  assert.deepEqual(parseDuration(10), { ok: true, value: 10_000 });
  assert.equal(parseDuration('5 fortnights').ok, false);
  assert.equal(parseDuration('').ok, false);
  assert.equal(parseDuration('5d junk').ok, false);
});

test('durations format back', () => {
  assert.equal(formatDuration(5_400_000), '1h30m');
  assert.equal(formatDuration(250), '250ms');
});
