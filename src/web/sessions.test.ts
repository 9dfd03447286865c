import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionStore, safeEqual } from './sessions.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('a session has a 256-bit id and its own CSRF token', () => {
  const store = new SessionStore({ idleMs: 1000, absoluteMs: 10_000 });
  const a = store.create('admin');
  const b = store.create('admin');
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a.id, 'base64url').length, 32);
  assert.notEqual(a.id, b.id);
  assert.notEqual(a.csrfToken, b.csrfToken);
  assert.notEqual(a.id, a.csrfToken);
  assert.equal(store.get(a.id)?.user, 'admin');
  assert.equal(store.get('nope'), undefined);
  assert.equal(store.get(undefined), undefined);
});

test('idle expiry: activity keeps a session, silence ends it', () => {
  const c = clock();
  const store = new SessionStore({ idleMs: 1000, absoluteMs: 100_000, now: c.now });
  const s = store.create('admin');
  c.t += 900;
  assert.ok(store.get(s.id));
  c.t += 900;
  assert.ok(store.get(s.id), 'touched 900 ms ago');
  c.t += 900;
  assert.ok(store.get(s.id, { touch: false }), 'a look without touching');
  c.t += 200;
  assert.equal(store.get(s.id), undefined, '1100 ms idle');
  assert.equal(store.size, 0);
});

test('absolute expiry ends a session however active it is', () => {
  const c = clock();
  const store = new SessionStore({ idleMs: 1000, absoluteMs: 3000, now: c.now });
  const s = store.create('admin');
  for (let i = 0; i < 5; i++) {
    c.t += 500;
    assert.ok(store.get(s.id));
  }
  c.t += 500;
  assert.equal(store.get(s.id), undefined);
});

test('destroy, and the oldest session goes when the store is full', () => {
  const store = new SessionStore({ idleMs: 1000, absoluteMs: 3000, max: 2 });
  const a = store.create('a');
  const b = store.create('b');
  store.get(a.id);
  const c = store.create('c');
  assert.equal(store.get(b.id), undefined, 'least recently used went');
  assert.ok(store.get(a.id));
  store.destroy(c.id);
  assert.equal(store.get(c.id), undefined);
});

test('safeEqual', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('abc', 'abd'), false);
  assert.equal(safeEqual('abc', 'abcd'), false);
  assert.equal(safeEqual('', 'x'), false);
});
