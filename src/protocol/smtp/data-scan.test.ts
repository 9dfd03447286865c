import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { fastFeedDataStream, originalFeedDataStream } from './data-scan.js';

interface Outcome { message: string; commands: string[]; sizeExceeded: boolean; byteLength: number }

/**
 * One DATA phase through a real SMTPStream with the given feed method: the
 * input is written in `chunks`; the outcome is the message bytes the data
 * stream emitted and the command lines that followed the terminator.
 */
async function run(feed: typeof originalFeedDataStream, chunks: Buffer[], maxBytes?: number): Promise<Outcome> {
  const s = new SMTPStream() as unknown as SMTPStream & { _feedDataStream: typeof feed };
  s._feedDataStream = feed;
  const commands: string[] = [];
  s.oncommand = (line: Buffer, cb?: () => void) => { commands.push(line.toString('latin1')); cb?.(); };
  const data = s.startDataMode(maxBytes) as NodeJS.ReadableStream & { byteLength: number; sizeExceeded: boolean };
  const parts: Buffer[] = [];
  data.on('data', (b: Buffer) => parts.push(b));
  const ended = new Promise<void>((r) => data.on('end', () => r()));
  const finished = new Promise<void>((r) => s.on('finish', () => r()));
  let isEnded = false;
  void ended.then(() => { isEnded = true; });
  // Written without waiting: the write holding the terminator completes only after continue().
  for (const c of chunks) s.write(c);
  s.end();
  await Promise.race([ended, finished]);
  await new Promise((r) => setImmediate(r));
  // The session continues once the message is read (as smtp-server does after onData's callback).
  if (isEnded) {
    s.continue();
    await finished;
  }
  return { message: Buffer.concat(parts).toString('latin1'), commands, sizeExceeded: data.sizeExceeded, byteLength: data.byteLength };
}

function splitRandom(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length;) { const n = randomInt(1, 24); out.push(b.subarray(at, at + n)); at += n; }
  return out;
}

const EDGES = [
  '.\r\n', '..\r\n.\r\n', 'a\r\n.\r\n', 'a\r\n..b\r\n.\r\nQUIT\r\n', 'x\n.\r\n.\r\n', 'x\r\n.\n.\r\n', 'a\r.\r\nb\r\n.\r\n',
  'a\r\n..\r\n..\r\n.\r\nNOOP\r\nQUIT\r\n', '\r\n.\r\n', 'a\r\n.b\r\n.\r\n', 'a\n.\nb\r\n.\r\n', 'abc\r\n.\r\nMAIL FROM:<x@y>\r\n',
  '..\r\n.\r\n', '...\r\n.\r\n', 'l1\r\n...\r\n.\r\n',
];
const ALPHABET = ['\r', '\n', '.', 'a', '\r\n', '\r\n.', '\r\n..', 'b'];

test('fast DATA scan: edge cases give the library\'s message and commands, whole and split at every point', async () => {
  for (const e of EDGES) {
    const b = Buffer.from(e, 'latin1');
    const cuts: Buffer[][] = [[b]];
    for (let k = 1; k < b.length; k++) cuts.push([b.subarray(0, k), b.subarray(k)]);
    cuts.push([...b].map((x) => Buffer.from([x])));
    for (const chunks of cuts) {
      const o = await run(originalFeedDataStream, chunks);
      const f = await run(fastFeedDataStream, chunks);
      assert.deepEqual(f, o, `${JSON.stringify(e)} in ${chunks.length} chunks`);
    }
  }
});

test('fast DATA scan: 600 random inputs in random chunks give the library\'s outcome, size limit included', async () => {
  for (let r = 0; r < 600; r++) {
    let s = '';
    const n = randomInt(1, 120);
    while (s.length < n) s += ALPHABET[randomInt(ALPHABET.length)];
    s += r % 3 === 0 ? '' : '\r\n.\r\nQUIT\r\n';
    const chunks = splitRandom(Buffer.from(s, 'latin1'));
    const max = r % 5 === 0 ? 20 : undefined;
    const o = await run(originalFeedDataStream, chunks, max);
    const f = await run(fastFeedDataStream, chunks, max);
    assert.deepEqual(f, o, JSON.stringify(s));
  }
});
