/**
 * Content identity of a message, for reconciliation, crash recovery and verify.
 * Pure: bytes in, strings out.
 *
 * - sha256: of the exact RFC 5322 bytes.
 * - collapseCrRuns: Dovecot collapses a run of CR before LF when it saves
 *   ("x\r\r\n" is stored shorter, DESIGN.md interop facts); comparing collapsed
 *   forms tells "normalized by the target" from a real difference.
 * - contentKey: Message-ID + size + a hash of the header block, all over the
 *   collapsed bytes, so a source message and its (normalized) copy get one key.
 */
import { createHash } from 'node:crypto';

export function sha256(buf: Uint8Array): string {
  return createHash('sha256').update(buf).digest('hex');
}

const CR = 0x0d;
const LF = 0x0a;

/** Replaces every run of two or more CR directly before an LF by one CR. */
export function collapseCrRuns(buf: Buffer): Buffer {
  if (buf.indexOf('\r\r') < 0) return buf;
  const out = Buffer.allocUnsafe(buf.length);
  let o = 0;
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === CR) {
      let j = i;
      while (j < buf.length && buf[j] === CR) j++;
      if (j < buf.length && buf[j] === LF) {
        out[o++] = CR;
      } else {
        buf.copy(out, o, i, j);
        o += j - i;
      }
      i = j - 1;
    } else {
      out[o++] = buf[i]!;
    }
  }
  return out.subarray(0, o);
}

/** The header block including the blank line that ends it (all of it when there is no body). */
export function headerBlock(buf: Buffer): Buffer {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  const candidates = [crlf >= 0 ? crlf + 4 : -1, lf >= 0 ? lf + 2 : -1].filter((n) => n >= 0);
  return candidates.length === 0 ? buf : buf.subarray(0, Math.min(...candidates));
}

/** The Message-ID header's value (unfolded, trimmed), or undefined. */
export function messageId(header: Buffer): string | undefined {
  const text = header.toString('latin1').replace(/\r?\n[ \t]+/g, ' ');
  const m = /^message-id[ \t]*:[ \t]*(.*?)[ \t]*\r?$/im.exec(text);
  const v = m?.[1]?.trim();
  return v ? v : undefined;
}

export interface ContentId {
  sha256: string;
  /** sha256 of the CR-collapsed bytes (equal to sha256 when there is no CR run). */
  normalizedSha256: string;
  key: string;
  messageId?: string;
  size: number;
}

export function contentKeyOf(collapsedSize: number, header: Buffer, mid: string | undefined): string {
  return `${mid ?? ''}|${collapsedSize}|${sha256(header).slice(0, 32)}`;
}

export function contentId(buf: Buffer): ContentId {
  const collapsed = collapseCrRuns(buf);
  const header = headerBlock(collapsed);
  const mid = messageId(header);
  const s = sha256(buf);
  return {
    sha256: s,
    normalizedSha256: collapsed === buf ? s : sha256(collapsed),
    key: contentKeyOf(collapsed.length, header, mid),
    ...(mid ? { messageId: mid } : {}),
    size: buf.length,
  };
}

/** Flags to copy: never \Recent (RFC 3501 2.3.2: the server sets it), \Deleted only when asked. */
export function copyableFlags(flags: Iterable<string>, keepDeleted = false): string[] {
  return [...flags].filter((f) => {
    const l = f.toLowerCase();
    return l !== '\\recent' && (keepDeleted || l !== '\\deleted');
  }).sort();
}

export function sameFlags(a: readonly string[], b: readonly string[]): boolean {
  const na = a.map((f) => f.toLowerCase()).sort();
  const nb = b.map((f) => f.toLowerCase()).sort();
  return na.length === nb.length && na.every((f, i) => f === nb[i]);
}
