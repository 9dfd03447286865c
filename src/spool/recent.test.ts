import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecentBodies } from './recent.js';

const b = (n: number) => [Buffer.alloc(n)];

test('recent bodies: kept up to the budget, oldest dropped first, deletes free their bytes', () => {
  const r = new RecentBodies(1000);
  r.add('a', b(200), 200);
  r.add('b', b(200), 200);
  r.add('c', b(200), 200);
  assert.equal(r.bytes, 600);
  r.add('d', b(250), 250);
  r.add('e', b(250), 250); // 1,100 > 1,000: 'a' goes
  assert.equal(r.get('a'), undefined);
  assert.ok(r.get('b') && r.get('e'));
  assert.equal(r.bytes, 900);
  r.delete('b');
  r.delete('b');
  assert.equal(r.bytes, 700);
  r.add('c', b(100), 100); // replacing an id does not count it twice
  assert.equal(r.bytes, 600);
  r.add('huge', b(300), 300); // over a quarter of the budget: not kept
  assert.equal(r.get('huge'), undefined);
});
