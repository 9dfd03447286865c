import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { parseUsersCsv } from './users.js';

test('users CSV: header optional, logins optional, quoted fields', () => {
  const withHeader = parseUsersCsv('address,source_user,source_password,target_user,target_password\nAlice@Example.com,alice,"p,w",alice2,"q""x"\nbob@example.com\n');
  assert.deepEqual(withHeader.map((u) => u.address), ['alice@example.com', 'bob@example.com']);
  assert.equal(withHeader[0]!.source?.user, 'alice');
  assert.equal(withHeader[0]!.source?.password.reveal(), 'p,w');
  assert.equal(withHeader[0]!.target?.password.reveal(), 'q"x');
  assert.equal(String(withHeader[0]!.source?.password), '[redacted]');
  assert.equal(withHeader[1]!.source, undefined);
  assert.deepEqual(parseUsersCsv('carol@example.com\r\n# comment\r\n\r\n').map((u) => u.address), ['carol@example.com']);
});

test('users CSV: a bad line names the file and line (not an address, listed twice, half a login)', () => {
  const fails = (text: string, re: RegExp) => assert.throws(() => parseUsersCsv(text, 'u.csv'),
    (e: unknown) => MbError.is(e, 'MIGRATION_USERS_INVALID') && re.test(e.message));
  fails('ok@example.com\nnot-an-address\n', /^u\.csv:2: "not-an-address" is not an address/);
  fails('ok@example.com\nOK@example.com\n', /^u\.csv:2: ok@example\.com is listed again/);
  fails('ok@example.com,user\n', /^u\.csv:1: source_user and source_password go together/);
});
