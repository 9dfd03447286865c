import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseOrcpt, xtextDecode, xtextEncode } from './xtext.js';

test('xtext: encode, decode, round trip (RFC 3461 4)', () => {
  assert.equal(xtextEncode('user+x=y@example.com'), 'user+2Bx+3Dy@example.com');
  assert.equal(xtextEncode('a b'), 'a+20b');
  assert.equal(xtextEncode('é'), '+C3+A9');
  assert.equal(xtextDecode('user+2Bx@example.com'), 'user+x@example.com');
  assert.equal(xtextDecode('+c3+a9'), 'é');
  assert.equal(xtextDecode('bad+2'), undefined);
  assert.equal(xtextDecode('bad+ZZ'), undefined);
  assert.equal(xtextDecode('a b'), undefined);
  for (const s of ['plain', 'a+b=c d', 'ünïcödé', '+++']) assert.equal(xtextDecode(xtextEncode(s)), s);
});

test('parseOrcpt', () => {
  assert.deepEqual(parseOrcpt('rfc822;user+2Bx@example.com'), { type: 'rfc822', address: 'user+x@example.com' });
  assert.deepEqual(parseOrcpt('RFC822; a@b.c'), { type: 'rfc822', address: 'a@b.c' });
  assert.deepEqual(parseOrcpt('utf-8;j\\x{F6}rg@example.com'), { type: 'utf-8', address: 'jörg@example.com' });
  assert.equal(parseOrcpt('user@example.com'), undefined);
  assert.equal(parseOrcpt(';a@b.c'), undefined);
  assert.equal(parseOrcpt('rfc822;'), undefined);
  assert.equal(parseOrcpt('rfc822;a+zz'), undefined);
});
