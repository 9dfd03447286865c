import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { ROWS, classify, classifyRow } from './classify.js';
import { CheckErrors, checkFailure, remoteAnswer } from './errors.js';

const ctx = { waitingFor: 'the greeting', timeoutMs: 10_000 };

function nodeError(message: string, code: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { code, ...extra });
}

/** One case per row of the table, in table order: [row name, error, expected code, expected reason]. */
const CASES: Array<[string, unknown, string, string | RegExp]> = [
  ['our deadline fired',
    new MbError(CheckErrors.CHECK_DEADLINE, 'deadline', { details: { waitingFor: 'the bind answer' } }),
    'CHECK_TIMEOUT', 'timed out after 10s waiting for the bind answer'],
  ['a failure the check already worded',
    checkFailure('CHECK_TLS', 'tls is starttls but the EHLO answer does not offer STARTTLS (PIPELINING)'),
    'CHECK_TLS', 'tls is starttls but the EHLO answer does not offer STARTTLS (PIPELINING)'],
  ['IMAP login rejected',
    remoteAnswer({ protocol: 'imap', step: 'LOGIN', status: 'NO [AUTHENTICATIONFAILED]', text: 'Authentication failed.' }),
    'CHECK_AUTH', 'bad credentials (login rejected: NO [AUTHENTICATIONFAILED] Authentication failed.)'],
  ['SMTP authentication rejected (535)',
    remoteAnswer({ protocol: 'smtp', step: 'AUTH', status: 535, text: '5.7.8 Authentication credentials invalid' }),
    'CHECK_AUTH', 'bad credentials (login rejected: 535 5.7.8 Authentication credentials invalid)'],
  ['LDAP invalidCredentials (49)',
    remoteAnswer({ protocol: 'ldap', step: 'bind', status: 49, text: 'Invalid Credentials', subject: 'cn=admin' }),
    'CHECK_AUTH', 'bad credentials (bind rejected: Invalid Credentials, code 49)'],
  ['LDAP insufficientAccessRights (50)',
    remoteAnswer({ protocol: 'ldap', step: 'search base DN', status: 50, text: 'Insufficient access', subject: 'base DN ou=x,dc=y' }),
    'CHECK_AUTH', 'not allowed to read base DN ou=x,dc=y (insufficientAccessRights, code 50)'],
  ['LDAP noSuchObject (32)',
    remoteAnswer({ protocol: 'ldap', step: 'search base DN', status: 32, text: 'No Such Object', subject: 'base DN ou=nope,dc=example,dc=com' }),
    'CHECK_NOT_FOUND', 'base DN ou=nope,dc=example,dc=com not found (noSuchObject, code 32)'],
  ['HTTP 401/403',
    remoteAnswer({ protocol: 'http', step: 'PROPFIND', status: 401, text: 'Unauthorized', subject: 'http://h/' }),
    'CHECK_AUTH', 'bad credentials (PROPFIND answered 401 Unauthorized)'],
  ['HTTP 404/410',
    remoteAnswer({ protocol: 'http', step: 'OPTIONS', status: 404, text: 'Not Found', subject: 'http://h/dav/' }),
    'CHECK_NOT_FOUND', 'http://h/dav/ not found (OPTIONS answered 404 Not Found)'],
  ['any other remote answer',
    remoteAnswer({ protocol: 'smtp', step: 'the greeting', status: 554, text: '5.3.2 too busy' }),
    'CHECK_PROTOCOL', 'unexpected answer to the greeting: "554 5.3.2 too busy"'],
  ['connection refused',
    new TypeError('fetch failed', { cause: nodeError('connect ECONNREFUSED 127.0.0.1:9', 'ECONNREFUSED') }),
    'CHECK_REFUSED', 'connection refused'],
  ['host or network unreachable',
    nodeError('connect EHOSTUNREACH 10.9.9.9:25', 'EHOSTUNREACH'),
    'CHECK_REFUSED', 'host unreachable (EHOSTUNREACH)'],
  ['DNS lookup failed',
    nodeError('getaddrinfo ENOTFOUND mail.nowhere.invalid', 'ENOTFOUND', { hostname: 'mail.nowhere.invalid' }),
    'CHECK_DNS', 'cannot resolve host name mail.nowhere.invalid (ENOTFOUND)'],
  ['TLS failure',
    nodeError('C0E7:error:0A00010B:SSL routines:ssl3_get_record:wrong version number', 'ERR_SSL_WRONG_VERSION_NUMBER'),
    'CHECK_TLS', /^TLS handshake failed: wrong version number \(ERR_SSL_WRONG_VERSION_NUMBER\); the server answered in plain text/],
  ['timed out below us (ETIMEDOUT, library timeouts)',
    new Error('BindRequest: Operation timed out'),
    'CHECK_TIMEOUT', 'timed out after 10s waiting for the greeting'],
  ['connection closed or reset by the server',
    new MbError(CheckErrors.CHECK_CLOSED, 'connection closed by the server'),
    'CHECK_PROTOCOL', 'connection closed by the server while waiting for the greeting'],
  ['file not found',
    nodeError("ENOENT: no such file or directory, open '/x/users.csv'", 'ENOENT'),
    'CHECK_NOT_FOUND', "not found (ENOENT: no such file or directory, open '/x/users.csv')"],
  ['file permission denied',
    nodeError("EACCES: permission denied, open '/x/users.csv'", 'EACCES'),
    'CHECK_AUTH', "permission denied (EACCES: permission denied, open '/x/users.csv')"],
  ['anything else',
    new Error('something odd\non two lines'),
    'CHECK_PROTOCOL', 'something odd on two lines (while waiting for the greeting)'],
];

