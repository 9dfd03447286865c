/** Unit tests: the console queue's pure parts (query checking, header section, message state). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HELD_REPLY } from '../gateway/index.js';
import type { QueuedMessage, RecipientState } from '../spool/index.js';
import { messageState, parseHeaderSection } from './console-queue.js';
import { parseParams } from './console-params.js';

const SPECS = {
  q: { kind: 'text', max: 5 }, n: { kind: 'int', min: 1, max: 10 }, s: { kind: 'enum', values: ['a', 'b'] },
  d: { kind: 'duration' }, t: { kind: 'time' },
} as const;

test('parseParams: values by kind; empty is absent; unknown, repeated and bad values are errors naming the parameter', () => {
  assert.deepEqual(parseParams({ q: ' ab ', n: '10', s: 'b', d: '1h30m', t: '2026-11-22T15:00:00Z' }, SPECS),
    { ok: true, value: { q: 'ab', n: 10, s: 'b', d: 5_400_000, t: Date.parse('2026-11-22T15:00:00Z') } });
  assert.deepEqual(parseParams({ q: '', n: '' }, SPECS), { ok: true, value: {} });
  assert.deepEqual(parseParams({ t: '1700000000000' }, SPECS), { ok: true, value: { t: 1_700_000_000_000 } });
  assert.deepEqual(parseParams(undefined, SPECS), { ok: true, value: {} });
  const errors: [Record<string, unknown>, RegExp][] = [
    [{ x: '1' }, /^unknown parameter x \(known: q, n, s, d, t\)$/],
    [{ n: ['1', '2'] }, /^n: given more than once$/],
    [{ q: 'abcdef' }, /^q: at most 5 characters$/],
    [{ q: 'a\nb' }, /^q: control characters/],
    [{ n: '11' }, /^n: 11 is out of range \(1 to 10\)$/],
    [{ n: '1.5' }, /^n: "1.5" is not a whole number/],
    [{ n: '99999999999999' }, /^n: .* is not a whole number/],
    [{ s: 'c' }, /^s: "c" is not one of a, b$/],
    [{ d: '5 minutes' }, /^d: "5 minutes" is not a duration/],
    [{ t: 'tomorrow' }, /^t: "tomorrow" is not a time/],
    [{ t: '2026-13-45' }, /^t: "2026-13-45" is not a time/],
  ];
  for (const [q, re] of errors) {
    const r = parseParams(q, SPECS);
    assert.equal(r.ok, false, JSON.stringify(q));
    if (!r.ok) assert.match(r.error, re);
  }
});

test('parseHeaderSection: up to the empty line, folded lines joined, body never read as headers', () => {
  const msg = Buffer.from('Received: from a\r\n by b; Sun, 22 Nov 2026\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nX-Empty:\r\n\r\nNot: a header\r\n');
  assert.deepEqual(parseHeaderSection(msg), {
    fields: [{ name: 'Received', value: 'from a by b; Sun, 22 Nov 2026' }, { name: 'Subject', value: '=?UTF-8?Q?caf=C3=A9?=' }, { name: 'X-Empty', value: '' }],
    truncated: false,
  });
  assert.deepEqual(parseHeaderSection(Buffer.from('A: 1\nB: 2\n\nC: 3\n')).fields.map((f) => f.name), ['A', 'B'], 'bare LF');
  const many = Buffer.from(`${Array.from({ length: 10 }, (_, i) => `H${i}: v`).join('\r\n')}\r\n\r\nbody`);
  assert.deepEqual(parseHeaderSection(many, 1024, 3), { fields: [{ name: 'H0', value: 'v' }, { name: 'H1', value: 'v' }, { name: 'H2', value: 'v' }], truncated: true });
  const huge = Buffer.concat([Buffer.from('Subject: x\r\n'), Buffer.alloc(2000, 'a')]);
  assert.equal(parseHeaderSection(huge, 100).truncated, true);
});

test('messageState: held, then cutover, then deferred, queued, finishing', () => {
  const r = (over: Partial<RecipientState>): RecipientState => ({ status: 'queued', attempts: 0, nextAttempt: 0, updatedAt: 0, ...over });
  const m = (recipients: RecipientState[], held = false): QueuedMessage => ({
    id: 'X', receivedAt: 0, size: 1, held, recipients, envelope: { from: '', recipients: recipients.map((_, i) => ({ address: `u${i}@x` })), source: { kind: 'smtp' } },
  });
  assert.equal(messageState(m([r({ status: 'deferred', attempts: 1 })], true)), 'held');
  assert.equal(messageState(m([r({ lastReply: HELD_REPLY }), r({ status: 'deferred', attempts: 2 })])), 'cutover');
  assert.equal(messageState(m([r({ status: 'delivered' }), r({ status: 'deferred', attempts: 2 })])), 'deferred');
  assert.equal(messageState(m([r({})])), 'queued');
  assert.equal(messageState(m([r({ status: 'delivered', lastReply: HELD_REPLY }), r({ status: 'bounced' })])), 'finishing');
});
