import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { Secret } from './secret.js';

test('a secret never shows its value unless revealed', () => {
  const s = new Secret('hunter2', 'env', 'env:PW');
  assert.equal(s.reveal(), 'hunter2');
  assert.equal(String(s), '[redacted]');
  assert.equal(`${s}`, '[redacted]');
  assert.equal(JSON.stringify({ password: s }), '{"password":"[redacted]"}');
  assert.ok(!inspect({ s }).includes('hunter2'));
  assert.equal(s.origin, 'env:PW');
});
