/**
 * The header section of a message as bytes: split into fields (each with its
 * continuation lines and CRLF, untouched), counted, filtered and prepended to.
 * Everything not removed passes byte for byte, so DKIM signatures survive.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface HeaderField {
  /** Lower-case name. */
  name: string;
  /** The exact bytes, CRLF and continuation lines included. */
  raw: Buffer;
}

export interface SplitMessage {
  fields: HeaderField[];
  /** From the empty line that ends the header section (inclusive) to the end. */
  rest: Buffer;
}

export function splitMessage(msg: Buffer): SplitMessage {
  const fields: HeaderField[] = [];
  let pos = 0;
  while (pos < msg.length) {
    if (msg[pos] === 0x0d && msg[pos + 1] === 0x0a) break; // the empty line
    let end = msg.indexOf('\r\n', pos, 'latin1');
    while (end >= 0 && (msg[end + 2] === 0x20 || msg[end + 2] === 0x09)) end = msg.indexOf('\r\n', end + 2, 'latin1');
    const stop = end < 0 ? msg.length : end + 2;
    const raw = msg.subarray(pos, stop);
    const colon = raw.indexOf(0x3a);
    // A line without a colon is not a header field: the body started without an empty line.
    if (colon <= 0) break;
    fields.push({ name: raw.subarray(0, colon).toString('latin1').trim().toLowerCase(), raw });
    pos = stop;
  }
  return { fields, rest: msg.subarray(pos) };
}

/** A message's header fields and the rest, the rest as parts (nothing copied past the header section). */
export interface SplitParts {
  fields: HeaderField[];
  rest: Buffer[];
}

const BLANK_LINE = Buffer.from('\r\n\r\n');

/**
 * splitMessage over a message held as chunks (as it arrived): only the
 * chunks up to the one where the header section ends are joined; the body's
 * chunks are passed on as they are. A 500 KB message was otherwise copied
 * whole once more just to read its first few hundred bytes.
 */
export function splitMessageParts(chunks: readonly Buffer[]): SplitParts {
  let head = chunks[0] ?? Buffer.alloc(0);
  let used = 1;
  // Join until the empty line that ends the header section is inside (every field before it is then whole).
  while (used < chunks.length && head.indexOf(BLANK_LINE) < 0) head = Buffer.concat([head, chunks[used++]!]);
  const split = splitMessage(head);
  return { fields: split.fields, rest: [split.rest, ...chunks.slice(used)] };
}

export function joinMessage(prepend: string[], fields: HeaderField[], rest: Buffer): Buffer {
  return Buffer.concat(messageParts(prepend, fields, [rest]));
}

/** The same message as parts (views into the original, nothing copied): for the spool, which writes them as they are. */
export function messageParts(prepend: string[], fields: HeaderField[], rest: readonly Buffer[]): Buffer[] {
  return [Buffer.from(prepend.join(''), 'utf8'), ...fields.map((f) => f.raw), ...rest];
}

/** The unfolded value of a field. */
export function fieldValue(f: HeaderField): string {
  const s = f.raw.toString('utf8');
  return s.slice(s.indexOf(':') + 1).replace(/\r\n[ \t]/g, ' ').trim();
}

export function firstValue(fields: HeaderField[], name: string): string | undefined {
  const f = fields.find((x) => x.name === name);
  return f ? fieldValue(f) : undefined;
}

/** Our internal headers; mail from untrusted sources loses them. */
export const INTERNAL_PREFIX = 'x-mailbridge-';
export const HOP_HEADER = 'X-Mailbridge-Hop';

export function isInternal(f: HeaderField): boolean {
  return f.name.startsWith(INTERNAL_PREFIX);
}

/** The header value of a hop: node, route (a hash of the destination), time, and an HMAC over them and the Message-ID. */
export function hopHeader(key: Buffer, node: string, route: string, messageId: string, at: number): string {
  const sig = createHmac('sha256', key).update(`${node}|${route}|${at}|${messageId}`).digest('hex').slice(0, 32);
  return `${HOP_HEADER}: ${node}; route=${route}; t=${at}; sig=${sig}\r\n`;
}

/** The routes of the hop headers that carry a valid signature by `key` for this Message-ID. */
export function signedRoutes(fields: HeaderField[], key: Buffer, messageId: string): string[] {
  const out: string[] = [];
  for (const f of fields) {
    if (f.name !== HOP_HEADER.toLowerCase()) continue;
    const m = /^([^;\s]+);\s*route=([0-9a-f]+);\s*t=(\d+);\s*sig=([0-9a-f]{32})$/.exec(fieldValue(f));
    if (!m) continue;
    const want = createHmac('sha256', key).update(`${m[1]}|${m[2]}|${m[3]}|${messageId}`).digest('hex').slice(0, 32);
    if (timingSafeEqual(Buffer.from(want), Buffer.from(m[4]!))) out.push(m[2]!);
  }
  return out;
}

export function routeHash(key: Buffer, destination: string): string {
  return createHmac('sha256', key).update(`route|${destination}`).digest('hex').slice(0, 16);
}
