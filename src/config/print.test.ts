import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { resolve } from 'node:path';
import { parse } from 'yaml';
import { loadConfig, parseConfig, printConfig } from './index.js';
import { durationText, sizeText } from './print.js';

const FIXTURE = resolve(import.meta.dirname, '../../test/fixtures/config/mailbridge.yaml');

test('printConfig: effective values, secrets redacted with their origin', () => {
  const cfg = loadConfig(FIXTURE, { CLOUD_MASTER_PW: 'cloud-secret-pw' });
  const out = printConfig(cfg);
  assert.ok(!out.includes('masterpw') && !out.includes('cloud-secret-pw'), out);
  const doc = parse(out) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  assert.equal(doc.systems.legacy.imap.admin.password, '[redacted] (literal)');
  assert.equal(doc.systems.cloud.imap.admin.password, '[redacted] (env:CLOUD_MASTER_PW)');
  assert.equal(doc.systems.legacy.name, undefined, 'derived keys are not printed');
  assert.equal(doc.gateway.maxMessageSize, '25MB');
  assert.deepEqual(doc.gateway.retry, { schedule: ['1m', '5m', '15m', '30m', '1h'], maxAge: '5d', warnAfter: '4h' });
  assert.equal(doc.gateway.hopLimit, 50);
  assert.equal(doc.store.sqlite, resolve(cfg.dir, 'var/mailbridge.db'));
  assert.equal(doc.calendar.windowForward, '60d');
});

test('secrets stay redacted in JSON.stringify, String and inspect', () => {
  const cfg = loadConfig(FIXTURE, { CLOUD_MASTER_PW: 'cloud-secret-pw' });
  for (const text of [JSON.stringify(cfg), inspect(cfg, { depth: null }), String(cfg.systems.legacy!.ldap!.password)]) {
    assert.ok(!text.includes('cloud-secret-pw') && !text.includes('masterpw'), text);
    assert.ok(text.includes('[redacted]'));
  }
});

test('printConfig masks the password of a postgres URL', () => {
  const cfg = parseConfig('organization: T\ndomains: [example.com]\nstore: { postgres: "postgres://mb:s3cret@db.example.com:5432/mb" }\nsystems: { a: {} }\n', 'm.yaml', {});
  const out = printConfig(cfg);
  assert.ok(!out.includes('s3cret'), out);
  assert.match(out, /postgres:\/\/mb:\[redacted\]@db\.example\.com:5432\/mb/);
});

test('printed config reads back to the same effective config', () => {
  const cfg = loadConfig(FIXTURE, { CLOUD_MASTER_PW: 'x' });
  const again = parseConfig(printConfig(cfg), FIXTURE, {});
  const strip = (c: object) => JSON.parse(JSON.stringify(c)) as unknown;
  assert.deepEqual(strip(again), strip(cfg));
});

test('durations and sizes are written back exactly', () => {
  assert.equal(durationText(5_400_000), '1h30m');
  assert.equal(durationText(250), '250ms');
  assert.equal(durationText(1500), '1500ms');
  assert.equal(durationText(0), '0s');
  assert.equal(durationText(30 * 86_400_000), '30d');
  assert.equal(sizeText(25_000_000), '25MB');
  assert.equal(sizeText(524_288), '512KiB');
  assert.equal(sizeText(1_500_000_000), '1500MB');
  assert.equal(sizeText(1234), '1234');
});
