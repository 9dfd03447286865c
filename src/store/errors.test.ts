import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { StoreErrors, classifyDbError, wrapDbError } from './errors.js';

function driverError(code: string | undefined, message = 'x'): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

// One row per case: [driver code, message, expected retry class].
const CASES: Array<[string | undefined, string, 'transient' | 'permanent']> = [
  ['SQLITE_BUSY', 'database is locked', 'transient'],
  ['SQLITE_BUSY_SNAPSHOT', 'database is locked', 'transient'],
  ['SQLITE_LOCKED', 'database table is locked', 'transient'],
  ['SQLITE_CONSTRAINT_PRIMARYKEY', 'UNIQUE constraint failed', 'permanent'],
  ['SQLITE_READONLY', 'attempt to write a readonly database', 'permanent'],
  ['SQLITE_CANTOPEN', 'unable to open database file', 'permanent'],
  ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432', 'transient'],
  ['ECONNRESET', 'read ECONNRESET', 'transient'],
  ['ENOTFOUND', 'getaddrinfo ENOTFOUND db.exmaple.com', 'permanent'],
  ['08006', 'connection failure', 'transient'],
  ['57P01', 'terminating connection due to administrator command', 'transient'],
  ['57P03', 'the database system is starting up', 'transient'],
  ['53300', 'sorry, too many clients already', 'transient'],
  ['40001', 'could not serialize access', 'transient'],
  ['40P01', 'deadlock detected', 'transient'],
  ['23505', 'duplicate key value violates unique constraint', 'permanent'],
  ['28P01', 'password authentication failed for user "mb"', 'permanent'],
  ['3D000', 'database "x" does not exist', 'permanent'],
  ['42P01', 'relation "users" does not exist', 'permanent'],
  ['25006', 'cannot execute INSERT in a read-only transaction', 'permanent'],
  [undefined, 'Connection terminated unexpectedly', 'transient'],
  [undefined, 'timeout exceeded when trying to connect', 'transient'],
  [undefined, 'something else', 'permanent'],
];

for (const [code, message, retry] of CASES) {
  test(`classify ${code ?? '(no code)'}: ${message} -> ${retry}`, () => {
    assert.equal(classifyDbError(driverError(code, message)).retry, retry);
  });
}

test('wrapDbError keeps the cause, scrubs secrets, passes MbError through', () => {
  const raw = driverError('28P01', 'auth failed for postgres://mb:hunter2@h/db');
  const err = wrapDbError(raw, StoreErrors.STORE_OPEN_FAILED, 'cannot open', { dialect: 'postgres', secrets: ['hunter2'] });
  assert.ok(MbError.is(err, StoreErrors.STORE_OPEN_FAILED));
  assert.equal(err.cause, raw);
  assert.equal(err.retry, 'permanent');
  assert.deepEqual(err.details, { dialect: 'postgres', dbCode: '28P01' });
  assert.ok(!err.message.includes('hunter2'));
  assert.equal(wrapDbError(err, StoreErrors.STORE_QUERY_FAILED, 'again', { dialect: 'postgres' }), err);
});
