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
import * as crypto from 'node:crypto';

/**
 * SHA-256 in hex. crypto.hash (Node >= 20.12) hashes in one call without a Hash object: two per copied message
 * (the bytes, the header block), and the object and its finalizer cost more than the hashing of a small message.
 */
export const sha256: (buf: Uint8Array) => string = typeof crypto.hash === 'function'
  ? (buf) => crypto.hash('sha256', buf, 'hex')
  : (buf) => crypto.createHash('sha256').update(buf).digest('hex');

const sha256Bytes: (data: string) => Buffer = typeof crypto.hash === 'function'
  ? (data) => crypto.hash('sha256', data, 'buffer')
  : (data) => crypto.createHash('sha256').update(data).digest();

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
  // A bare-LF blank line only counts when it ends before the CRLF one: search no further (not the whole body).
  const lf = (crlf >= 0 ? buf.subarray(0, crlf + 3) : buf).indexOf('\n\n');
  const candidates = [crlf >= 0 ? crlf + 4 : -1, lf >= 0 ? lf + 2 : -1].filter((n) => n >= 0);
  return candidates.length === 0 ? buf : buf.subarray(0, Math.min(...candidates));
}

/** The first Message-ID field: its name at a line's start, its value with the continuation lines (which begin with WSP). */
const MESSAGE_ID_FIELD = /^message-id[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)/im;

/**
 * The Message-ID header's value (unfolded, trimmed), or undefined. Only the field's own lines are unfolded, not
 * the whole header; the value is then read as before that change (up to the first CR or LF left, as JavaScript's
 * "." and multiline "$" have it), so content keys stored by earlier versions still match (content.test.ts).
 */
export function messageId(header: Buffer): string | undefined {
  const m = MESSAGE_ID_FIELD.exec(header.toString('latin1'));
  if (!m) return undefined;
  const v = /^[ \t]*(.*?)[ \t]*\r?$/m.exec(m[1]!.replace(/\r?\n[ \t]+/g, ' '))?.[1]?.trim();
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

/**
 * Content keys of a target folder, packed for reconciliation: per message a
 * 128-bit digest of its content key (the first 16 bytes of its SHA-256; the key
 * itself carries a 128-bit header hash, so this loses nothing that matters) and
 * its UID, in typed arrays: about 21 bytes a message, no object per message, so
 * a 100,000-message folder is indexed in ~2 MB (issue 3: memory stays flat).
 * Candidates of one key come in the order they were added (ascending UID when
 * the folder is read in UID order); `take` consumes one, so two equal source
 * messages map to two target messages.
 */
export class ContentIndex {
  private words = new Uint32Array(4 * 256);
  private uids = new Uint32Array(256);
  private used = new Uint8Array(256);
  /** Entry numbers sorted by (digest, insertion), built on the first lookup after an add. */
  private order: Uint32Array | undefined = new Uint32Array(0);
  private n = 0;

  get size(): number { return this.n; }

  add(key: string, uid: number): void {
    if (this.n === this.uids.length) {
      const cap = this.n * 2;
      const w = new Uint32Array(4 * cap); w.set(this.words); this.words = w;
      const u = new Uint32Array(cap); u.set(this.uids); this.uids = u;
      const x = new Uint8Array(cap); x.set(this.used); this.used = x;
    }
    const d = sha256Bytes(key);
    for (let k = 0; k < 4; k++) this.words[4 * this.n + k] = d.readUInt32BE(4 * k);
    this.uids[this.n] = uid;
    this.n++;
    this.order = undefined;
  }

  private cmp(a: number, b: number): number {
    for (let k = 0; k < 4; k++) {
      const x = this.words[4 * a + k]!;
      const y = this.words[4 * b + k]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return a - b;
  }

  /** Positions in `order` of the entries with this key, in insertion order. */
  private range(key: string): [number, number] {
    if (!this.order) {
      const o = new Uint32Array(this.n);
      for (let i = 0; i < this.n; i++) o[i] = i;
      this.order = o.sort((a, b) => this.cmp(a, b));
    }
    const d = sha256Bytes(key);
    const w = [d.readUInt32BE(0), d.readUInt32BE(4), d.readUInt32BE(8), d.readUInt32BE(12)];
    const vs = (e: number): number => {
      for (let k = 0; k < 4; k++) {
        const x = this.words[4 * e + k]!;
        if (x !== w[k]) return x < w[k]! ? -1 : 1;
      }
      return 0;
    };
    let lo = 0;
    let hi = this.order.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (vs(this.order[mid]!) < 0) lo = mid + 1;
      else hi = mid;
    }
    let end = lo;
    while (end < this.order.length && vs(this.order[end]!) === 0) end++;
    return [lo, end];
  }

  /** The UIDs not yet taken with this key, in insertion order. */
  candidates(key: string): number[] {
    const [lo, end] = this.range(key);
    const out: number[] = [];
    for (let i = lo; i < end; i++) {
      const e = this.order![i]!;
      if (!this.used[e]) out.push(this.uids[e]!);
    }
    return out;
  }

  /** Marks the entry (key, uid) taken; false when there is none left. */
  consume(key: string, uid: number): boolean {
    const [lo, end] = this.range(key);
    for (let i = lo; i < end; i++) {
      const e = this.order![i]!;
      if (!this.used[e] && this.uids[e] === uid) { this.used[e] = 1; return true; }
    }
    return false;
  }

  /** Takes the first UID not yet taken with this key. */
  take(key: string): number | undefined {
    const [lo, end] = this.range(key);
    for (let i = lo; i < end; i++) {
      const e = this.order![i]!;
      if (!this.used[e]) { this.used[e] = 1; return this.uids[e]!; }
    }
    return undefined;
  }
}
