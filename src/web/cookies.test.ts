import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCookies, serializeCookie } from './cookies.js';

test('parseCookies: pairs, spaces, quotes; the first of a repeated name wins', () => {
  const c = parseCookies('a=1; b = two ;c="q";a=again');
  assert.deepEqual([...c], [['a', '1'], ['b', 'two'], ['c', 'q']]);
});

test('parseCookies: malformed pairs are skipped, never thrown', () => {
  assert.deepEqual([...parseCookies('noequals; =v; bad name=x; ok=1; semi=a,b; sp=a b')], [['ok', '1']]);
  assert.equal(parseCookies(undefined).size, 0);
  assert.equal(parseCookies('').size, 0);
  assert.equal(parseCookies(`x=${'a'.repeat(20_000)}`).size, 0, 'oversized header');
});

test('serializeCookie: session cookie flags and deletion', () => {
  assert.equal(serializeCookie('s', 'abc', { httpOnly: true, sameSite: 'Strict', secure: true, maxAge: 3600 }), 's=abc; Path=/; Max-Age=3600; HttpOnly; Secure; SameSite=Strict');
  assert.equal(serializeCookie('s', '', { maxAge: 0 }), 's=; Path=/; Max-Age=0');
  assert.throws(() => serializeCookie('s', 'a;b'));
  assert.throws(() => serializeCookie('s p', 'a'));
});
