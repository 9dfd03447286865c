/**
 * Message segments: the group commit of message files. Sessions that finish
 * DATA at about the same time append their message records (format.ts, the
 * same framing as a single message file) to the current segment in one write
 * and share one fdatasync; a new segment's directory entry is synced once,
 * with its first batch. So the cost of durability is one fsync per batch, not
 * per message (Postfix pays one per message file; with 20 sessions the batch
 * here is about as large as the number of sessions waiting).
 *
 *   seg-<seq>.log   records back to back: MBQ1 framing line, envelope, body
 *
 * A segment is unlinked when none of its messages is left in the queue.
 * Messages that stay long (deferred) are moved out to their own file
 * (spool.ts maintain), so an old segment is not kept for one of them.
 */
import { close as closeCb, open as openCb, read as readCb } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeMessageFile, type MessageFile } from './format.js';

const NAME = /^seg-(\d+)\.log$/;

export function segmentName(seq: number): string {
  return `seg-${String(seq).padStart(10, '0')}.log`;
}

export async function segmentFiles(dir: string): Promise<{ name: string; seq: number }[]> {
  return (await readdir(dir)).flatMap((n) => {
    const m = NAME.exec(n);
    return m ? [{ name: n, seq: Number(m[1]) }] : [];
  }).sort((a, b) => a.seq - b.seq);
}

export interface SegmentRecord {
  file: MessageFile;
  /** Where the record and its body lie in the segment. */
  offset: number;
  length: number;
  bodyOffset: number;
}

export interface SegmentScan {
  records: SegmentRecord[];
  /** Complete records that fail their checksum or framing: quarantined by the caller. */
  damaged: { offset: number; length: number; reason: string }[];
  /** Bytes after the last complete record that a crash cut short (never acknowledged). */
  tornTail: number;
}

/** Splits a segment into its records. A damaged framing line ends the scan: the rest is one damaged piece. */
export function scanSegment(buf: Buffer): SegmentScan {
  const out: SegmentScan = { records: [], damaged: [], tornTail: 0 };
  let pos = 0;
  while (pos < buf.length) {
    const nl = buf.indexOf(0x0a, pos);
    const line = nl < 0 ? '' : buf.subarray(pos, nl).toString('latin1');
    const m = /^MBQ1 (\d+) (\d+) ([0-9a-f]{64})$/.exec(line);
    if (!m) {
      const rest = buf.subarray(pos);
      // A cut framing line at the very end, or zeros a crash left after the last write: a torn tail.
      if ((nl < 0 && /^(M(B(Q(1( [\d ]*( [0-9a-f]*)?)?)?)?)?)?$/.test(rest.toString('latin1'))) || rest.every((b) => b === 0)) {
        out.tornTail = rest.length;
      } else {
        out.damaged.push({ offset: pos, length: rest.length, reason: 'bad framing line in segment' });
      }
      break;
    }
    const length = nl + 1 - pos + Number(m[1]) + 1 + Number(m[2]);
    if (pos + length > buf.length) {
      out.tornTail = buf.length - pos;
      break;
    }
    const d = decodeMessageFile(buf.subarray(pos, pos + length));
    if (d.ok) out.records.push({ file: d.file, offset: pos, length, bodyOffset: pos + d.bodyOffset });
    else out.damaged.push({ offset: pos, length, reason: d.reason });
    pos += length;
  }
  return out;
}

/** Reads `length` bytes at `offset` of a file (a message body inside its segment). */
export async function readRange(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got);
      if (bytesRead === 0) throw Object.assign(new Error(`${path}: short read at ${offset + got}`), { code: 'ESHORT' });
      got += bytesRead;
    }
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * Read descriptors of segments, opened once and kept until the segment is
 * unlinked (an open and a close per message read cost as much CPU as the read).
 * Plain descriptors and callbacks: cheaper than FileHandle per call.
 */
export class SegmentReaders {
  readonly #open = new Map<string, { fd: Promise<number>; reads: number; dropped: boolean }>();

