import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { parseLdif } from './ldif.js';

test('LDIF: version, comments, folding, base64, multi-values, changetype add', () => {
  const text = [
    'version: 1',
    '# a comment',
    ' folded into the comment',
    'dn: cn=M\\C3\\BCller\\2C Hans,ou=p,dc=x',
    'objectClass: person',
    'cn:: ' + Buffer.from('Müller, Hans').toString('base64'),
    'proxyAddresses: SMTP:hans@example.com',
    'proxyAddresses: smtp:hm@exa',
    ' mple.com',
    '',
    '',
    'dn: cn=b,dc=x',
    'changetype: add',
    'mail: b@example.com',
    '',
  ].join('\n');
  const e = parseLdif(text, 'f.ldif');
  assert.equal(e.length, 2);
  assert.equal(e[0]!.dn, 'cn=M\\C3\\BCller\\2C Hans,ou=p,dc=x');
  assert.deepEqual(e[0]!.attributes.cn, ['Müller, Hans']);
  assert.deepEqual(e[0]!.attributes.proxyAddresses, ['SMTP:hans@example.com', 'smtp:hm@example.com']);
  assert.deepEqual(e[1]!.attributes, { mail: ['b@example.com'] });
});

test('LDIF errors name file and line', () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => parseLdif(text, 'f.ldif'), (e: unknown) => {
    assert.ok(MbError.is(e, 'DIRECTORY_SOURCE_INVALID'));
    assert.match(e.message, re);
    return true;
  });
  bad('mail: a@b\n', /f\.ldif:1: a record must start with dn:/);
  bad('dn: cn=a\nchangetype: delete\n', /f\.ldif:2: changetype delete/);
  bad('dn: cn=a\njpegPhoto:< file:///etc/passwd\n', /f\.ldif:2: jpegPhoto: values by URL/);
  bad('dn: cn=a\n???\n', /f\.ldif:2: not an LDIF line/);
});
