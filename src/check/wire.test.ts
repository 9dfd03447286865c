import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ehloCapabilities, imapCapabilities, imapQuoted, notableImapCapabilities, parseImapStatus, parseSmtpLine, saslPlain,
} from './wire.js';
import { parseLdif, parseUsersCsv } from './users.js';
import { expandFreebusyUrl, displayUrl } from './http.js';

test('SMTP lines and EHLO keywords', () => {
  assert.deepEqual(parseSmtpLine('250-PIPELINING'), { code: 250, more: true, text: 'PIPELINING' });
  assert.deepEqual(parseSmtpLine('220 mx ESMTP'), { code: 220, more: false, text: 'mx ESMTP' });
  assert.deepEqual(parseSmtpLine('250'), { code: 250, more: false, text: '' });
  assert.equal(parseSmtpLine('hello'), null);
  assert.deepEqual(ehloCapabilities({ code: 250, lines: ['mx', 'pipelining', 'SIZE 1000', 'auth PLAIN LOGIN'] }),
    ['PIPELINING', 'SIZE 1000', 'AUTH PLAIN LOGIN']);
});

test('IMAP status lines and capabilities', () => {
  assert.deepEqual(parseImapStatus('c3 NO [AUTHENTICATIONFAILED] Authentication failed.'),
    { tag: 'c3', status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Authentication failed.' });
  assert.deepEqual(parseImapStatus('* OK Dovecot ready.'), { tag: '*', status: 'OK', text: 'Dovecot ready.' });
  assert.equal(parseImapStatus('* 3 EXISTS'), null);
  assert.deepEqual(imapCapabilities('* CAPABILITY IMAP4rev1 UIDPLUS'), ['IMAP4rev1', 'UIDPLUS']);
  assert.deepEqual(imapCapabilities('CAPABILITY IMAP4rev1 ID'), ['IMAP4rev1', 'ID']);
  assert.equal(imapCapabilities('READ-WRITE'), null);
  assert.deepEqual(notableImapCapabilities(['IMAP4rev1', 'ID', 'QRESYNC', 'UIDPLUS', 'APPENDLIMIT=1000', 'LITERAL+']),
    ['IMAP4rev1', 'UIDPLUS', 'QRESYNC', 'LITERAL+', 'APPENDLIMIT=1000']);
});

test('SASL PLAIN and IMAP quoting', () => {
  assert.equal(Buffer.from(saslPlain('bob', 'master', 'pw'), 'base64').toString(), 'bob\0master\0pw');
  assert.equal(imapQuoted('a"b\\c'), '"a\\"b\\\\c"');
  assert.equal(imapQuoted('pässword'), null);
});

test('users CSV: header optional, quoted fields, wrong rows named by line', () => {
  assert.deepEqual(parseUsersCsv('address,name\na@x.com,A\n\nb@x.com,B\n'), { ok: true, value: { rows: 2, header: true, firstAddress: 'a@x.com' } });
  assert.deepEqual(parseUsersCsv('a@x.com,A\r\n'), { ok: true, value: { rows: 1, header: false, firstAddress: 'a@x.com' } });
  assert.deepEqual(parseUsersCsv('a@x.com\nnot-an-address,X\n'), { ok: false, reason: 'line 2: "not-an-address" is not an address' });
  assert.deepEqual(parseUsersCsv('a@x.com,"open\n'), { ok: false, reason: 'line 1: a quoted field is not closed' });
});

test('free/busy templates and URLs without credentials', () => {
  assert.equal(expandFreebusyUrl('http://h/fb/{domain}/{local}.vfb?u={address}', 'a+b@x.com'), 'http://h/fb/x.com/a%2Bb.vfb?u=a%2Bb%40x.com');
  assert.equal(displayUrl('http://user:secret@h:5232/dav/'), 'http://h:5232/dav/');
});

test('LDIF: entries counted, folded lines and comments skipped, a record without dn named', () => {
  assert.deepEqual(parseLdif('version: 1\n# people\ndn: uid=a,dc=x\ncn: A\n description: folded\n\ndn:: dWlkPWIsZGM9eA==\ncn: B\n'), { ok: true, entries: 2 });
  assert.deepEqual(parseLdif('dn: uid=a,dc=x\n\ncn: B\n'), { ok: false, reason: 'line 3: an entry must start with "dn:", found "cn: B"' });
});
