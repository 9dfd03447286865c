import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';
import { installFastDotStuffing, originalTransform, stuffChunk, type StuffState } from './dot-stuff.js';

/** nodemailer's original encoder over `chunks`, without the final dot (that is _flush, unchanged). */
function original(chunks: Buffer[]): Buffer {
  const out: Buffer[] = [];
  const self = { lastByte: false as number | false, inByteCount: 0, outByteCount: 0, push: (b: Buffer) => out.push(b) };
  for (const c of chunks) originalTransform.call(self, c, 'buffer', () => undefined);
  return Buffer.concat(out);
}

function fast(chunks: Buffer[]): { bytes: Buffer; state: StuffState } {
  const state: StuffState = { lastByte: false, inByteCount: 0, outByteCount: 0 };
  const bytes = Buffer.concat(chunks.filter((c) => c.length).map((c) => stuffChunk(state, c)));
  return { bytes, state };
}

const EDGES = [
  '', '.', '..', '\r', '\n', '\r\n', '.\r\n', 'a\r\n.b\r\n', 'a\n.b', 'a\r.b', 'a\r\r\n', '\n\n\r\r', 'x\r\n.\r\n.\r\n',
  '\r.\r', '.\n.\r.\r\n.', 'no line end at all', 'ends with cr\r', 'ends with lf\n', '\r\n\r\n..\r\n',
];
const ALPHABET = ['\r', '\n', '.', 'a', ' ', '\r\n', '\r\n.'];

function randomText(n: number): Buffer {
  let s = '';
  while (s.length < n) s += ALPHABET[randomInt(ALPHABET.length)];
  return Buffer.from(s, 'latin1');
}

test('fast dot-stuffing gives nodemailer\'s bytes for edge cases, whole and split at every position', () => {
  for (const e of EDGES) {
    const b = Buffer.from(e, 'latin1');
    assert.deepEqual(fast([b]).bytes, original([b]), JSON.stringify(e));
    for (let k = 0; k <= b.length; k++) {
      const parts = [b.subarray(0, k), b.subarray(k)];
      assert.deepEqual(fast(parts).bytes, original(parts), `${JSON.stringify(e)} split at ${k}`);
    }
  }
});

test('fast dot-stuffing gives nodemailer\'s bytes and counts for 2,000 random messages in random chunks', () => {
  for (let r = 0; r < 2000; r++) {
    const b = randomText(randomInt(1, 400));
    const chunks: Buffer[] = [];
    for (let at = 0; at < b.length;) { const n = randomInt(1, 40); chunks.push(b.subarray(at, at + n)); at += n; }
    const f = fast(chunks);
    const o = original(chunks);
    assert.deepEqual(f.bytes, o);
    assert.equal(f.state.inByteCount, b.length);
    assert.equal(f.state.outByteCount, o.length);
  }
});

test('a clean CRLF message without leading dots passes through as the same buffer (no copy)', () => {
  const b = Buffer.from('Subject: x\r\n\r\nhello\r\nworld\r\n');
  const state: StuffState = { lastByte: false, inByteCount: 0, outByteCount: 0 };
  assert.equal(stuffChunk(state, b), b);
});

test('installed, a real DataStream encodes through the fast step, final dot included', async () => {
  installFastDotStuffing();
  const ds = new DataStream();
  const out: Buffer[] = [];
  ds.on('data', (b: Buffer) => out.push(b));
  const done = new Promise((r) => ds.on('end', r));
  ds.write(Buffer.from('.a\r\nb\n.c\r'));
  ds.end(Buffer.from('.d'));
  await done;
  assert.equal(Buffer.concat(out).toString('latin1'), '..a\r\nb\r\n..c\r\n..d\r\n.\r\n');
  assert.equal(ds.inByteCount, 11);
});
