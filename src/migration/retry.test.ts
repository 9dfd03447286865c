import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MbError } from '../core/index.js';
import { backoffFor, classifyFailure } from './retry.js';

const rows: [string, unknown, string, string, number | undefined][] = [
  ['server hint', Object.assign(new Error('Command failed'), { responseText: '[THROTTLED] Suggested Backoff Time: 1500 ms' }), 'retry', 'server-backoff-hint', 1500],
  ['throttled', Object.assign(new Error('x'), { responseText: 'NO [THROTTLED] slow down' }), 'retry', 'throttled', 5000],
  ['unavailable', Object.assign(new Error('x'), { responseText: '[UNAVAILABLE] Internal error' }), 'retry', 'unavailable', undefined],
  ['BYE', new Error('* BYE Disconnected for inactivity'), 'retry', 'bye', undefined],
  ['socket', Object.assign(new Error('Connection not available'), { code: 'NoConnection' }), 'retry', 'connection-lost', undefined],
  ['wrapped', new MbError('MIGRATION_IMAP_FAILED', 'APPEND', { retry: 'transient', cause: new Error('connection closed') }), 'retry', 'connection-lost', undefined],
  ['login', new MbError('MIGRATION_LOGIN_FAILED', 'login refused'), 'fail', 'login-refused', undefined],
  ['other', new Error('Mailbox does not exist'), 'fail', 'unclassified', undefined],
];

for (const [name, err, action, rule, ms] of rows) {
  test(`classifyFailure: ${name}`, () => {
    const d = classifyFailure(err);
    assert.equal(d.action, action);
    assert.equal(d.rule, rule);
    assert.equal(d.backoffMs, ms);
  });
}

test('backoffFor: the server hint wins, else exponential and capped', () => {
  assert.equal(backoffFor({ action: 'retry', rule: 'x', backoffMs: 250 }, 5, 1000), 250);
  assert.equal(backoffFor({ action: 'retry', rule: 'x' }, 2, 1000), 4000);
  assert.equal(backoffFor({ action: 'retry', rule: 'x' }, 20, 1000), 60_000);
});
