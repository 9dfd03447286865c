import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { Secret } from '../core/index.js';
import { createLogger, logEvent, createMetrics, redactUrl, redactProtocolLine, EVENTS } from './index.js';

function capture(): { stream: Writable; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({ write(c, _e, cb) { chunks.push(String(c)); cb(); } });
  return { stream, lines: () => chunks.join('').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

test('JSON lines carry the event name and never a password', () => {
  const out = capture();
  const log = createLogger({ destination: out.stream, pretty: false });
  const metrics = createMetrics({ defaults: false });
  logEvent(log, 'check.endpoint.failed', { system: 'legacy', password: 'hunter2', imap: { password: 'x1' }, admin: new Secret('s3cret') }, undefined, metrics);
  const [line] = out.lines();
  assert.equal(line?.event, 'check.endpoint.failed');
  assert.equal(line?.level, 40);
  const text = JSON.stringify(line);
  assert.ok(!text.includes('hunter2') && !text.includes('x1') && !text.includes('s3cret'), text);
});

test('every event is counted by name and level', async () => {
  const metrics = createMetrics({ defaults: false });
  const out = capture();
  const log = createLogger({ destination: out.stream, pretty: false });
  logEvent(log, 'config.loaded', {}, undefined, metrics);
  logEvent(log, 'config.loaded', {}, undefined, metrics);
  const text = await metrics.registry.metrics();
  assert.match(text, /mailbridge_events_total\{event="config.loaded",level="info"\} 2/);
});

test('catalogue names are dotted lower-case', () => {
  for (const name of Object.keys(EVENTS)) assert.match(name, /^[a-z]+(\.[a-z]+)+$/);
});

test('URLs and protocol lines lose their credentials', () => {
  assert.equal(redactUrl('postgres://mb:pw@127.0.0.1:5432/db'), 'postgres://mb:***@127.0.0.1:5432/db');
  assert.equal(redactUrl('ldap://127.0.0.1:389'), 'ldap://127.0.0.1:389');
  assert.equal(redactProtocolLine('AUTH PLAIN AGFsaWNlAHB3'), 'AUTH PLAIN ***');
  assert.equal(redactProtocolLine('a1 LOGIN alice pw'), 'a1 LOGIN ***');
  assert.equal(redactProtocolLine('EHLO client'), 'EHLO client');
});
