/**
 * A faster DATA reader for smtp-server's SMTPStream. In data mode smtp-server
 * looks for "<LF>." (the end of data, or a stuffed dot to remove) by testing
 * every byte in JavaScript; for 500 KB messages that was about a tenth of the
 * gateway's CPU (bench/gateway profile). Here the same positions are found
 * with Buffer.indexOf("\n.") (native memmem), and at each one exactly the
 * library's rules apply: the same end-of-data test (CRLF.CRLF only: the
 * smuggling rules live there), the same removal of a stuffed dot, the same
 * bytes kept back for the next chunk, the same back-pressure. data-scan.test.ts
 * feeds random and adversarial input, split at random points, through both the
 * library's original method and this one and compares everything that comes
 * out (message bytes, where the data ended, what was left for command mode).
 *
 * `installFastDataScan()` replaces SMTPStream.prototype._feedDataStream once
 * per process; `originalFeedDataStream` keeps the library's own for the test.
 */
import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';

const END_SEQUENCE = Buffer.from('\r\n.\r\n');
const LF_DOT = Buffer.from('\n.');

/** The members of smtp-server's (internal) SMTPStream this method uses. */
interface StreamInternals {
  _dataStream: NodeJS.WritableStream & { writable: boolean; destroyed: boolean; write(b: Buffer): boolean };
  _lastBytes: Buffer | false;
  _atDataStart: boolean;
  _countDataBytes(len: number): void;
  _endDataMode(chunk: Buffer | false, remainder: Buffer, done: (err?: Error) => void): void;
  _feedDataStream(chunk: Buffer, done: (err?: Error) => void): void;
}

type Feed = (this: StreamInternals, chunk: Buffer, done: (err?: Error) => void) => void;
const proto = SMTPStream.prototype as unknown as { _feedDataStream: Feed };
export const originalFeedDataStream: Feed = proto._feedDataStream;

export function fastFeedDataStream(this: StreamInternals, input: Buffer, done: (err?: Error) => void): void {
  const dataStream = this._dataStream;
  let chunk = input;
  if (this._lastBytes && this._lastBytes.length) {
    chunk = Buffer.concat([this._lastBytes, chunk], this._lastBytes.length + chunk.length);
    this._lastBytes = false;
  }
  let len = chunk.length;
  // The data starts with the terminator: an empty message.
  if (this._atDataStart && len >= 3 && chunk[0] === 0x2e && chunk[1] === 0x0d && chunk[2] === 0x0a) {
    this._endDataMode(false, chunk.subarray(3), done);
    return;
  }
  // A stuffed dot on the first line.
  if (this._atDataStart && len >= 2 && chunk[0] === 0x2e && chunk[1] === 0x2e) {
    chunk = chunk.subarray(1);
    len--;
    this._atDataStart = false;
  }
  // Every dot i after an LF with 2 <= i < len - 2, in order (the library's loop bounds).
  for (let k = chunk.indexOf(LF_DOT, 1); k >= 0 && k + 1 < len - 2; k = chunk.indexOf(LF_DOT, k + 1)) {
    const i = k + 1;
    if (Buffer.compare(chunk.subarray(i - 2, i + 3), END_SEQUENCE) === 0) {
      const buf = chunk.subarray(0, i);
      this._countDataBytes(buf.length);
      this._endDataMode(buf, chunk.subarray(i + 3), done);
      return;
    }
    if (chunk[i + 1] === 0x2e) {
      const buf = chunk.subarray(0, i);
      this._lastBytes = false;
      this._countDataBytes(buf.length);
      if (dataStream.writable) dataStream.write(buf);
      const rest = chunk.subarray(i + 1);
      setImmediate(() => this._feedDataStream(rest, done));
      return;
    }
  }
  // Keep the last 4 bytes: a terminator may straddle this chunk and the next.
  this._lastBytes = chunk.length < 4 ? chunk : chunk.subarray(chunk.length - 4);
  if (this._lastBytes.length >= chunk.length) { done(); return; }
  const buf = chunk.subarray(0, chunk.length - this._lastBytes.length);
  this._countDataBytes(buf.length);
  if (!dataStream.writable) { done(); return; }
  if (dataStream.write(buf) || dataStream.destroyed) { done(); return; }
  const onDrain = (): void => {
    dataStream.removeListener('drain', onDrain);
    dataStream.removeListener('close', onDrain);
    done();
  };
  dataStream.once('drain', onDrain);
  dataStream.once('close', onDrain);
}

export function installFastDataScan(): void {
  proto._feedDataStream = fastFeedDataStream;
}
