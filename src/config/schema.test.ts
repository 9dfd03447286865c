import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configKeys, configReference } from './index.js';
import { closestKey } from './messages.js';

test('configKeys lists every leaf, with <name> for systems and [] for list items', () => {
  const keys = configKeys();
  for (const k of [
    'organization', 'domains', 'store.sqlite', 'store.postgres', 'systems.<name>.imap.port', 'systems.<name>.imap.admin.mode',
    'systems.<name>.ldap.filter', 'systems.<name>.caldav.home', 'systems.<name>.tlsInsecure', 'gateway.listen[].port',
    'gateway.retry.schedule', 'gateway.routing.overflowSystem', 'migration.folders.rules[].from', 'web.users[].passwordHash',
    'web.freebusy.token', 'directory.conflictWinner', 'probes.mailboxes.<system>.address', 'calendar.maxInstances', 'check.timeout',
  ]) assert.ok(keys.includes(k), k);
  assert.equal(new Set(keys).size, keys.length);
  assert.ok(!keys.includes('systems.<name>.name'), 'derived keys are not settings');
});

test('the reference documents every key with type and default', () => {
  const ref = configReference();
  for (const k of configKeys()) assert.ok(ref.includes(`| \`${k}\` |`), k);
  assert.match(ref, /\| `gateway\.maxMessageSize` \| size \| `25MB` \|/);
  assert.match(ref, /\| `gateway\.retry\.schedule` \| list of duration \| `\[1m, 5m, 15m, 30m, 1h\]` \|/);
  assert.match(ref, /\| `systems\.<name>\.imap\.tls` \| none \\\| starttls \\\| implicit \| `none` \|/);
  assert.match(ref, /\| `migration\.from` \| string \| required \|/);
  assert.match(ref, /\| `store\.sqlite` \| path \| `\.\/var\/mailbridge\.db \(when store is omitted\)` \|/);
});

test('suggestions catch typos, swaps and case, not unrelated words', () => {
  assert.equal(closestKey('listn', ['listen', 'users']), 'listen');
  assert.equal(closestKey('tsl', ['host', 'port', 'tls']), 'tls');
  assert.equal(closestKey('bindDN', ['bindDn', 'baseDn']), 'bindDn');
  assert.equal(closestKey('banana', ['listen', 'users']), undefined);
});