  async read(path: string, offset: number, length: number): Promise<Buffer> {
    let e = this.#open.get(path);
    if (!e) {
      const fd = new Promise<number>((resolve, reject) => openCb(path, 'r', (err, n) => (err ? reject(err) : resolve(n))));
      const entry = { fd, reads: 0, dropped: false };
      e = entry;
      this.#open.set(path, entry);
      fd.catch(() => { if (this.#open.get(path) === entry) this.#open.delete(path); });
    }
    // Counted, so a drop never closes a descriptor under a read (its number could be reused by another file).
    e.reads++;
    try {
      const n = await e.fd;
      const buf = Buffer.allocUnsafe(length);
      let got = 0;
      while (got < length) {
        const r = await new Promise<number>((resolve, reject) => readCb(n, buf, got, length - got, offset + got, (err, b) => (err ? reject(err) : resolve(b))));
        if (r === 0) throw Object.assign(new Error(`${path}: short read at ${offset + got}`), { code: 'ESHORT' });
        got += r;
      }
      return buf;
    } finally {
      e.reads--;
      if (e.dropped && e.reads === 0) this.#close(e.fd);
    }
  }

  /** Closes the descriptor of a segment that is gone, once the reads under way are done. */
  drop(path: string): void {
    const e = this.#open.get(path);
    if (!e) return;
    this.#open.delete(path);
    e.dropped = true;
    if (e.reads === 0) this.#close(e.fd);
  }

  #close(fd: Promise<number>): void {
    fd.then((n) => closeCb(n, () => undefined), () => undefined);
  }
}

export interface SegmentWriterOptions {
  dir: string;
  /** Start a new segment when the current one passes this size. */
  maxBytes: number;
  syncDir: () => Promise<void>;
  /** Called when a segment stops taking appends (rotation, or a failed write). */
  onSeal: (name: string) => void;
  /** Test hook: replaces the write of a batch (to simulate a full disk). */
  writeHook?: (path: string, data: Buffer) => Promise<void>;
}

/** The current segment. Used only from a Batcher's flush, so calls never overlap. */
export class SegmentWriter {
  #seq: number;
  #current: { name: string; size: number; synced: boolean } | undefined;

  constructor(private readonly o: SegmentWriterOptions, lastSeq: number) {
    this.#seq = lastSeq;
  }

  /** The segment appends go to now (not yet created: undefined). */
  get current(): string | undefined {
    return this.#current?.name;
  }

  /**
   * Appends the records (each given as its parts, written back to back with
   * writev: a 500 KB message is not copied once more to be written) and syncs
   * them; returns the name and offset of each.
   */
  async append(records: readonly (readonly Buffer[])[]): Promise<{ name: string; offsets: number[] }> {
    if (this.#current && this.#current.size >= this.o.maxBytes) this.#seal();
    if (!this.#current) {
      this.#seq++;
      this.#current = { name: segmentName(this.#seq), size: 0, synced: false };
    }
    const cur = this.#current;
    const path = join(this.o.dir, cur.name);
    const parts = records.flat();
    const total = parts.reduce((n, b) => n + b.length, 0);
    try {
      if (this.o.writeHook) {
        await this.o.writeHook(path, Buffer.concat(parts, total));
      } else {
        const fh = await open(path, cur.size === 0 ? 'wx' : 'r+', 0o600);
        try {
          let done = (await fh.writev(parts, cur.size)).bytesWritten;
          if (done < total) {
            // A short write (rare on a regular file): the rest, from where it stopped.
            const rest = Buffer.concat(parts, total).subarray(done);
            for (let at = 0; at < rest.length;) at += (await fh.write(rest, at, rest.length - at, cur.size + done + at)).bytesWritten;
            done = total;
          }
          await fh.datasync();
        } finally {
          await fh.close();
        }
      }
      // A new file's name is durable only with its folder (RFC-free fact of POSIX file systems).
      if (!cur.synced) {
        await this.o.syncDir();
        cur.synced = true;
      }
    } catch (err) {
      // The file may now end in a partial record: never append after it.
      this.#seal();
      throw err;
    }
    const offsets: number[] = [];
    let at = cur.size;
    for (const r of records) {
      offsets.push(at);
      for (const b of r) at += b.length;
    }
    cur.size = at;
    return { name: cur.name, offsets };
  }

  /** Stops appending to the current segment (the next append starts a new one). */
  seal(): void {
    this.#seal();
  }

  #seal(): void {
    const cur = this.#current;
    this.#current = undefined;
    if (cur) this.o.onSeal(cur.name);
  }
}
