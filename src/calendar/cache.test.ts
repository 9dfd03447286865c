import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AnswerCache } from './cache.js';

function clock() {
  let t = 1_000;
  return { now: () => t, advance: (ms: number) => { t += ms; } };
}

describe('AnswerCache', () => {
  it('serves fresh within ttl, stale with one background refresh, then misses', async () => {
    const c = clock();
    const errors: unknown[] = [];
    const cache = new AnswerCache<number>({ ttl: 100, staleFor: 100, maxEntries: 10, now: c.now, onRefreshError: (_k, e) => errors.push(e) });
    let loads = 0;
    const load = async () => ++loads;
    assert.deepEqual(await cache.get('k', load), { value: 1, state: 'miss' });
    c.advance(99);
    assert.deepEqual(await cache.get('k', load), { value: 1, state: 'fresh' });
    c.advance(1);
    assert.deepEqual(await cache.get('k', load), { value: 1, state: 'stale' });
    assert.deepEqual(await cache.get('k', load), { value: 1, state: 'stale' });
    await new Promise((r) => setImmediate(r));
    assert.equal(loads, 2, 'one refresh for two stale reads');
    assert.deepEqual(await cache.get('k', load), { value: 2, state: 'fresh' });
    c.advance(200);
    assert.deepEqual(await cache.get('k', load), { value: 3, state: 'miss' });
    assert.deepEqual(errors, []);
  });

  it('keeps the stale value when a refresh fails and never caches failures', async () => {
    const c = clock();
    const errors: unknown[] = [];
    const cache = new AnswerCache<string>({ ttl: 10, staleFor: 10, maxEntries: 10, now: c.now, onRefreshError: (_k, e) => errors.push(e) });
    await cache.get('k', async () => 'old');
    c.advance(15);
    assert.equal((await cache.get('k', async () => { throw new Error('down'); })).value, 'old');
    await new Promise((r) => setImmediate(r));
    assert.equal(errors.length, 1);
    await assert.rejects(cache.get('x', () => Promise.reject(new Error('down'))));
    assert.equal((await cache.get('x', async () => 'up')).state, 'miss');
  });

  it('shares one load between concurrent misses, even a load that throws synchronously', async () => {
    const cache = new AnswerCache<number>({ ttl: 10, staleFor: 0, maxEntries: 10, now: () => 0 });
    let loads = 0;
    const slow = () => new Promise<number>((r) => setImmediate(() => r(++loads)));
    const [a, b] = await Promise.all([cache.get('k', slow), cache.get('k', slow)]);
    assert.equal(a.value, 1);
    assert.equal(b.value, 1);
    await assert.rejects(cache.get('s', () => { throw new Error('sync'); }));
    assert.equal((await cache.get('s', async () => 7)).value, 7);
  });

  it('evicts the least recently used entry and caches nothing with ttl 0', async () => {
    const cache = new AnswerCache<number>({ ttl: 10, staleFor: 0, maxEntries: 2, now: () => 0 });
    await cache.get('a', async () => 1);
    await cache.get('b', async () => 2);
    await cache.get('a', async () => 0);
    await cache.get('c', async () => 3);
    assert.equal((await cache.get('a', async () => 9)).state, 'fresh');
    assert.equal((await cache.get('b', async () => 9)).state, 'miss');
    const none = new AnswerCache<number>({ ttl: 0, staleFor: 0, maxEntries: 2, now: () => 0 });
    await none.get('a', async () => 1);
    assert.equal(none.size, 0);
  });
});
