import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hashPassword } from '../core/index.js';
import { credentialCheck } from './auth.js';

test('credentialCheck: the right password passes; a wrong one, an unknown name and a bad hash fail', async () => {
  const check = credentialCheck([{ name: 'sub', passwordHash: await hashPassword('s3cret') }, { name: 'odd', passwordHash: 'scrypt$not-a-hash' }]);
  assert.equal(await check('sub', 's3cret'), true);
  assert.equal(await check('sub', 's3cret '), false);
  assert.equal(await check('SUB', 's3cret'), false, 'names are exact');
  assert.equal(await check('nobody', 's3cret'), false);
  assert.equal(await check('odd', 'x'), false);
});
