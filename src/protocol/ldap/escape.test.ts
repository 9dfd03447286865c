import { test } from 'node:test';
import assert from 'node:assert/strict';
import { escapeFilterValue, eqFilter, escapeDnValue, parseDn, normalizeDn } from './escape.js';

test('RFC 4515: filter metacharacters are hex-escaped', () => {
  assert.equal(escapeFilterValue('Joe (contractor)*'), 'Joe \\28contractor\\29\\2a');
  assert.equal(escapeFilterValue('a\\b'), 'a\\5cb');
  assert.equal(escapeFilterValue('nul\u0000byte'), 'nul\\00byte');
  assert.equal(escapeFilterValue('Müller, Hans'), 'Müller, Hans');
  assert.equal(eqFilter('mail', '*)(uid=*'), '(mail=\\2a\\29\\28uid=\\2a)');
});

test('eqFilter refuses an attribute that could inject', () => {
  assert.throws(() => eqFilter('mail)(uid', 'x'), RangeError);
  assert.equal(eqFilter('2.5.4.3', 'x'), '(2.5.4.3=x)');
});

test('RFC 4514: DN values escaped', () => {
  assert.equal(escapeDnValue('Müller, Hans'), 'Müller\\, Hans');
  assert.equal(escapeDnValue('#1 Support'), '\\#1 Support');
  assert.equal(escapeDnValue(' padded '), '\\ padded\\ ');
  assert.equal(escapeDnValue('a+b;c<d>"e"\\'), 'a\\+b\\;c\\<d\\>\\"e\\"\\\\');
  assert.equal(escapeDnValue('mid # ok'), 'mid # ok');
});

test('DN parse undoes both escape forms and round-trips', () => {
  const dn = `cn=${escapeDnValue('Müller, Hans')},ou=legacy,dc=example,dc=com`;
  assert.deepEqual(parseDn(dn)?.[0], { attr: 'cn', value: 'Müller, Hans' });
  assert.deepEqual(parseDn('cn=a\\2cb,dc=x')?.[0], { attr: 'cn', value: 'a,b' });
  assert.deepEqual(parseDn('cn=M\\C3\\BCller,dc=x')?.[0], { attr: 'cn', value: 'Müller' });
  for (const v of ['#1 Support', ' trailing ', 'Joe (contractor)*', 'a+b', 'x\\y']) {
    assert.equal(parseDn(`cn=${escapeDnValue(v)},dc=x`)?.[0]?.value, v);
  }
  assert.equal(parseDn('no equals sign'), null);
  assert.equal(parseDn('cn=dangling\\'), null);
});

test('multi-valued RDNs and normalization', () => {
  const r = parseDn('cn=A+uid=b,dc=x');
  assert.deepEqual(r, [{ attr: 'cn', value: 'A' }, { attr: 'uid', value: 'b', multi: true }, { attr: 'dc', value: 'x' }]);
  assert.equal(normalizeDn('CN=Hans\\2c Peter, DC=Example'), normalizeDn('cn=hans\\, peter,dc=example'));
});
