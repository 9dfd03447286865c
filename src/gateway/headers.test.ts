import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataGuard } from './data-guard.js';
import { hopHeader, joinMessage, messageParts, routeHash, signedRoutes, splitMessage, splitMessageParts, isInternal, firstValue } from './headers.js';

const guard = (parts: string[], max = 1e6) => {
  const g = new DataGuard(max);
  for (const p of parts) g.push(Buffer.from(p, 'latin1'));
  return g.finish();
};

test('data guard: CRLF text passes, also split across chunks', () => {
  assert.equal(guard(['Subject: a\r', '\n\r\nbody\r\n']), undefined);
});

test('data guard: bare LF, bare CR (also at a chunk end), NUL, long line, size', () => {
  assert.equal(guard(['a\nb\r\n'])?.text, 'Error: bare <LF> received');
  assert.equal(guard(['a\r\n\n.\n\r\n'])?.code, 550);
  assert.equal(guard(['a\rb\r\n'])?.text, 'Error: bare <CR> received');
  assert.equal(guard(['a\r'])?.text, 'Error: bare <CR> received');
  assert.equal(guard(['a\0b\r\n'])?.enhanced, '5.6.0');
  assert.equal(guard([`${'x'.repeat(998)}\r\n`]), undefined);
  assert.equal(guard([`${'x'.repeat(999)}\r\n`])?.text, 'Line too long');
  assert.equal(guard(['abc\r\n'], 3)?.enhanced, '5.3.4');
});

const msg = Buffer.from('Received: from a\r\n\tby b\r\nX-Mailbridge-Hop: x\r\nDKIM-Signature: v=1;\r\n b=abc\r\nMessage-ID: <m@x>\r\n\r\nbody\r\nX-Mailbridge-Not: body\r\n', 'latin1');

test('headers: split keeps bytes; internal headers removed; body untouched', () => {
  const s = splitMessage(msg);
  assert.deepEqual(s.fields.map((f) => f.name), ['received', 'x-mailbridge-hop', 'dkim-signature', 'message-id']);
  assert.deepEqual(joinMessage([], s.fields, s.rest), msg);
  const kept = s.fields.filter((f) => !isInternal(f));
  const out = joinMessage(['Received: by us\r\n'], kept, s.rest).toString('latin1');
  assert.equal(out, 'Received: by us\r\nReceived: from a\r\n\tby b\r\nDKIM-Signature: v=1;\r\n b=abc\r\nMessage-ID: <m@x>\r\n\r\nbody\r\nX-Mailbridge-Not: body\r\n');
  assert.equal(firstValue(s.fields, 'received'), 'from a by b');
});

test('hop headers: only our valid signatures for this Message-ID count', () => {
  const key = Buffer.alloc(32, 7);
  const route = routeHash(key, 'system:legacy');
  const h = hopHeader(key, 'gw1', route, '<m@x>', 1000);
  const fields = splitMessage(Buffer.from(`${h}${h}${hopHeader(Buffer.alloc(32, 8), 'gw1', route, '<m@x>', 1)}\r\n`, 'latin1')).fields;
  assert.deepEqual(signedRoutes(fields, key, '<m@x>'), [route, route]);
  assert.deepEqual(signedRoutes(fields, key, '<other@x>'), []);
});

test('data guard: CRLF split across chunks keeps line lengths; a long line split across chunks is found', () => {
  assert.equal(guard([`${'x'.repeat(500)}`, `${'x'.repeat(498)}\r`, '\nnext\r\n']), undefined);
  assert.equal(guard([`${'x'.repeat(500)}`, `${'x'.repeat(499)}\r\n`])?.text, 'Line too long');
  assert.equal(guard(['ab\r', 'c'])?.text, 'Error: bare <CR> received');
  assert.equal(guard(['ab', '\ncd'])?.text, 'Error: bare <LF> received');
  assert.equal(guard(['ab\r', '\n', '\r\n']), undefined);
});

test('headers over chunks: the same fields and bytes as splitting the joined message, wherever the chunks are cut', () => {
  const msg = Buffer.from('Received: from a\r\n by b\r\nSubject: hi\r\nX-Mailbridge-Hop: x\r\n\r\nbody line\r\n.dot\r\nend\r\n', 'latin1');
  const whole = splitMessage(msg);
  for (let a = 1; a < msg.length; a++) {
    for (const b of [a + 1, a + 7, msg.length - 1]) {
      if (b <= a || b >= msg.length) continue;
      const parts = splitMessageParts([msg.subarray(0, a), msg.subarray(a, b), msg.subarray(b)]);
      assert.deepEqual(parts.fields.map((f) => [f.name, f.raw.toString('latin1')]), whole.fields.map((f) => [f.name, f.raw.toString('latin1')]), `cut at ${a}/${b}`);
      assert.equal(Buffer.concat(parts.rest).toString('latin1'), whole.rest.toString('latin1'), `cut at ${a}/${b}`);
      assert.equal(Buffer.concat(messageParts(['P: 1\r\n'], parts.fields, parts.rest)).toString('latin1'), `P: 1\r\n${msg.toString('latin1')}`);
    }
  }
  // Chunks after the header section are passed on as the same buffers, not copied.
  const body = Buffer.from('x'.repeat(1000));
  const p = splitMessageParts([Buffer.from('Subject: a\r\n\r\n'), body]);
  assert.equal(p.rest.at(-1), body);
  // No empty line at all: everything is joined and split like the whole message.
  const noBlank = [Buffer.from('Subject: a\r\nnot a field\r\n'), Buffer.from('more\r\n')];
  assert.equal(Buffer.concat(splitMessageParts(noBlank).rest).toString(), 'not a field\r\nmore\r\n');
});
