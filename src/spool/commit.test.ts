import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DirSync } from './commit.js';

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
