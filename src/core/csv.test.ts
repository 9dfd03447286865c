import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCsvRecords, parsePeopleCsv, parseMigrationUsersCsv, normalizeAddress, splitAliases } from './csv.js';

test('records: RFC 4180 quotes, quoted newlines, CRLF, BOM, comments, blank lines', () => {
  const r = parseCsvRecords('\uFEFFa,"b, c","say ""hi"""\r\n\r\n# comment\n"multi\nline",x\n');
  assert.ok(r.ok);
  assert.deepEqual(r.records, [
    { line: 1, fields: ['a', 'b, c', 'say "hi"'] },
    { line: 4, fields: ['multi\nline', 'x'] },
  ]);
  const bad = parseCsvRecords('a,"open\n');
  assert.deepEqual(bad, { ok: false, line: 1, reason: 'a quoted field is not closed' });
});

test('people CSV with and without header, aliases by space or semicolon', () => {
  const withHeader = parsePeopleCsv('address,name,aliases\nAnna@Example.com,"Schmidt, Anna",a.s@example.com; anna@example.com\n');
  assert.ok(withHeader.ok);
  assert.equal(withHeader.header, true);
  assert.deepEqual(withHeader.rows, [{ line: 2, address: 'anna@example.com', name: 'Schmidt, Anna', aliases: ['a.s@example.com'] }]);
  const bare = parsePeopleCsv('ben@example.com\nclara@example.com,Clara,c1@example.com c2@example.com\n');
  assert.ok(bare.ok);
  assert.equal(bare.header, false);
  assert.deepEqual(bare.rows.map((r) => [r.address, r.name, r.aliases]), [['ben@example.com', null, []], ['clara@example.com', 'Clara', ['c1@example.com', 'c2@example.com']]]);
});

test('people CSV errors name the line', () => {
  assert.deepEqual(parsePeopleCsv('address\nnot-an-address\n'), { ok: false, line: 2, reason: '"not-an-address" is not an address' });
  assert.deepEqual(parsePeopleCsv('a@example.com\nA@example.com\n'), { ok: false, line: 2, reason: 'a@example.com is listed again (first on line 1)' });
  assert.deepEqual(parsePeopleCsv('a@example.com,A,bad alias\n'), { ok: false, line: 1, reason: 'alias "bad" is not an address' });
  assert.equal(parsePeopleCsv('a@example.com,A,b@example.com,extra\n').ok, false);
});

test('migration users CSV: optional per-side logins', () => {
  const r = parseMigrationUsersCsv('address,source_user,source_password,target_user,target_password\nanna@example.com\nben@example.com,ben,pw1,ben@cloud,pw2\n');
  assert.ok(r.ok);
  assert.deepEqual(r.rows, [
    { line: 2, address: 'anna@example.com' },
    { line: 3, address: 'ben@example.com', sourceUser: 'ben', sourcePassword: 'pw1', targetUser: 'ben@cloud', targetPassword: 'pw2' },
  ]);
  assert.deepEqual(parseMigrationUsersCsv('c@example.com,c\n'), { ok: false, line: 1, reason: 'source_user and source_password go together' });
});

test('address normalization and alias splitting', () => {
  assert.equal(normalizeAddress(' Anna@Example.COM '), 'anna@example.com');
  assert.equal(normalizeAddress('no at sign'), null);
  assert.equal(normalizeAddress('a b@example.com'), null);
  assert.deepEqual(splitAliases(' a@x.com;b@x.com  c@x.com; '), ['a@x.com', 'b@x.com', 'c@x.com']);
});