for (const [row, err, code, reason] of CASES) {
  test(`classify row: ${row}`, () => {
    assert.equal(classifyRow(err), row);
    const got = classify(err, ctx);
    assert.equal(got.code, code);
    if (typeof reason === 'string') assert.equal(got.reason, reason);
    else assert.match(got.reason, reason);
  });
}

test('every row of the table has its case', () => {
  assert.deepEqual(CASES.map((c) => c[0]), ROWS.map((r) => r.name));
});

test('TLS variants: self-signed certificate, socket closed during the handshake', () => {
  const selfSigned = classify(nodeError('self-signed certificate', 'DEPTH_ZERO_SELF_SIGNED_CERT'), ctx);
  assert.equal(selfSigned.code, 'CHECK_TLS');
  assert.match(selfSigned.reason, /self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\); the certificate is not trusted/);
  const closed = classify(nodeError('Client network socket disconnected before secure TLS connection was established', 'ECONNRESET'), ctx);
  assert.equal(closed.code, 'CHECK_TLS'); // not "reset by the server": the TLS row comes first
});

test('refused inside an AggregateError (happy eyeballs) and timeouts from the kernel', () => {
  const agg = Object.assign(new AggregateError([nodeError('connect ECONNREFUSED ::1:25', 'ECONNREFUSED')], 'x'), { code: 'ECONNREFUSED' });
  assert.equal(classify(agg, ctx).code, 'CHECK_REFUSED');
  assert.equal(classify(nodeError('connect ETIMEDOUT 10.0.0.1:25', 'ETIMEDOUT'), { waitingFor: 'the TCP connection', timeoutMs: 2000 }).reason,
    'timed out after 2s waiting for the TCP connection');
});

test('an HTTP 403 is access denied, an IMAP BAD on LOGIN is a protocol error', () => {
  assert.equal(classify(remoteAnswer({ protocol: 'http', step: 'GET', status: 403, text: 'Forbidden' }), ctx).reason,
    'access denied (GET answered 403 Forbidden)');
  assert.equal(classify(remoteAnswer({ protocol: 'imap', step: 'LOGIN', status: 'BAD', text: 'Syntax' }), ctx).code, 'CHECK_PROTOCOL');
});
