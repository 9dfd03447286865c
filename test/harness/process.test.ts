import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from './process.js';

test('freePort never hands out the same port twice in one process', async () => {
  const ports = await Promise.all(Array.from({ length: 200 }, () => freePort()));
  assert.equal(new Set(ports).size, ports.length);
});
