import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collapseCrRuns, contentId, copyableFlags, headerBlock, messageId, sameFlags } from './content.js';

test('collapseCrRuns: runs of CR before LF become one CR; lone CR runs stay', () => {
  assert.equal(collapseCrRuns(Buffer.from('a\r\r\nb\r\r\r\nc\r\rd\r\n')).toString(), 'a\r\nb\r\nc\r\rd\r\n');
  const plain = Buffer.from('a\r\nb\r\n');
  assert.equal(collapseCrRuns(plain), plain);
});

test('headerBlock and messageId: folded header, LF or CRLF', () => {
  const m = Buffer.from('Subject: x\r\nMessage-ID:\r\n <abc@x>\r\n\r\nbody\r\n\r\nmore');
  assert.equal(headerBlock(m).toString(), 'Subject: x\r\nMessage-ID:\r\n <abc@x>\r\n\r\n');
  assert.equal(messageId(headerBlock(m)), '<abc@x>');
  assert.equal(messageId(Buffer.from('Subject: y\n\n')), undefined);
  assert.equal(headerBlock(Buffer.from('no body')).toString(), 'no body');
  // Whichever blank line comes first ends the header: a bare-LF one before the CRLF one, or a CRLF one before
  // a bare-LF blank line in the body.
  assert.equal(headerBlock(Buffer.from('A: 1\n\nB: 2\r\n\r\nbody')).toString(), 'A: 1\n\n');
  assert.equal(headerBlock(Buffer.from('A: 1\r\n\r\nbody\n\nmore')).toString(), 'A: 1\r\n\r\n');
  assert.equal(headerBlock(Buffer.from('A: 1\n\r\n\r\nbody')).toString(), 'A: 1\n\r\n\r\n');
});

test('contentId: a CR-normalized copy has the same key and normalized hash', () => {
  const a = contentId(Buffer.from('Message-ID: <1@x>\r\n\r\nx\r\r\ny\r\n'));
  const b = contentId(Buffer.from('Message-ID: <1@x>\r\n\r\nx\r\ny\r\n'));
  assert.notEqual(a.sha256, b.sha256);
  assert.equal(a.normalizedSha256, b.sha256);
  assert.equal(a.key, b.key);
  assert.equal(a.messageId, '<1@x>');
});

test('copyableFlags never keeps \\Recent, drops \\Deleted unless asked', () => {
  assert.deepEqual(copyableFlags(['\\Seen', '\\Recent', '\\Deleted', '$Forwarded']), ['$Forwarded', '\\Seen']);
  assert.deepEqual(copyableFlags(['\\Deleted'], true), ['\\Deleted']);
  assert.ok(sameFlags(['\\Seen', 'a'], ['A', '\\seen']));
  assert.ok(!sameFlags(['\\Seen'], []));
});

test('ContentIndex: packed keys, candidates in insertion order, each taken once, survives growth', async () => {
  const { ContentIndex } = await import('./content.js');
  const ix = new ContentIndex();
  for (let i = 0; i < 1000; i++) ix.add(`k${i % 300}`, i + 1);
  assert.equal(ix.size, 1000);
  assert.deepEqual(ix.candidates('k5'), [6, 306, 606, 906]);
  assert.deepEqual(ix.candidates('nope'), []);
  assert.equal(ix.take('k5'), 6);
  assert.ok(ix.consume('k5', 606));
  assert.ok(!ix.consume('k5', 606), 'an entry is taken once');
  assert.deepEqual(ix.candidates('k5'), [306, 906]);
  ix.add('k5', 2000);
  assert.deepEqual(ix.candidates('k5'), [306, 906, 2000], 'an add after a lookup is found, taken entries stay taken');
  assert.equal(ix.take('k5'), 306);
  assert.equal(ix.take('k5'), 906);
  assert.equal(ix.take('k5'), 2000);
  assert.equal(ix.take('k5'), undefined);
  assert.equal(ix.take('k299'), 300);
});

test('messageId: the same value as the whole-header unfolding it replaced, on odd headers (stored content keys still match)', () => {
  // The implementation before session 7: unfold the whole header, then the first Message-ID line.
  const before = (header: Buffer): string | undefined => {
    const text = header.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
    const v = /^message-id[ \t]*:[ \t]*(.*?)[ \t]*\r?$/im.exec(text)?.[1]?.trim();
    return v ? v : undefined;
  };
  const pieces = ['Message-ID:', 'message-id :', 'MESSAGE-ID:\t', 'Message-Id:', ' <a@x>', '<b@y>', ' ', '\t', '\r\n', '\n', '\r', '\r\n ', '\n\t',
    'Subject: hi', 'X-Message-ID: <z@z>', ' Message-ID: <folded@x>', 'é', '\r\r\n', ':', '<c@z> (comment)'];
  // mulberry32: a small PRNG whose low bits are as random as its high ones.
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  let found = 0;
  for (let i = 0; i < 5000; i++) {
    const parts: string[] = [];
    for (let k = rnd(12) + 1; k > 0; k--) parts.push(pieces[rnd(pieces.length)]!);
    const h = Buffer.from(parts.join(''), 'latin1');
    const want = before(h);
    if (want !== undefined) found++;
    assert.equal(messageId(h), want, JSON.stringify(parts.join('')));
  }
  assert.ok(found > 500, `only ${found} headers had a Message-ID`);
});
