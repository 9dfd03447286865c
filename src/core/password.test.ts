import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword, verifyPassword, PASSWORD_HASH_PATTERN } from './password.js';

test('hash and verify', async () => {
  const h = await hashPassword('correct horse');
  assert.match(h, PASSWORD_HASH_PATTERN);
  assert.equal(await verifyPassword('correct horse', h), true);
  assert.equal(await verifyPassword('wrong horse', h), false);
  assert.equal(await verifyPassword('x', 'plain'), false);
  assert.notEqual(await hashPassword('correct horse'), h, 'salted');
});
