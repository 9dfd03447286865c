import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeMap, mapEntry, parseProxyAddresses, requestedAttributes } from './mapping.js';

test('inetOrgPerson defaults: mail, mailLocalAddress aliases, displayName falls back to cn', () => {
  const map = attributeMap('openldap');
  const r = mapEntry('legacy', 'uid=a,dc=x', {
    dn: 'uid=a,dc=x',
    attributes: {
      mail: ['Ann@Example.com'], mailLocalAddress: ['ann@example.com', 'ANN.M@example.com'], cn: ['Ann M'],
      sn: ['M'], title: ['Boss'], departmentNumber: ['42'], modifyTimestamp: ['20260101000000Z'],
    },
  }, map);
  assert.ok(r.ok);
  assert.equal(r.person.address, 'ann@example.com');
  assert.deepEqual(r.person.aliases, ['ann.m@example.com']);
  assert.equal(r.person.displayName, 'Ann M');
  assert.deepEqual(r.person.attributes, { sn: 'M', title: 'Boss', department: '42' });
  assert.equal(r.person.origins.displayName, 'cn');
  assert.equal(r.person.origins.aliases, 'mailLocalAddress', 'only attributes that gave an alias are named');
  assert.equal(r.person.origins.department, 'departmentNumber');
  assert.equal(r.person.changeMark, '20260101000000Z');
});

test('AD: proxyAddresses SMTP: is primary, smtp: aliases, other types ignored, uSNChanged', () => {
  const map = attributeMap('ad');
  const r = mapEntry('cloud', 'cn=b', {
    dn: 'cn=b',
    attributes: {
      mail: ['bob@example.com'], displayName: ['Bob'], uSNChanged: ['12345'],
      proxyAddresses: ['smtp:bobby@example.com', 'SMTP:Bob@Example.com', 'X500:/o=Org/cn=bob', 'sip:bob@example.com'],
    },
  }, map);
  assert.ok(r.ok);
  assert.equal(r.person.address, 'bob@example.com');
  assert.deepEqual(r.person.aliases, ['bobby@example.com']);
  assert.equal(r.person.origins.address, 'proxyAddresses (SMTP:)');
  assert.equal(r.person.changeMark, '12345');
  assert.deepEqual(parseProxyAddresses(['smtp:a@x.y', 'SMTP:b@x.y', 'SMTP:c@x.y']), { primary: 'b@x.y', others: ['a@x.y', 'c@x.y'] });
});

test('overrides replace a field, keep fallbacks as a list, and change the requested attributes', () => {
  const map = attributeMap('openldap', { mail: 'rfc822Mailbox', displayName: 'gecos,cn' });
  assert.deepEqual(map.mail, ['rfc822Mailbox']);
  assert.ok(requestedAttributes(map).includes('gecos'));
  const r = mapEntry('s', 'x', { dn: 'x', attributes: { rfc822mailbox: ['c@example.com'], cn: ['C'] } }, map);
  assert.ok(r.ok && r.person.address === 'c@example.com' && r.person.displayName === 'C');
});

test('no usable address: skipped with a reason; the hash ignores attribute order and change marks', () => {
  const map = attributeMap();
  const none = mapEntry('s', 'x', { dn: 'x', attributes: { cn: ['Nobody'] } }, map);
  assert.deepEqual(none, { ok: false, dn: 'x', reason: 'no mail address' });
  const a = mapEntry('s', 'x', { dn: 'x', attributes: { mail: ['a@x.y'], sn: ['S'], title: ['T'], modifyTimestamp: ['1'] } }, map);
  const b = mapEntry('s', 'x', { dn: 'x', attributes: { title: ['T'], SN: ['S'], MAIL: ['A@X.Y'], modifyTimestamp: ['2'] } }, map);
  assert.ok(a.ok && b.ok);
  assert.equal(a.person.contentHash, b.person.contentHash);
});
