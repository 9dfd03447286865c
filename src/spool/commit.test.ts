import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Batcher, DirSync } from './commit.js';

test('callers arriving during a sync share the next one', async () => {
  const releases: (() => void)[] = [];
  const sync = new DirSync('/x', () => new Promise<void>((r) => releases.push(r)));
  const a = sync.sync();
  await Promise.resolve();
  await Promise.resolve();
  assert.equal(releases.length, 1, 'first sync started');
  const b = sync.sync();
  const c = sync.sync();
  assert.equal(b, c, 'b and c share one promise');
  releases[0]!();
  await a;
  await new Promise((r) => setImmediate(r));
  assert.equal(releases.length, 2, 'the second sync starts only after the first');
  releases[1]!();
  await Promise.all([b, c]);
  assert.deepEqual(sync.stats, { syncs: 2, callers: 3 });
});

test('a failed sync rejects its callers, the next one still runs', async () => {
  let n = 0;
  const sync = new DirSync('/x', async () => {
    n++;
    if (n === 1) throw new Error('EIO');
  });
  await assert.rejects(sync.sync(), /EIO/);
  await sync.sync();
  assert.equal(n, 2);
});

test('Batcher: items arriving during a flush share the next one, in order', async () => {
  const flushed: number[][] = [];
  const releases: (() => void)[] = [];
  const b = new Batcher<number>((items) => {
    flushed.push(items);
    return new Promise<void>((r) => releases.push(r));
  });
  const p1 = b.submit(1);
  const p2 = b.submit(2);
  const p3 = b.submit(3);
  assert.deepEqual(flushed, [[1]]);
  releases[0]!();
  await p1;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(flushed, [[1], [2, 3]]);
  releases[1]!();
  await Promise.all([p2, p3]);
  assert.deepEqual(b.stats, { syncs: 2, callers: 3 });
});

test('Batcher: a failed flush rejects only its own batch', async () => {
  let n = 0;
  const b = new Batcher<number>(async () => {
    n++;
    if (n === 1) throw new Error('EIO');
  });
  const first = b.submit(1);
  const second = b.submit(2);
  await assert.rejects(first, /EIO/);
  await second;
});
