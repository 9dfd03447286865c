import { test } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeDn } from '../protocol/ldap/index.js';
import { isUnder, normalizeEntryDn } from './ldap.js';

test('normalizeEntryDn agrees with normalizeDn, plain DNs and escaped ones alike', () => {
  const dns = [
    'uid=l000001,ou=legacy,dc=example,dc=com',
    'UID=Ann.Archer,OU=Legacy,DC=Example,DC=com',
    'mail=ann@example.com,ou=contacts,ou=cloud,dc=example,dc=com',
    'cn=Müller\\, Hans,ou=people,dc=example,dc=com',
    'cn=Joe (contractor)*,ou=people,dc=example,dc=com',
    'cn=\\#1 Support,ou=x,dc=example,dc=com',
    'cn=a+uid=b,ou=x,dc=example,dc=com',
    'cn=trailing\\ ,dc=example,dc=com',
    'cn=hex\\2cvalue,dc=example,dc=com',
    'uid=a, ou=spaced,dc=example,dc=com',
    'cn=a=b,dc=example,dc=com',
    '1.2.3=x,dc=example,dc=com',
    'not a dn',
    '=x,dc=com',
    'uid=x,,dc=com',
    '',
  ];
  for (const dn of dns) assert.equal(normalizeEntryDn(dn), normalizeDn(dn), dn);
});

test('isUnder: at or below the base, whatever the case and escaping', () => {
  assert.equal(isUnder('uid=a,OU=Contacts,ou=legacy,dc=example,dc=com', 'ou=contacts,ou=legacy,dc=example,dc=com'), true);
  assert.equal(isUnder('ou=contacts,ou=legacy,dc=example,dc=com', 'ou=contacts,ou=legacy,dc=example,dc=com'), true);
  assert.equal(isUnder('uid=a,ou=legacy,dc=example,dc=com', 'ou=contacts,ou=legacy,dc=example,dc=com'), false);
  assert.equal(isUnder('uid=a,ou=xcontacts,ou=legacy,dc=example,dc=com', 'ou=contacts,ou=legacy,dc=example,dc=com'), false);
});
