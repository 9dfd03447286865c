/**
 * Unit test of the packed hash table a full verify keeps for the quick verify
 * (verify.ts HashTable): lookups by UID whatever the insertion order, across
 * growth, digests and sizes returned exactly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HashTable } from './verify.js';

const hex = (s: string) => createHash('sha256').update(s).digest('hex');

test('HashTable: packed SHA-256s found by UID, inserted out of order, past several growths', () => {
  const t = new HashTable();
  const uids = Array.from({ length: 3000 }, (_, i) => (i * 7919) % 3001 + 1);
  for (const u of uids) t.set(u, { sha: hex(`s${u}`), norm: hex(`n${u}`), size: u * 3 });
  assert.equal(t.size, 3000);
  for (const u of [uids[0]!, uids[1500]!, uids[2999]!, 1, 3001]) {
    if (!uids.includes(u)) continue;
    assert.deepEqual(t.get(u), { sha: hex(`s${u}`), norm: hex(`n${u}`), size: u * 3 });
  }
  const missing = [...Array(3002).keys()].slice(1).find((u) => !uids.includes(u))!;
  assert.equal(t.get(missing), undefined);
  assert.equal(t.get(0), undefined);
  assert.equal(t.get(99_999), undefined);
  t.set(50_000, { sha: hex('late'), norm: hex('late'), size: 1 });
  assert.equal(t.get(50_000)?.sha, hex('late'), 'an entry added after a lookup is found');
});

test('HashTable: a CR-collapsed digest that differs is kept; sizes round-trip', () => {
  const t = new HashTable();
  t.set(7, { sha: hex('a'), norm: hex('b'), size: 4_000_000_000 });
  t.set(3, { sha: hex('c'), norm: hex('c'), size: 0 });
  assert.deepEqual(t.get(7), { sha: hex('a'), norm: hex('b'), size: 4_000_000_000 });
  assert.deepEqual(t.get(3), { sha: hex('c'), norm: hex('c'), size: 0 });
  assert.ok(t.bytes < 256 * 40 + 200);
});

test('expandSet: an ESEARCH ALL sequence-set to ascending UIDs (ranges either way round)', async () => {
  const { expandSet } = await import('./imap-parse.js');
  assert.deepEqual([...expandSet('1:3,7,12:9,20')], [1, 2, 3, 7, 9, 10, 11, 12, 20]);
  assert.deepEqual([...expandSet('')], []);
  assert.equal(expandSet('1:100000').length, 100000);
  assert.throws(() => expandSet('1:3;4'), /not a sequence-set/);
});
