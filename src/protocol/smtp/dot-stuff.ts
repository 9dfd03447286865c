/**
 * A faster transform step for nodemailer's DataStream (the DATA encoder of its
 * SMTPConnection: dots stuffed at line starts, bare CR and bare LF turned into
 * CRLF). nodemailer looks at every byte in JavaScript; for a 500 KB message
 * that was a quarter of the gateway's CPU (bench/gateway, 500 x 500 KB).
 *
 * Only three kinds of position can need an insertion: just after a CR, at an
 * LF, and just after an LF (and the first byte of the stream). We find CRs and
 * LFs with Buffer.indexOf (native) and apply nodemailer's own rule at exactly
 * those positions, so the output is the same byte for byte; dot-stuff.test.ts
 * checks that against nodemailer's original on random and edge-case input,
 * split at every chunk boundary.
 *
 * `installFastDotStuffing()` replaces DataStream.prototype._transform once per
 * process; the original stays reachable for the test.
 */
import DataStream from 'nodemailer/lib/smtp-connection/data-stream.js';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const INSERT_LF = Buffer.from('\n');
const INSERT_LF_DOT = Buffer.from('\n.');
const INSERT_CR = Buffer.from('\r');
const INSERT_DOT = Buffer.from('.');

/** The state nodemailer's DataStream keeps between chunks. */
export interface StuffState { lastByte: number | false; inByteCount: number; outByteCount: number }

/** What nodemailer inserts before position i (prev is the byte before it in the stream, false at its start). */
function insertAt(byte: number, prev: number | false): Buffer | undefined {
  if (prev === CR && byte !== LF) return byte === DOT ? INSERT_LF_DOT : INSERT_LF;
  if (byte === LF && prev !== CR) return INSERT_CR;
  if (byte === DOT && (prev === LF || prev === false)) return INSERT_DOT;
  return undefined;
}

/** One chunk through the encoder: the bytes to send (the chunk itself when nothing changes). */
export function stuffChunk(state: StuffState, chunk: Buffer): Buffer {
  const len = chunk.length;
  state.inByteCount += len;
  const parts: Buffer[] = [];
  let out = 0;
  let lastPos = 0;
  let last = -1;
  const consider = (i: number): void => {
    if (i <= last || i >= len) return;
    last = i;
    const ins = insertAt(chunk[i]!, i ? chunk[i - 1]! : state.lastByte);
    if (!ins) return;
    if (i > lastPos) { parts.push(chunk.subarray(lastPos, i)); out += i - lastPos; }
    parts.push(ins);
    out += ins.length;
    lastPos = i;
  };
  consider(0);
  let cr = chunk.indexOf(CR);
  let lf = chunk.indexOf(LF);
  while (cr >= 0 || lf >= 0) {
    if (lf >= 0 && (cr < 0 || lf < cr)) {
      consider(lf);
      consider(lf + 1);
      lf = chunk.indexOf(LF, lf + 1);
    } else {
      consider(cr + 1);
      cr = chunk.indexOf(CR, cr + 1);
    }
  }
  state.lastByte = chunk[len - 1]!;
  if (parts.length === 0) {
    state.outByteCount += len;
    return chunk;
  }
  if (lastPos < len) { parts.push(chunk.subarray(lastPos)); out += len - lastPos; }
  state.outByteCount += out;
  return Buffer.concat(parts, out);
}

type Transform = (this: StuffState & { push(b: Buffer): void }, chunk: Buffer | string, enc: string, done: () => void) => void;
const proto = DataStream.prototype as unknown as { _transform: Transform };
/** nodemailer's own step, kept for the equivalence test. */
export const originalTransform: Transform = proto._transform;

function fastTransform(this: StuffState & { push(b: Buffer): void }, chunk: Buffer | string, _enc: string, done: () => void): void {
  if (!chunk || !chunk.length) { done(); return; }
  this.push(stuffChunk(this, typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
  done();
}

export function installFastDotStuffing(): void {
  proto._transform = fastTransform;
}
