/**
 * The message file: one line of framing, the envelope as JSON, then the
 * message bytes exactly as they will be delivered.
 *
 *   MBQ1 <envelope length> <body length> <sha256 of envelope+body, hex>\n
 *   <envelope JSON>\n
 *   <body bytes>
 *
 * The lengths and the checksum let a restart tell a complete file from one a
 * crash (or a damaged disk) cut short: such a file is never delivered half.
 */
import { createHash } from 'node:crypto';
import type { SpoolEnvelope } from './types.js';

const MAGIC = 'MBQ1';

export interface MessageFile {
  id: string;
  receivedAt: number;
  envelope: SpoolEnvelope;
  body: Buffer;
}

interface StoredHeader {
  id: string;
  receivedAt: number;
  envelope: SpoolEnvelope;
}

export function encodeMessageFile(m: MessageFile): Buffer {
  return Buffer.concat(encodeMessageParts({ ...m, body: [m.body] }));
}

const NL = Buffer.from('\n');

/** The same file as its parts (framing, envelope, newline, the body's own buffers), nothing copied. */
export function encodeMessageParts(m: Omit<MessageFile, 'body'> & { body: readonly Buffer[] }): Buffer[] {
  const head = Buffer.from(JSON.stringify({ id: m.id, receivedAt: m.receivedAt, envelope: m.envelope } satisfies StoredHeader), 'utf8');
  const hash = createHash('sha256').update(head);
  let bodyLength = 0;
  for (const b of m.body) { hash.update(b); bodyLength += b.length; }
  const frame = Buffer.from(`${MAGIC} ${head.length} ${bodyLength} ${hash.digest('hex')}\n`, 'latin1');
  return [frame, head, NL, ...m.body];
}

export type DecodeResult = { ok: true; file: MessageFile; bodyOffset: number } | { ok: false; reason: string };

/** Checks framing, lengths and checksum; `verify: false` skips the checksum (listing a large queue). */
export function decodeMessageFile(buf: Buffer, opts: { verify?: boolean } = {}): DecodeResult {
  const nl = buf.indexOf(0x0a);
  if (nl < 0 || nl > 200) return { ok: false, reason: 'no framing line' };
  const m = /^MBQ1 (\d+) (\d+) ([0-9a-f]{64})$/.exec(buf.subarray(0, nl).toString('latin1'));
  if (!m) return { ok: false, reason: 'bad framing line' };
  const headLen = Number(m[1]);
  const bodyLen = Number(m[2]);
  const start = nl + 1;
  if (buf.length !== start + headLen + 1 + bodyLen) {
    return { ok: false, reason: `length ${buf.length} does not match the framing (${start + headLen + 1 + bodyLen})` };
  }
  const head = buf.subarray(start, start + headLen);
  const bodyOffset = start + headLen + 1;
  const body = buf.subarray(bodyOffset);
  if (opts.verify !== false) {
    const sum = createHash('sha256').update(head).update(body).digest('hex');
    if (sum !== m[3]) return { ok: false, reason: 'checksum mismatch' };
  }
  let parsed: StoredHeader;
  try {
    parsed = JSON.parse(head.toString('utf8')) as StoredHeader;
  } catch {
    return { ok: false, reason: 'envelope is not JSON' };
  }
  if (typeof parsed.id !== 'string' || typeof parsed.receivedAt !== 'number' || !Array.isArray(parsed.envelope?.recipients)) {
    return { ok: false, reason: 'envelope lacks id, receivedAt or recipients' };
  }
  return { ok: true, file: { id: parsed.id, receivedAt: parsed.receivedAt, envelope: parsed.envelope, body }, bodyOffset };
}

/** Queue ids: time-ordered, printable, safe as file names and inside replies. */
export function newQueueId(now: number, random: Buffer): string {
  return `${now.toString(36).toUpperCase().padStart(9, '0')}${random.toString('hex').toUpperCase().slice(0, 10)}`;
}

export const QUEUE_ID = /^[0-9A-Z]{19}$/;
