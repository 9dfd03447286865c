import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { parseUsersCsv } from './csv.js';

test('CSV with a header, quotes and aliases split by spaces or semicolons', () => {
  const text = 'address,name,aliases\r\n'
    + 'Ann@Example.com,"Müller, Ann",ann.m@example.com; a@example.com\r\n'
    + 'bob@example.com,"Bob ""the"" Builder",\n'
    + '\n'
    + 'carl@example.com\n';
  const people = parseUsersCsv(text, 'legacy', 'users.csv');
  assert.deepEqual(people.map((p) => [p.address, p.displayName, p.aliases]), [
    ['ann@example.com', 'Müller, Ann', ['a@example.com', 'ann.m@example.com']],
    ['bob@example.com', 'Bob "the" Builder', []],
    ['carl@example.com', null, []],
  ]);
  assert.equal(people[0]!.sourceId, 'ann@example.com');
  assert.equal(people[0]!.origins.displayName, 'users.csv:2 column name');
});

test('CSV without a header: the first row is a person', () => {
  const people = parseUsersCsv('x@example.com,X\n', 'cloud', 'u.csv');
  assert.equal(people.length, 1);
  assert.equal(people[0]!.system, 'cloud');
});

test('CSV errors name file and line', () => {
  const bad = (text: string, re: RegExp) => assert.throws(() => parseUsersCsv(text, 's', 'f.csv'), (e: unknown) => {
    assert.ok(MbError.is(e, 'DIRECTORY_SOURCE_INVALID'));
    assert.match(e.message, re);
    return true;
  });
  bad('address,name\nnot-an-address,X\n', /^f\.csv:2: "not-an-address" is not an address/);
  bad('a@example.com,A\na@example.com,B\n', /f\.csv:2: a@example\.com is listed again \(first on line 1\)/);
  bad('a@example.com,A,bad alias\n', /f\.csv:1: alias "bad" is not an address/);
  bad('a@example.com,"A\n', /f\.csv:1: a quoted field is not closed/);
  bad('a@example.com,A,b@example.com,extra\n', /at most 3 fields/);
});

