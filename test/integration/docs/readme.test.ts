import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { withReference } from '../../../scripts/update-readme.js';
import { configKeys } from '../../../src/config/index.js';

const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');

test('the README configuration reference is the one generated from the schema (npm run docs)', () => {
  assert.equal(readme, withReference(readme));
});

test('every configuration key appears in the README', () => {
  const missing = configKeys().filter((k) => !readme.includes(`\`${k}\``));
  assert.deepEqual(missing, []);
});

test('the README quick start names the demo and test commands', () => {
  assert.match(readme, /npm run demo/);
  assert.match(readme, /npm test/);
});
