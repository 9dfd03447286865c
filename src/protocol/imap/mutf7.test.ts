import { seededRandom } from '../../core/index.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeMutf7, encodeMutf7, isValidMutf7 } from './mutf7.js';

const PAIRS: [string, string][] = [
  ['Entwürfe', 'Entw&APw-rfe'],
  ['Проект', '&BB8EQAQ+BDUEOgRC-'],
  ['Gesendete Elemente', 'Gesendete Elemente'],
  ['Éléments envoyés', '&AMk-l&AOk-ments envoy&AOk-s'],
  ['~peter/mail/台北/日本語', '~peter/mail/&U,BTFw-/&ZeVnLIqe-'], // RFC 3501 5.1.3 example
  ['&', '&-'],
  ['&&x&&', '&-&-x&-&-'],
  ['AT&T', 'AT&-T'],
  ['Tom & Jerry', 'Tom &- Jerry'],
  ['C++ notes', 'C++ notes'],
  ['a/b.c', 'a/b.c'],
  ['tietäjä', 'tiet&AOQ-j&AOQ-'],
  ['', ''],
  ['😀', '&2D3eAA-'],
  ['Fun 🎉 & 😀', 'Fun &2DzfiQ- &- &2D3eAA-'],
  ['tab\there', 'tab&AAk-here'],
  ['del\u007f', 'del&AH8-'],
];

test('mutf7: known encodings both ways', () => {
  for (const [utf8, wire] of PAIRS) {
    assert.equal(encodeMutf7(utf8), wire, `encode ${JSON.stringify(utf8)}`);
    assert.deepEqual(decodeMutf7(wire), { ok: true, value: utf8 }, `decode ${wire}`);
  }
});

test('mutf7: a run of non-ASCII characters is one shift sequence, "/" in base64 is ","', () => {
  assert.equal(encodeMutf7('日本語'), '&ZeVnLIqe-');
  assert.equal(encodeMutf7('台北'), '&U,BTFw-');
  assert.ok(!encodeMutf7('台北').includes('/'));
  assert.ok(!encodeMutf7('ÿÿÿ').includes('='));
});

test('mutf7: emoji are surrogate pairs inside one sequence', () => {
  const wire = encodeMutf7('👍🏽');
  assert.equal(wire, '&2D3cTdg83,0-');
  assert.deepEqual(decodeMutf7(wire), { ok: true, value: '👍🏽' });
});

test('mutf7: lone surrogates are encoded as U+FFFD', () => {
  assert.equal(encodeMutf7('a\ud800b'), 'a&,,0-b');
  assert.deepEqual(decodeMutf7('a&,,0-b'), { ok: true, value: 'a\ufffdb' });
});

const MALFORMED: [string, RegExp][] = [
  ['&', /unterminated/],
  ['Entw&APw', /unterminated/],
  ['&Jjo!', /unterminated/],
  ['&Jjo!-', /not a modified base64/],
  ['&AP/-', /not a modified base64/],
  ['&AP=-', /not a modified base64/],
  ['&AGE-', /printable ASCII "a"/], // non-minimal: "a" must represent itself
  ['&ACY-', /printable ASCII "&"/], // "&" must be "&-"
  ['&AAA-', /NUL/],
  ['&AP-', /does not end on a UTF-16/], // 2 chars = 12 bits
  ['&APwA-', /does not end on a UTF-16/], // 4 chars = 24 bits
  ['&APx-', /padding bits/],
  ['&2D0-', /unpaired high surrogate/],
  ['&3gA-', /unpaired low surrogate/],
  ['&2D3YPQ-', /unpaired high surrogate/],
  ['&U,BTFw-&ZeVnLIqe-', /adjacent shift/],
  ['Entwürfe', /outside printable ASCII/],
  ['a\tb', /outside printable ASCII/],
];

test('mutf7: strict decoding rejects malformed input with a reason', () => {
  for (const [wire, why] of MALFORMED) {
    const r = decodeMutf7(wire);
    assert.equal(r.ok, false, `should reject ${JSON.stringify(wire)}`);
    if (!r.ok) assert.match(r.reason, why, wire);
    assert.equal(isValidMutf7(wire), false);
  }
});

test('mutf7: "&-" after a shift sequence is fine (only base64 runs may not be adjacent)', () => {
  assert.deepEqual(decodeMutf7('&AOk-&-'), { ok: true, value: 'é&' });
  assert.equal(encodeMutf7('é&'), '&AOk-&-');
});


const POOLS = [
  () => ' &+-/.,~abcAZ09'.split(''),
  () => ['ä', 'é', 'ß', 'Ω', 'Я', '台', '語', '\u00a0', '\u0001', '\u007f', '\uffff'],
  () => ['😀', '🎉', '👍🏽', '𝄞', '\u{10ffff}'],
];

test('mutf7: round-trip property over 500 generated names', () => {
  const next = seededRandom(20240601);
  for (let n = 0; n < 500; n++) {
    const len = Math.floor(next() * 12);
    let s = '';
    for (let k = 0; k < len; k++) {
      const pool = POOLS[Math.floor(next() * POOLS.length)]!();
      s += pool[Math.floor(next() * pool.length)];
    }
    const wire = encodeMutf7(s);
    assert.match(wire, /^[\x20-\x7e]*$/, `wire of ${JSON.stringify(s)} is printable ASCII`);
    assert.deepEqual(decodeMutf7(wire), { ok: true, value: s }, `round trip of ${JSON.stringify(s)} via ${wire}`);
    assert.equal(encodeMutf7(s), wire, 'encoding is a function');
  }
});
